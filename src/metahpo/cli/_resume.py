"""A command resuming a stored study with other options than it was created with is refused
by the names of the options: ``create_study`` refuses it too, but naming its own parameters
and ``load_if_exists``, which the command's user never wrote. Each check runs before the
optimizer is built, anything is stored or any trial runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo.space import Space
from metahpo.storage import StudyRecord

# The options of `metahpo tune` that give a budget scheduler's parameters.
_BUDGET_OPTIONS = {"min_budget": "--min-budget", "max_budget": "--max-budget", "eta": "--eta"}


def _refusal(
    option: str, stored: str, given: str, study: str, give: str, created: str = "it"
) -> InvalidParameterError:
    return InvalidParameterError(
        f"{option} must be {stored} to resume study {study!r}, which was created with {created}. "
        f"Got {given}: give {give}, or another --name for a new study."
    )


def check_same_direction(stored: StudyRecord, direction: str) -> None:
    """Refuse to resume a study in the other direction: its best trial would become its worst."""
    if stored.direction != direction:
        raise _refusal("--direction", repr(stored.direction), repr(direction), stored.name,
                       f"--direction {stored.direction}")


def check_same_optimizer(stored: StudyRecord, optimizer: str) -> None:
    """Refuse another --optimizer than the stored study's; ``auto`` stands for the stored one."""
    name = str(stored.optimizer.get("name"))
    if optimizer != "auto" and optimizer != name:
        chosen = isinstance(stored.user_attrs.get("optimizer_choice"), Mapping)
        raise _refusal("--optimizer", repr(name), repr(optimizer), stored.name,
                       f"--optimizer {name} or auto", "it (chosen by auto)" if chosen else "it")


def check_same_seed(stored: StudyRecord, seed: int | None) -> None:
    """Refuse another --seed than the stored study's; without --seed the stored one is used."""
    if seed is not None and seed != stored.seed:
        raise _refusal("--seed", str(stored.seed), str(seed), stored.name, f"--seed {stored.seed} or no --seed")


def check_same_scheduler(stored: StudyRecord, scheduler: Mapping[str, Any]) -> None:
    """Refuse another scheduler spec (``{"name", "params"}``) than the stored study's, naming
    the first of --scheduler, --min-budget, --max-budget and --eta that differs."""
    from metahpo.schedulers import make_scheduler, scheduler_spec

    name, params = stored.scheduler.get("name"), dict(stored.scheduler.get("params") or {})
    given_name, given_params = scheduler["name"], dict(scheduler["params"])
    if (name, params) == (given_name, given_params):
        return
    options = {k: v for k, v in params.items() if k in _BUDGET_OPTIONS}
    try:
        rebuilt = scheduler_spec(make_scheduler({"name": name, "params": options}))
        expressible = rebuilt == {"name": name, "params": params}
    except InvalidParameterError:
        expressible = False
    if not expressible:
        # Said so rather than advise options that would be refused again (ASHA's mode, say).
        raise InvalidParameterError(
            f"Study {stored.name!r} was created with the scheduler {name!r} and the parameters "
            f"{json.dumps(params)}, which --scheduler, --min-budget, --max-budget and --eta cannot "
            f"give: resume it from Python (metahpo.load_study({stored.name!r}, storage)), or give "
            "another --name for a new study."
        )
    give = " ".join([f"--scheduler {name}", *(f"{_BUDGET_OPTIONS[k]} {v}" for k, v in options.items())])
    if name != given_name:
        raise _refusal("--scheduler", repr(name), repr(given_name), stored.name, give)
    for key, option in _BUDGET_OPTIONS.items():
        if params.get(key) != given_params.get(key):
            raise _refusal(option, str(params.get(key)), str(given_params.get(key)), stored.name, give)


def check_same_space(stored: StudyRecord, space: Space, path: Path) -> None:
    """Refuse a --space file whose space is not the stored study's, naming a difference."""
    from metahpo.study import space_difference

    stored_space = Space.from_dict(stored.space)
    if stored_space.fingerprint() == space.fingerprint():
        return
    raise InvalidParameterError(
        f"--space must describe the search space of study {stored.name!r} to resume it. Got "
        f"{str(path)!r}, {space_difference(stored_space, space)}: give the space file the "
        "study was created with, or another --name for a new study."
    )
