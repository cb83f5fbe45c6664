"""Run a user's command as the objective: fill placeholders, read the value it prints."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import signal
import string
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.space import Space
from metahpo.study import OWN_TRIAL_ATTRS, TrialHandle

logger = logging.getLogger(__name__)

_STDERR_TAIL = 2000
# Placeholders the command gets besides the space's parameters; no parameter may take them.
RESERVED_PLACEHOLDERS = ("trial", "budget")
# Seconds a command's process group has between SIGTERM and SIGKILL after a timeout.
_KILL_GRACE = 5.0
# Signals that stop `metahpo tune` and the commands it runs (each in its own group).
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Seconds between looks at whether another thread saw Ctrl+C while a command runs.
_POLL = 0.2


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        with contextlib.suppress(TypeError):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", key_node.start_mark)
            seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

# YAML 1.1 (PyYAML) also reads an unquoted yes/no/on/off as a boolean, where YAML 1.2 and
# JSON read text: `choices: [yes, no]` would reach the command as True/False, and a
# parameter named `on` would be the key True. Such a word is marked: a boolean field
# (`log: yes`) reads it as the boolean it always was, anywhere else it is refused, so that
# the file says which it means. true and false stay booleans.
_BOOL_TAG = "tag:yaml.org,2002:bool"
_AMBIGUOUS_TAG = "tag:metahpo:yaml-1.1-boolean"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_UniqueKeyLoader.add_implicit_resolver(
    _AMBIGUOUS_TAG, re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$"), list("yYnNoO")
)


class _Yaml11Boolean(str):
    """An unquoted yes/no/on/off, kept as written until its place says what it means."""


_UniqueKeyLoader.add_constructor(
    _AMBIGUOUS_TAG, lambda loader, node: _Yaml11Boolean(loader.construct_scalar(node))
)
# The fields of a parameter that hold booleans.
_BOOLEAN_FIELDS = ("log", "ordered")


class _UnquotedNumber(str):
    """An unquoted scalar YAML 1.2 (and JSON) reads as a number but PyYAML's YAML 1.1 as
    text: ``1e-3``, ``1.0e5`` (1.1's floats need a dot and a signed exponent;
    https://github.com/yaml/pyyaml/issues/173). Marked apart from quoted text, so that a
    bound written ``1e-3`` is the number it means while ``"0.1"`` stays a string."""


_UNQUOTED_NUMBER_TAG = "tag:metahpo:unquoted-number"
_UniqueKeyLoader.add_implicit_resolver(
    _UNQUOTED_NUMBER_TAG,
    re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)
_UniqueKeyLoader.add_constructor(
    _UNQUOTED_NUMBER_TAG, lambda loader, node: _UnquotedNumber(loader.construct_scalar(node))
)
# The fields of a float or int parameter that hold numbers.
_NUMBER_FIELDS = ("low", "high", "default")


class CommandFailed(MetahpoError):
    """The user's command exited with an error or printed no value."""


def load_space_file(path: Path) -> Space:
    """A space from YAML or JSON: ``name: {type: float|int|categorical, low:, high:, log:, choices:}``."""
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidParameterError(f"The '--space' file {str(path)!r} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidParameterError(
            f"The '--space' file {str(path)!r} must map parameter names to descriptions. Got {describe(data)} instead."
        )
    for param in data.values():
        for field in _BOOLEAN_FIELDS if isinstance(param, dict) else ():
            if isinstance(param.get(field), _Yaml11Boolean):
                param[field] = param[field].lower() in ("yes", "on")
    word = _yaml_11_boolean_in(data)
    if word is not None:
        raise InvalidParameterError(
            f"The '--space' file {str(path)!r} holds the unquoted {str(word)!r}, a boolean in YAML 1.1 but "
            f"text in YAML 1.2 and JSON: write true or false for a boolean, or quote it ('{word}') for text."
        )
    reserved = sorted(set(RESERVED_PLACEHOLDERS) & set(data))
    if reserved:
        raise InvalidParameterError(
            f"The '--space' file {str(path)!r} must not name a parameter {reserved[0]!r}: "
            f"{{{reserved[0]}}} in the command is the trial's {reserved[0]}. Rename the parameter."
        )
    unreachable = next((str(name) for name in data if not _placeholder_can_name(str(name))), None)
    if unreachable is not None:
        # str.format reads "{a.b}" as attribute b of a, "{0}" as a position, "{x:}" as a spec.
        raise InvalidParameterError(
            f"The '--space' file {str(path)!r} names a parameter {unreachable!r}, which no command "
            "placeholder can reach: rename it without '.', '[', ']', '{', '}', ':' or '!', and "
            "not all digits (such as 'optimizer_lr' for 'optimizer.lr')."
        )
    for name, param in data.items():
        if isinstance(param, dict) and isinstance(param.get("condition"), dict):
            _range_numbers(param["condition"])
        if not isinstance(param, dict) or param.get("type") not in ("float", "int"):
            continue
        for field in _NUMBER_FIELDS:
            value = param.get(field)
            if isinstance(value, _UnquotedNumber):
                param[field] = float(value)
            elif isinstance(value, str):
                # What Float("0.1", 1) refuses; a file must not turn text into a number either.
                raise InvalidParameterError(
                    f"The {field!r} of parameter {name!r} in the '--space' file {str(path)!r} must be "
                    f"a number. Got {value!r} (a string) instead{_unquote_hint(value)}."
                )
            if param["type"] == "int" and isinstance(param.get(field), float) and param[field].is_integer():
                param[field] = int(param[field])  # 1e3 for an int
    return Space.from_dict(_without_marks(data), strict=True)


def _yaml_11_boolean_in(value: Any) -> _Yaml11Boolean | None:
    """The first unquoted yes/no/on/off left in ``value`` (keys included)."""
    if isinstance(value, _Yaml11Boolean):
        return value
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next((word for word in map(_yaml_11_boolean_in, items) if word is not None), None)


def _range_numbers(condition: dict[Any, Any]) -> None:
    """A range condition's bounds read as numbers (``low: 1e-3`` on a log-scale parent),
    in combined conditions too; what an equals or in condition compares stays as written."""
    if condition.get("type") == "range":
        for field in ("low", "high"):
            if isinstance(condition.get(field), _UnquotedNumber):
                condition[field] = float(condition[field])
    for part in condition.get("conditions") or []:
        if isinstance(part, dict):
            _range_numbers(part)


def _unquote_hint(text: str) -> str:
    try:
        float(text)
    except ValueError:
        return ""
    return ": write the number without quotes"


def _without_marks(value: Any) -> Any:
    """``value`` with every :class:`_UnquotedNumber` left as the plain text YAML 1.1 reads:
    category choices such as ``[1e-3, 1e-2]`` stay the strings they always were, which
    keeps the space's fingerprint, and the study name derived from it, unchanged."""
    if isinstance(value, _UnquotedNumber):
        return str(value)
    if isinstance(value, dict):
        return {_without_marks(k): _without_marks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_marks(v) for v in value]
    return value


def _placeholder_can_name(name: str) -> bool:
    """Whether ``{name}`` in a command is read as the key ``name`` by ``str.format_map``."""
    return bool(name) and not name.isdigit() and not any(char in name for char in ".[]{}:!")


def check_placeholders(command: Sequence[str], space: Space) -> None:
    """Refuse, before any trial runs, a command whose placeholders the trials cannot fill.

    ``{name}`` is a parameter of the space, ``{budget}`` or ``{trial}``; a literal brace is
    written twice (``{{`` and ``}}``), as in Python's ``str.format``.
    """
    known = set(space) | set(RESERVED_PLACEHOLDERS)
    for arg in command:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(arg) if field is not None]
        except ValueError as exc:
            raise InvalidParameterError(
                f"The command argument {arg!r} has a brace that is not a placeholder ({exc}). "
                "Write a literal brace twice: '{{' and '}}'."
            ) from None
        for field in fields:
            base = field.split(".", 1)[0].split("[", 1)[0]
            if base not in known:
                raise InvalidParameterError(
                    f"The command placeholder {{{field}}} in {arg!r} is not a parameter of the space "
                    f"(nor budget or trial). Parameters: {sorted(space)}. Write a literal brace "
                    "twice: '{{' and '}}'."
                )
    # A format spec that cannot take the parameter's values ({x:d} for a float) would
    # fail every trial: try the command on a few configs of the space first.
    for config in space.sample(0, 4):
        values = _placeholder_values(space, config, 0, 1.0)
        for arg in command:
            try:
                arg.format_map(values)
            except (ValueError, TypeError, IndexError, AttributeError) as exc:
                raise InvalidParameterError(
                    f"The command argument {arg!r} cannot be filled with the config {config} "
                    f"({exc}). Placeholders take the values as they are (floats, ints, choices, "
                    "{trial} an int; {budget} as text, and a parameter its condition leaves "
                    "inactive as empty text): write {x} or a format their values take."
                ) from None


