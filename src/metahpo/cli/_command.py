"""Run a user's command as the objective: fill placeholders, read the value it prints."""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.space import Space
from metahpo.study import TrialHandle

_STDERR_TAIL = 2000


class CommandFailed(MetahpoError):
    """The user's command exited with an error or printed no value."""


def load_space_file(path: Path) -> Space:
    """A space from YAML or JSON: ``name: {type: float|int|categorical, low:, high:, log:, choices:}``."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidParameterError(f"The '--space' file {str(path)!r} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidParameterError(
            f"The '--space' file {str(path)!r} must map parameter names to descriptions. Got {describe(data)} instead."
        )
    for param in data.values():
        # YAML 1.1 reads 1e-3 (no dot) as a string; accept it as the number it means.
        for bound in ("low", "high"):
            if isinstance(param, dict) and isinstance(param.get(bound), str):
                with contextlib.suppress(ValueError):
                    param[bound] = float(param[bound])
        if isinstance(param, dict) and param.get("type") == "int":
            for bound in ("low", "high"):
                if isinstance(param.get(bound), float) and param[bound].is_integer():
                    param[bound] = int(param[bound])
    return Space.from_dict(data)


def fill_placeholders(command: Sequence[str], trial: TrialHandle) -> list[str]:
    """Replace ``{name}`` by config values, ``{budget}`` by the budget, ``{trial}`` by the number."""
    values: dict[str, Any] = {**trial.config, "trial": trial.number}
    values["budget"] = "" if trial.budget is None else _budget_text(trial.budget)
    out = []
    for arg in command:
        try:
            out.append(arg.format_map(values))
        except KeyError as exc:
            raise InvalidParameterError(
                f"The command placeholder {{{exc.args[0]}}} is not a parameter of the space "
                f"(nor budget or trial). Parameters: {sorted(trial.config)}."
            ) from None
    return out


def parse_value(stdout: str) -> float:
    """The last non-empty line: a number, or a JSON object with a "value" key."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise CommandFailed("The command printed nothing; its last line must be the objective value.")
    last = lines[-1]
    try:
        parsed = json.loads(last)
    except json.JSONDecodeError:
        raise CommandFailed(
            f"The command's last line must be a number or a JSON object with \"value\". Got {last[:200]!r}."
        ) from None
    if isinstance(parsed, dict):
        if "value" not in parsed:
            raise CommandFailed(f"The JSON object on the command's last line has no \"value\": {last[:200]!r}.")
        parsed = parsed["value"]
    if isinstance(parsed, bool) or not isinstance(parsed, (int, float)) or not math.isfinite(parsed):
        raise CommandFailed(f"The command's value must be a finite number. Got {parsed!r}.")
    return float(parsed)


def command_objective(command: Sequence[str], timeout: float | None = None) -> Any:
    """An objective that runs ``command`` for each trial."""

    def objective(trial: TrialHandle) -> float:
        args = fill_placeholders(command, trial)
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise CommandFailed(f"Cannot run {args[0]!r}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise CommandFailed(f"The command ran longer than {timeout} s.") from exc
        if done.returncode != 0:
            raise CommandFailed(
                f"The command exited with status {done.returncode}. stderr (tail):\n"
                f"{done.stderr[-_STDERR_TAIL:]}"
            )
        return parse_value(done.stdout)

    return objective


def _budget_text(budget: float) -> str:
    return str(int(budget)) if float(budget).is_integer() else repr(float(budget))
