"""Where the YAHPO Gym surrogate files live, and how their search-space files read.

A scenario directory holds ``config_space.json`` (a ConfigSpace JSON export),
``encoding.json`` (the integer code of every categorical value, as the surrogate
was trained) and ``model.onnx``. The files are never downloaded at run time: point
``METAHPO_YAHPO_DATA`` (or ``data_dir=``) at a copy of the ``yahpo_data`` release.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import MetahpoError
from metahpo.space import Categorical, Float, Int, Param

ENV_VARIABLE = "METAHPO_YAHPO_DATA"
# Tried when neither data_dir= nor the environment variable is given: relative to the
# repository root (CI clones the repository beside a copy of shared/), never to the
# working directory.
_DEFAULT_RELATIVE = Path("..") / "shared" / "data" / "yahpo"


class YahpoDataError(MetahpoError, FileNotFoundError):
    """The YAHPO surrogate files are missing or malformed."""


@dataclass(frozen=True)
class Condition:
    """``child`` is active only when ``parent`` takes one of ``values`` (ConfigSpace EQ / IN)."""

    child: str
    parent: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class ScenarioFiles:
    """The parsed files of one scenario directory."""

    directory: Path
    params: dict[str, Param]
    conditions: dict[str, Condition]
    encoding: dict[str, dict[str, int]]

    @property
    def model_path(self) -> Path:
        return self.directory / "model.onnx"


def default_data_dirs() -> list[Path]:
    """The directories tried when no data directory is configured.

    ``../shared/data/yahpo`` from the root of the repository this package runs from
    (an editable install); nothing once the package is installed elsewhere.
    """
    root = repository_root()
    return [] if root is None else [(root / _DEFAULT_RELATIVE).resolve()]


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The YAHPO data directory: ``data_dir``, else ``$METAHPO_YAHPO_DATA``, else a default.

    Raises:
        YahpoDataError: If the directory does not exist.
    """
    if data_dir is not None:
        chosen, source = Path(data_dir), "the 'data_dir' parameter"
    elif os.environ.get(ENV_VARIABLE):
        chosen, source = Path(os.environ[ENV_VARIABLE]), f"${ENV_VARIABLE}"
    else:
        for candidate in default_data_dirs():
            if candidate.is_dir():
                return candidate
        raise YahpoDataError(
            f"No YAHPO Gym data directory found: set {ENV_VARIABLE} or pass data_dir= to the "
            f"directory of the yahpo_data release (v1.0.2). Tried {[str(p) for p in default_data_dirs()]} "
            "(../shared/data/yahpo beside the repository root)."
        )
    if not chosen.is_dir():
        raise YahpoDataError(
            f"The YAHPO data directory from {source} must be an existing directory. "
            f"Got {str(chosen)!r} instead."
        )
    return chosen


def read_scenario(data_dir: Path, scenario: str) -> ScenarioFiles:
    """Parse ``config_space.json`` and ``encoding.json`` of ``scenario``."""
    directory = data_dir / scenario
    for name in ("config_space.json", "encoding.json", "model.onnx"):
        if not (directory / name).is_file():
            raise YahpoDataError(
                f"The YAHPO scenario {scenario!r} needs the file {str(directory / name)!r}; it is missing."
            )
    space_json = _read_json(directory / "config_space.json")
    encoding = _read_json(directory / "encoding.json")
    try:
        params = {hp["name"]: _param(hp) for hp in space_json["hyperparameters"]}
        conditions = {c["child"]: _condition(c) for c in space_json.get("conditions", [])}
    except (KeyError, TypeError) as exc:
        raise YahpoDataError(
            f"The file {str(directory / 'config_space.json')!r} is not a ConfigSpace JSON export: {exc!r}"
        ) from exc
    return ScenarioFiles(directory, params, conditions, encoding)


def _param(hp: dict[str, Any]) -> Param:
    kind = hp["type"]
    if kind == "uniform_float":
        return Float(float(hp["lower"]), float(hp["upper"]), log=bool(hp["log"]))
    if kind == "uniform_int":
        return Int(int(hp["lower"]), int(hp["upper"]), log=bool(hp["log"]))
    if kind == "categorical":
        return Categorical(hp["choices"])
    raise YahpoDataError(
        f"YAHPO hyperparameter {hp.get('name')!r} has the type {describe(kind)}; only "
        "uniform_float, uniform_int and categorical are supported."
    )


def _condition(data: dict[str, Any]) -> Condition:
    if data["type"] == "EQ":
        return Condition(data["child"], data["parent"], (data["value"],))
    if data["type"] == "IN":
        return Condition(data["child"], data["parent"], tuple(data["values"]))
    raise YahpoDataError(
        f"YAHPO condition on {data.get('child')!r} has the type {describe(data['type'])}; "
        "only EQ and IN are supported."
    )


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise YahpoDataError(f"Cannot read the YAHPO file {str(path)!r}: {exc}") from exc


def repository_root() -> Path | None:
    """The metahpo repository this module runs from, else ``None``.

    The root holds metahpo's ``pyproject.toml`` and this harness's
    ``benchmarks/pyproject.toml``; this module lives in ``benchmarks/src/metahpo_bench``.
    """
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (
            parent / "benchmarks" / "pyproject.toml"
        ).is_file():
            return parent
    return None