def check_program(command: Sequence[str]) -> None:
    """Refuse, before any trial runs, a command whose program cannot be found: every trial
    would fail the same way."""
    program = command[0] if command else ""
    if "{" in program:
        return  # chosen by a parameter: known only per trial
    if shutil.which(program) is not None:
        return
    if os.path.isfile(program):
        raise InvalidParameterError(
            f"The command's program {program!r} is a file that cannot be executed. Make it "
            f"executable (chmod +x {program}), or run it through its interpreter "
            f"(python {program} ...)."
        )
    raise InvalidParameterError(
        f"The command's program {program!r} was not found on PATH, nor is it an "
        "executable file. Check its spelling, or give its path."
    )


def default_study_name(command: Sequence[str], space: Space) -> str:
    """A study name for ``metahpo tune`` without ``--name``: the program's name and a hash
    of the whole command and the space, so that the same command resumes its own study and
    another command (or the same one with other arguments) gets another study."""
    program = next((Path(a).stem for a in command if Path(a).suffix), Path(command[0]).name) or "tune"
    digest = hashlib.sha256(json.dumps([list(command), space.fingerprint()]).encode()).hexdigest()[:8]
    return f"tune-{program}-{digest}"


def fill_placeholders(command: Sequence[str], trial: TrialHandle, space: Space | None = None) -> list[str]:
    """Replace ``{name}`` by config values, ``{budget}`` by the budget, ``{trial}`` by the number.

    A parameter of ``space`` that the trial's config leaves inactive (its condition does not
    hold) is replaced by nothing, as ``{budget}`` is without a scheduler.
    """
    values = _placeholder_values(space, trial.config, trial.number, trial.budget)
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
    return parse_result(stdout)[0]


