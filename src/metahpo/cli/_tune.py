"""``metahpo tune``: tune a user's command from the shell."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from metahpo.cli._app import STORAGE_HELP, app
from metahpo.cli._resume import (
    check_same_direction,
    check_same_optimizer,
    check_same_scheduler,
    check_same_seed,
    check_same_space,
)
from metahpo.cli._studies import (
    best_or_fail,
    check_optimizer_option,
    console,
    fail,
    finish_and_say,
    stored_study,
    writable_storage_url,
)
from metahpo.exceptions import MetahpoError

if TYPE_CHECKING:
    from metahpo.schedulers import Scheduler


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def tune(
    ctx: typer.Context,
    space: Path = typer.Option(..., help="YAML or JSON file: name -> {type, low, high, log | choices}."),
    trials: int = typer.Option(20, help="Number of trials to run."),
    name: str | None = typer.Option(None, help="Study name (resumed if it exists)."),
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    direction: str = typer.Option("minimize", help="minimize or maximize."),
    optimizer: str = typer.Option("auto", help="random, sobol, gpbo, portfolio, metabo or auto."),
    seed: int | None = typer.Option(None, help="Master seed of the study."),
    jobs: int = typer.Option(1, help="Trials evaluated in parallel."),
    timeout: float | None = typer.Option(None, help="Stop starting trials after this many seconds."),
    trial_timeout: float | None = typer.Option(
        None, help="Kill a command, and every process it started, after this many seconds."),
    scheduler: str = typer.Option("full", help="full, successive_halving, hyperband or asha."),
    min_budget: float | None = typer.Option(None, help="Smallest budget passed as {budget}."),
    max_budget: float | None = typer.Option(None, help="Full budget passed as {budget}."),
    eta: int | None = typer.Option(None, help="Reduction factor of the budget scheduler (default 3)."),
) -> None:
    """Run COMMAND for each trial: `metahpo tune --space s.yaml -- python train.py --lr {lr}`.

    Placeholders {name} take the config's values (nothing for a parameter its condition
    leaves inactive), {budget} the budget and {trial} the trial number; a literal brace is
    written twice ({{ and }}). The command's last line of output is the value (a number, or
    a JSON object with "value"); a non-zero exit makes the trial FAILED with stderr's tail.
    """
    from metahpo.cli._command import (
        check_placeholders,
        check_program,
        command_objective,
        default_study_name,
        load_space_file,
    )
    from metahpo.schedulers import scheduler_spec
    from metahpo.study import create_study

    command = list(ctx.args)
    if not command:
        raise fail("give the command to run after `--`, e.g. `-- python train.py --lr {lr}`.")
    _check_options(trials, jobs, timeout, trial_timeout, direction)
    check_optimizer_option(optimizer)
    try:
        parsed_space = load_space_file(space)
        check_placeholders(command, parsed_space)
        check_program(command)
        study_name = default_study_name(command, parsed_space) if name is None else name
        url = writable_storage_url(storage)
        resolved_scheduler = _scheduler(scheduler, min_budget, max_budget, eta)
        stored = stored_study(url, study_name)
        if stored is not None:
            # Before create_study, which would refuse naming its own parameters.
            check_same_space(stored, parsed_space, space)
            check_same_direction(stored, direction)
            check_same_optimizer(stored, optimizer)
            check_same_scheduler(stored, scheduler_spec(resolved_scheduler))
            check_same_seed(stored, seed)
        study = create_study(
            name=study_name, space=parsed_space, storage=url, direction=direction,
            optimizer=optimizer, seed=seed, load_if_exists=True, scheduler=resolved_scheduler,
        )
        objective = command_objective(command, trial_timeout, parsed_space)
        with objective.stop_on_interrupt():
            study.optimize(objective, n_trials=trials, n_jobs=jobs, timeout=timeout, show_progress=True)
        # The trial budget is spent: the study is done, and the knowledge learns from it.
        finish_and_say(study)
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    best = best_or_fail(study)
    console().print(f"study {study.name!r}: best value {best.value:.6g} at trial {best.number}", markup=False)
    console().print(dict(best.config))


def _check_options(
    trials: int, jobs: int, timeout: float | None, trial_timeout: float | None, direction: str
) -> None:
    """Refuse bad options before the study is created, by the names the user typed."""
    if trials < 1:
        raise fail(f"--trials must be at least 1. Got {trials}.")
    if jobs < 1 and jobs != -1:
        raise fail(f"--jobs must be at least 1, or -1 for one per core. Got {jobs}.")
    for option, seconds in (("--timeout", timeout), ("--trial-timeout", trial_timeout)):
        if seconds is not None and not 0 < seconds < math.inf:
            raise fail(f"{option} must be a positive, finite number of seconds. Got {seconds}.")
    if direction not in ("minimize", "maximize"):
        raise fail(f"--direction must be minimize or maximize. Got {direction!r}.")


def _scheduler(name: str, min_budget: float | None, max_budget: float | None, eta: int | None) -> Scheduler:
    from metahpo.schedulers import make_scheduler, scheduler_names

    if name not in scheduler_names():
        # Before the budgets are asked for: a misspelt name is not missing them.
        raise fail(f"--scheduler must be one of {', '.join(scheduler_names())}. Got {name!r}.")
    if name == "full":
        # Ignored, they would leave {budget} empty in a command written for a scheduler.
        given = [f"{option} {value:g}" for option, value in
                 (("--min-budget", min_budget), ("--max-budget", max_budget), ("--eta", eta))
                 if value is not None]
        if given:
            raise fail("--min-budget, --max-budget and --eta apply to --scheduler hyperband, "
                       f"successive_halving or asha. Got {', '.join(given)} with --scheduler full, "
                       "which runs every trial at full budget.")
        return make_scheduler(None)
    if min_budget is None or max_budget is None:
        raise fail(f"--scheduler {name} needs --min-budget and --max-budget.")
    whole = float(min_budget).is_integer() and float(max_budget).is_integer()
    low, high = (int(min_budget), int(max_budget)) if whole else (min_budget, max_budget)
    params = {"min_budget": low, "max_budget": high, "eta": 3 if eta is None else eta}
    return make_scheduler({"name": name, "params": params})
