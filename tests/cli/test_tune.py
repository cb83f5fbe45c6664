"""``metahpo tune``: a study that runs a command per trial, and the options it takes."""

from __future__ import annotations

import re
import sys

import pytest
from _tune_cli import runner, tune

import metahpo as mh
from metahpo.cli import app
from metahpo.trial import TrialState


def test_tune_runs_the_command_and_records_failures(workdir):
    result = tune("--trials", "12", "--optimizer", "random", "--seed", "1", "--name", "cli")
    assert result.exit_code == 0, result.output
    assert "best value" in result.output
    study = mh.load_study("cli", "sqlite:///metahpo.db")
    trials = study.trials
    assert len(trials) == 12
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert failed and all(t.config["n"] == 4 for t in failed)
    assert "status 3" in failed[0].error and "n=4 is not supported" in failed[0].error
    done = [t for t in trials if t.state is TrialState.COMPLETE]
    for t in done:
        assert t.value == pytest.approx((t.config["x"] - 1) ** 2 + t.config["n"])
    # The other keys of a JSON last line are the trial's attributes, and `show` prints them.
    with_budget = [t for t in done if t.config["n"] == 2]
    assert with_budget and all(t.user_attrs["budget"] == "" for t in with_budget)
    shown = runner.invoke(app, ["show", "cli", "--limit", "12"])
    assert shown.exit_code == 0, shown.output
    assert f'trial {with_budget[0].number} attributes: {{"budget": ""}}' in shown.output
    assert "optimizer_state" not in shown.output
    # Running it again resumes the same study.
    assert tune("--trials", "3", "--optimizer", "random", "--name", "cli").exit_code == 0
    assert len(mh.load_study("cli", "sqlite:///metahpo.db").trials) == 15


def test_tune_sets_up_an_empty_database_file(workdir):
    # An empty file (as `touch` leaves it) holds no study: tune sets it up, as create_study does.
    (workdir / "empty.db").touch()
    # Seeded: train.py fails for n=4, and two trials that both drew it (about 1 run in 16
    # unseeded, seed 10 for one) complete none, so tune has no best and exits with 1.
    # Seed 0 draws n=2 and n=1.
    result = tune("--trials", "2", "--optimizer", "random", "--seed", "0", "--storage", "sqlite:///empty.db")
    assert result.exit_code == 0, result.output
    from metahpo.storage import get_storage

    (stored,) = get_storage("sqlite:///empty.db").list_studies()
    study = mh.load_study(stored.name, "sqlite:///empty.db")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_tune_with_hyperband_passes_integer_budgets(workdir):
    result = tune("--trials", "13", "--optimizer", "random", "--seed", "2", "--name", "hb",
                  "--scheduler", "hyperband", "--min-budget", "1", "--max-budget", "9", "--eta", "3")
    assert result.exit_code == 0, result.output
    study = mh.load_study("hb", "sqlite:///metahpo.db")
    assert {t.budget for t in study.trials} == {1.0, 3.0, 9.0}
    assert isinstance(study.scheduler, mh.Hyperband)
    for t in study.trials:
        if t.state is TrialState.COMPLETE:
            assert t.value == pytest.approx((t.config["x"] - 1) ** 2 + t.config["n"] + 1 / t.budget)


def test_an_empty_name_is_refused_not_replaced_by_the_default(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "",
                                 "--", "echo", "1"])
    assert result.exit_code == 1 and "'name' parameter" in result.output
    assert not (workdir / "metahpo.db").exists()


def test_an_unknown_direction_is_refused_naming_the_option(workdir):
    result = tune("--trials", "1", "--direction", "max", "--name", "typo")
    assert result.exit_code == 1
    assert "--direction must be minimize or maximize. Got 'max'." in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()