def parse_result(stdout: str) -> tuple[float, dict[str, Any]]:
    """The value of the last non-empty line, and the JSON object's other keys (metrics the
    command reports beside its value, e.g. ``{"value": 0.12, "accuracy": 0.97}``)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise CommandFailed("The command printed nothing; its last line must be the objective value.")
    last = lines[-1]
    try:
        # Python's spelling of a number: "nan" and "inf" are then told not finite, as the
        # JSON object's NaN is ("1_000" is a number too).
        parsed: Any = float(last)
    except ValueError:
        try:
            parsed = json.loads(last)
        except json.JSONDecodeError:
            raise CommandFailed(
                f"The command's last line must be a number or a JSON object with \"value\". Got {last[:200]!r}."
            ) from None
    extras: dict[str, Any] = {}
    if isinstance(parsed, dict):
        if "value" not in parsed:
            raise CommandFailed(f"The JSON object on the command's last line has no \"value\": {last[:200]!r}.")
        extras = {str(k): v for k, v in parsed.items() if k != "value"}
        parsed = parsed["value"]
    if isinstance(parsed, bool) or not isinstance(parsed, (int, float)) or not math.isfinite(parsed):
        raise CommandFailed(f"The command's value must be a finite number. Got {parsed!r}.")
    return float(parsed), extras


class CommandObjective:
    """An objective that runs ``command`` for each trial.

    Its commands run in process groups of their own (see :func:`_run_in_own_group`), so
    the terminal's Ctrl+C does not reach them: :meth:`stop_on_interrupt` passes it on,
    to commands running on worker threads too.
    """

    def __init__(
        self, command: Sequence[str], timeout: float | None = None, space: Space | None = None
    ) -> None:
        self.command = list(command)
        self.timeout = timeout
        self.space = space
        self.stopping = threading.Event()

    def __call__(self, trial: TrialHandle) -> float:
        args = fill_placeholders(self.command, trial, self.space)
        try:
            returncode, stdout, stderr = _run_in_own_group(args, self.timeout, self.stopping)
        except FileNotFoundError as exc:
            raise CommandFailed(f"Cannot run {args[0]!r}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise CommandFailed(
                f"The command ran longer than {self.timeout} s; it and every process it started were killed."
            ) from exc
        if returncode != 0:
            raise CommandFailed(f"{_exit_text(returncode)}. stderr (tail):\n{stderr[-_STDERR_TAIL:]}")
        value, extras = parse_result(stdout)
        for key, metric in extras.items():
            _keep_metric(trial, key, metric)
        return value

    @contextlib.contextmanager
    def stop_on_interrupt(self) -> Iterator[None]:
        """While inside: Ctrl+C (SIGINT), SIGTERM and SIGHUP also stop the commands running
        on other threads, and their trials end FAILED.

        Python delivers a signal to the main thread alone; a command a worker thread waits
        for would otherwise run to its end before the interrupt could go on. The commands
        run in process groups of their own, so a signal sent to ``tune``'s group (``kill``,
        a closed terminal, a supervisor stopping it) would not reach them either.
        """
        self.stopping.clear()
        # Off the main thread no handler can be set.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, Any] = {number: signal.getsignal(number) for number in _STOPPING_SIGNALS}

        def interrupt(signum: int, frame: Any) -> None:
            self.stopping.set()
            before = previous[signum]
            if callable(before):
                before(signum, frame)
            elif signum == signal.SIGINT:
                raise KeyboardInterrupt
            else:  # the exit status of a process the signal ended
                raise SystemExit(128 + signum)

        for number, before in previous.items():
            # An ignored signal (SIGINT of a job started with `&`, SIGHUP under nohup) stays
            # ignored; one not set from Python is left alone.
            if before not in (signal.SIG_IGN, None):
                signal.signal(number, interrupt)
        try:
            yield
        finally:
            for number, before in previous.items():
                if before is not None:
                    signal.signal(number, before)


def _keep_metric(trial: TrialHandle, key: str, value: Any) -> None:
    """Store a metric the command printed beside its value as a trial attribute; one that
    metahpo's own attributes use, or that cannot be stored (NaN), is skipped with a warning."""
    if key in OWN_TRIAL_ATTRS:
        logger.warning("Trial %d: the command's %r is not stored (metahpo keeps its own there).", trial.number, key)
        return
    try:
        trial.set_user_attr(key, value)
    except InvalidParameterError as exc:
        logger.warning("Trial %d: the command's %r is not stored: %s", trial.number, key, exc)


