"""``metahpo tune`` on a stored study's name resumes it, and refuses options that would make
it another study."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest
from _tune_cli import runner, tune

import metahpo as mh
from metahpo.cli import app


@pytest.mark.parametrize("named", [True, False])
def test_a_resume_with_another_direction_is_refused_naming_the_option(workdir, named):
    name = ["--name", "dir"] if named else []
    made = tune("--trials", "2", "--optimizer", "random", "--seed", "1", "--direction", "maximize", *name)
    assert made.exit_code == 0, made.output
    study_name = mh.list_studies("sqlite:///metahpo.db")[0].name
    stored = mh.load_study(study_name, "sqlite:///metahpo.db")
    result = tune("--trials", "2", "--optimizer", "random", *name)  # --direction minimize, the default
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert (f"--direction must be 'maximize' to resume study {study_name!r}, which was created "
            "with it. Got 'minimize': give --direction maximize, or another --name for a new "
            "study.") in text
    assert "create_study" not in text and "load_if_exists" not in text
    again = mh.load_study(study_name, "sqlite:///metahpo.db")
    assert again.trials == stored.trials and again.user_attrs == stored.user_attrs


HYPERBAND = ["--scheduler", "hyperband", "--min-budget", "1", "--max-budget", "9", "--eta", "3"]


HYPERBAND_OPTIONS = "--scheduler hyperband --min-budget 1 --max-budget 9 --eta 3"


def _refused_resume(made_with, resumed_with, space="space.yaml"):
    """Run a study named 'again', then resume it with other options: the refusal's text, and
    whether the stored study is as it was (no trial run, nothing stored)."""
    made = tune("--trials", "2", "--name", "again", "--seed", "1", *made_with)
    assert made.exit_code == 0, made.output
    stored = mh.load_study("again", "sqlite:///metahpo.db")
    result = runner.invoke(app, ["tune", "--space", space, "--trials", "2", "--name", "again",
                                 *resumed_with, "--", sys.executable, "train.py", "{x}", "{lr}",
                                 "{n}", "{budget}"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "create_study" not in text and "load_if_exists" not in text
    again = mh.load_study("again", "sqlite:///metahpo.db")
    assert again.trials == stored.trials and again.user_attrs == stored.user_attrs
    return text


@pytest.mark.parametrize(("made_with", "resumed_with", "message"), [
    (["--optimizer", "random"], ["--optimizer", "sobol"],
     "--optimizer must be 'random' to resume study 'again', which was created with it. Got "
     "'sobol': give --optimizer random or auto, or another --name for a new study."),
    (["--optimizer", "random"], ["--optimizer", "random", "--seed", "2"],
     "--seed must be 1 to resume study 'again', which was created with it. Got 2: give --seed 1 "
     "or no --seed, or another --name for a new study."),
    (["--optimizer", "random"], ["--optimizer", "random", *HYPERBAND],
     "--scheduler must be 'full' to resume study 'again', which was created with it. Got "
     "'hyperband': give --scheduler full, or another --name for a new study."),
    (["--optimizer", "random", *HYPERBAND], ["--optimizer", "random"],
     "--scheduler must be 'hyperband' to resume study 'again', which was created with it. Got "
     f"'full': give {HYPERBAND_OPTIONS}, or another --name for a new study."),
    (["--optimizer", "random", *HYPERBAND], ["--optimizer", "random", "--scheduler", "asha",
                                             "--min-budget", "1", "--max-budget", "9"],
     "--scheduler must be 'hyperband' to resume study 'again', which was created with it. Got "
     f"'asha': give {HYPERBAND_OPTIONS}, or another --name for a new study."),
    (["--optimizer", "random", *HYPERBAND], ["--optimizer", "random", *HYPERBAND[:-1], "2"],
     "--eta must be 3 to resume study 'again', which was created with it. Got 2: give "
     f"{HYPERBAND_OPTIONS}, or another --name for a new study."),
    (["--optimizer", "random", *HYPERBAND], ["--optimizer", "random", *HYPERBAND[:5], "27"],
     "--max-budget must be 9 to resume study 'again', which was created with it. Got 27: give "
     f"{HYPERBAND_OPTIONS}, or another --name for a new study."),
])
def test_a_resume_with_another_option_is_refused_naming_it(workdir, made_with, resumed_with, message):
    assert message in _refused_resume(made_with, resumed_with)


@pytest.mark.parametrize(("text", "difference"), [
    ("""
        x: {type: float, low: -5, high: 6}
        lr: {type: float, low: 1e-4, high: 1, log: true}
        n: {type: int, low: 1, high: 4}
     """, "whose 'x' has high 6.0 where the study's has high 5.0"),
    ("""
        x: {type: float, low: -5, high: 5}
        lr: {type: float, low: 1e-4, high: 1}
        n: {type: int, low: 1, high: 4}
     """, "whose 'lr' has log false where the study's has log true"),
    ("""
        x: {type: float, low: -5, high: 5}
        lr: {type: float, low: 1e-4, high: 1, log: true}
        n: {type: int, low: 1, high: 4}
        depth: {type: int, low: 1, high: 4}
     """, "whose parameters ['depth'] are not the study's"),
])
def test_a_resume_with_another_space_file_is_refused_naming_a_difference(workdir, text, difference):
    (workdir / "other.yaml").write_text(textwrap.dedent(text))
    refused = _refused_resume(["--optimizer", "random"], ["--optimizer", "random"], space="other.yaml")
    assert ("--space must describe the search space of study 'again' to resume it. Got "
            f"'other.yaml', {difference}: give the space file the study was created with, or "
            "another --name for a new study.") in refused


def test_a_space_file_without_a_parameter_of_the_study_is_refused_naming_it(workdir):
    # Through `tune` the command's placeholder of the parameter is refused first.
    from metahpo.cli._resume import check_same_space

    made = tune("--trials", "1", "--name", "again", "--optimizer", "random", "--seed", "1")
    assert made.exit_code == 0, made.output
    stored = mh.load_study("again", "sqlite:///metahpo.db")
    fewer = mh.Space({name: stored.space[name] for name in ("x", "lr")})
    with pytest.raises(mh.InvalidParameterError, match=re.escape(
            "Got 'fewer.yaml', which lacks the study's parameters ['n']: give the space file")):
        check_same_space(stored.storage.get_study("again"), fewer, Path("fewer.yaml"))


def test_a_resume_may_leave_out_the_optimizer_seed_and_eta(workdir):
    made = tune("--trials", "2", "--name", "kept", "--optimizer", "random", "--seed", "1", *HYPERBAND)
    assert made.exit_code == 0, made.output
    # --optimizer auto (the default) stands for the stored optimizer, no --seed for the
    # stored seed, and no --eta for 3.
    resumed = tune("--trials", "2", "--name", "kept", *HYPERBAND[:6])
    assert resumed.exit_code == 0, resumed.output
    study = mh.load_study("kept", "sqlite:///metahpo.db")
    assert len(study.trials) == 4
    assert study.optimizer.name == "random" and study.seed == 1
    assert study.scheduler.get_params() == {"min_budget": 1, "max_budget": 9, "eta": 3}


def test_a_scheduler_the_options_cannot_give_is_refused_saying_so(workdir):
    space = mh.Space({"x": mh.Float(-5, 5), "lr": mh.Float(1e-4, 1, log=True), "n": mh.Int(1, 4)})
    mh.create_study(name="stops", space=space, storage="sqlite:///metahpo.db", optimizer="random",
                    scheduler=mh.ASHA(1, 9, eta=3, mode="stopping"))
    result = tune("--trials", "1", "--name", "stops", "--optimizer", "random", "--scheduler", "asha",
                  "--min-budget", "1", "--max-budget", "9")
    assert result.exit_code == 1
    assert ("Study 'stops' was created with the scheduler 'asha' and the parameters "
            '{"min_budget": 1, "max_budget": 9, "eta": 3, "mode": "stopping"}, which --scheduler, '
            "--min-budget, --max-budget and --eta cannot give: resume it from Python "
            "(metahpo.load_study('stops', storage)), or give another --name for a new study."
            ) in " ".join(result.output.split())
    assert mh.load_study("stops", "sqlite:///metahpo.db").trials == []