def test_an_unknown_optimizer_is_refused_naming_the_option(workdir):
    result = tune("--trials", "1", "--optimizer", "rnadom", "--name", "typo")
    assert result.exit_code == 1
    assert ("--optimizer must be one of gpbo, metabo, portfolio, random, sobol, auto. Got 'rnadom'."
            in " ".join(result.output.split()))
    assert not (workdir / "metahpo.db").exists()


def test_tune_says_so_when_no_trial_completed(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--optimizer", "random",
                                 "--name", "broken", "--", sys.executable, "-c", "import sys; sys.exit(3)"])
    assert result.exit_code == 1
    assert "no trial of study 'broken' completed; see `metahpo show broken`" in " ".join(result.output.split())


def test_tune_says_so_when_the_timeout_left_no_trial(workdir):
    result = tune("--trials", "2", "--name", "hurried", "--timeout", "1e-9")
    assert result.exit_code == 1
    assert "no trial of study 'hurried' ran: --timeout ended the run before its first trial, or it was stopped." in " ".join(
        result.output.split())


def test_tune_says_what_the_knowledge_learned_at_the_end(workdir, monkeypatch):
    from dataclasses import replace

    from metahpo.cli._command import load_space_file
    from metahpo.surrogates.meta import _provider

    real = _provider.meta_train
    def short(data, config, *args, **kwargs):
        return real(data, replace(config, meta_steps=5), *args, **kwargs)

    monkeypatch.setattr(_provider, "meta_train", short)
    monkeypatch.setenv("METAHPO_HOME", str(workdir))
    space = load_space_file(workdir / "space.yaml")
    for k in range(2):  # two earlier studies of this space in the command's storage
        past = mh.create_study(name=f"past-{k}", space=space, storage="sqlite:///metahpo.db", seed=k)
        past.optimize(lambda t, k=k: (t.config["x"] - k) ** 2 + t.config["n"], n_trials=6, show_progress=False)
    (workdir / "ok.py").write_text("import sys; print((float(sys.argv[1]) - 2) ** 2 + int(sys.argv[2]))\n")
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "6", "--name", "third",
                                 "--", sys.executable, "ok.py", "{x}", "{n}"])
    assert result.exit_code == 0, result.output
    assert "knowledge: meta-trained on 3 tasks" in result.output
    shown = runner.invoke(app, ["show", "third"])
    assert "bracket" not in shown.output  # no scheduler: no scheduler columns
    explained = runner.invoke(app, ["show", "third", "--explain"])
    assert "trial 0 why: {" in explained.output


@pytest.mark.parametrize(("options", "named"), [
    (["--min-budget", "1", "--max-budget", "9"], "Got --min-budget 1, --max-budget 9 with --scheduler full"),
    (["--eta", "2"], "Got --eta 2 with --scheduler full"),
])
def test_budget_options_without_a_budget_scheduler_are_refused(workdir, options, named):
    # Without --scheduler they were ignored, and {budget} stayed empty in every command.
    result = tune("--trials", "2", "--name", "forgot", *options)
    assert result.exit_code == 1
    assert named in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()


def test_a_misspelt_scheduler_is_named_before_the_budgets_are_asked_for(workdir):
    # It was told to need --min-budget and --max-budget, then refused as a dict repr.
    for extra in ([], ["--min-budget", "1", "--max-budget", "9"]):
        result = tune("--trials", "1", "--scheduler", "hyperbnd", *extra)
        assert result.exit_code == 1
        assert "--scheduler must be one of asha, full, hyperband, successive_halving. Got 'hyperbnd'." in (
            " ".join(result.output.split()))
    assert not (workdir / "metahpo.db").exists()


@pytest.mark.parametrize("command", [["tune"], ["presets", "tune"]])
def test_the_optimizer_help_names_every_optimizer(command):
    from metahpo.optimizers import optimizer_names

    shown = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).output
    line = next(row for row in shown.splitlines() if "--optimizer" in row)
    assert set(optimizer_names()) <= set(re.findall(r"[a-z]+", line.split("--optimizer", 1)[1]))