def command_objective(
    command: Sequence[str], timeout: float | None = None, space: Space | None = None
) -> CommandObjective:
    """An objective that runs ``command`` for each trial of a study of ``space``."""
    return CommandObjective(command, timeout, space)


def _run_in_own_group(
    args: list[str], timeout: float | None, stopping: threading.Event | None = None
) -> tuple[int, str, str]:
    """Run ``args`` in a new process group, so that on a timeout (or Ctrl-C) the whole
    tree goes: a shell's or a launcher's children would outlive a kill of the child alone.

    With ``stopping`` set (an interrupt seen by another thread) the command is stopped
    too, and :class:`KeyboardInterrupt` raised.
    """
    if stopping is not None and stopping.is_set():
        raise KeyboardInterrupt  # stopped before it started
    # A byte that is not UTF-8 (a log line in Latin-1) must not cost the trial its value.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               encoding="utf-8", errors="replace", start_new_session=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            if stopping is not None and stopping.is_set():
                raise KeyboardInterrupt
            wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            try:
                # Waiting in slices lets a stop be seen; communicate() may be called again
                # after its timeout, with nothing read lost.
                stdout, stderr = process.communicate(timeout=max(wait, 0.0))
                break
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(args, timeout or 0.0) from None
    except BaseException:
        _kill_group(process)
        raise
    return process.returncode, stdout, stderr


def _exit_text(returncode: int) -> str:
    """How the command ended: its exit status, or the signal that killed it (a negative code)."""
    if returncode >= 0:
        return f"The command exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "an unknown signal"
    return f"The command was killed by signal {-returncode} ({name})"


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # A chance to clean up ...
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=_KILL_GRACE)
    finally:
        # ... and then the whole group goes, at once if a second Ctrl+C cut the grace short.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=_KILL_GRACE)


def _placeholder_values(
    space: Space | None, config: Mapping[str, Any], number: int, budget: float | None
) -> dict[str, Any]:
    """What each placeholder stands for in one trial's command (see :func:`fill_placeholders`)."""
    inactive = {} if space is None else {name: "" for name in space if name not in config}
    values: dict[str, Any] = {**inactive, **config, "trial": number}
    values["budget"] = "" if budget is None else _budget_text(budget)
    return values


def _budget_text(budget: float) -> str:
    return str(int(budget)) if float(budget).is_integer() else repr(float(budget))
