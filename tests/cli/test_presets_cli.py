"""`metahpo presets list` and `metahpo presets tune` on a data file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app
from metahpo.trial import TrialState

runner = CliRunner()


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    frame["colour"] = np.where(rng.random(120) < 0.5, "red", "blue")
    frame["count"] = np.arange(120) * 7 % 90  # a whole-number regression target
    frame["label"] = np.where(frame["a"] + (frame["colour"] == "red") > 0.5, "yes", "no")
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.to_parquet(tmp_path / "data.parquet")
    return tmp_path


def test_list_names_every_preset_and_its_knowledge(workdir):
    result = runner.invoke(app, ["presets", "list"])
    assert result.exit_code == 0, result.output
    for info in mh.presets.list_presets():
        line = next(row for row in result.output.splitlines() if row.strip().startswith(info.name + " "))
        assert f" {info.tasks} " in line and f" {info.configs} " in line
        assert f"{info.evaluations} evaluations" in result.output


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tune_runs_a_finished_preset_study_on_the_file(workdir, suffix):
    result = runner.invoke(app, ["presets", "tune", "hgb-classifier", "--data", f"data.{suffix}",
                                 "--target", "label", "--trials", "5", "--cv", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "one-hot encoded: colour" in result.output
    assert "(metabo): best log_loss" in result.output
    study = mh.load_study("hgb-classifier-data", "sqlite:///metahpo.db")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
    # Finished: the knowledge learned from it (the update's summary is stored; 5 trials: a task).
    assert "knowledge_update" in study.user_attrs
    assert set(study.best_trial.config) == set(mh.presets.get("hgb-classifier").space.names)
    # The same data in a new study: the values are the preset objective's, on the encoded file.
    X = pd.get_dummies(pd.read_csv("data.csv").drop(columns=["label"]), columns=["colour"], dtype=float)
    objective = mh.presets.objective("hgb-classifier", X.to_numpy(), pd.read_csv("data.csv")["label"], cv=2, seed=1)
    assert objective(study.best_trial) == pytest.approx(study.best_value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--data", "data.csv", "--target", "label"], "'preset' parameter must be one of"),
        (["hgb-classifier", "--data", "data.csv", "--target", "y"], "--target must be a column"),
        (["hgb-classifier", "--data", "none.csv", "--target", "label"], "no file at 'none.csv'"),
        (["hgb-classifier", "--data", "data.txt", "--target", "label"], "--data must be a .csv or .parquet"),
        (["hgb-regressor", "--data", "data.csv", "--target", "label"], "must be numbers (a regression target)"),
        (["hgb-classifier", "--data", "data.csv", "--target", "count"], "use a regressor's preset"),
        (["hgb-classifier", "--data", "data.csv", "--target", "label", "--cv", "1"], "'cv' parameter"),
        (["hgb-classifier", "--data", "data.csv", "--target", "label", "--trials", "0"], "--trials must be at least 1"),
        (["hgb-classifier", "--data", "data.csv", "--target", "label", "--timeout", "inf"],
         "--timeout must be a positive, finite number of seconds"),
        (["hgb-classifier", "--data", "data.csv", "--target", "label", "--optimizer", "rnadom"],
         "--optimizer must be one of gpbo, metabo, portfolio, random, sobol, auto. Got 'rnadom'."),
    ],
)
def test_bad_input_is_one_error_line_and_stores_nothing(workdir, args, message):
    result = runner.invoke(app, ["presets", "tune", *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()


@pytest.mark.parametrize(("name", "content"), [("empty.csv", b""), ("bad.parquet", b"not parquet"),
                                               ("binary.csv", b"\xff\xfe\x00\x81")])
def test_an_unreadable_file_is_one_error_line(workdir, name, content):
    (workdir / name).write_bytes(content)
    result = runner.invoke(app, ["presets", "tune", "hgb-classifier", "--data", name, "--target", "label"])
    assert result.exit_code == 1
    assert f"--data '{name}' could not be read" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_target_with_missing_values_is_refused(workdir):
    frame = pd.read_csv("data.csv")
    frame.loc[3, "label"] = None
    frame.to_csv("holes.csv", index=False)
    result = runner.invoke(app, ["presets", "tune", "hgb-classifier", "--data", "holes.csv", "--target", "label"])
    assert result.exit_code == 1
    assert "1 missing values" in " ".join(result.output.split())


def test_a_study_is_resumed_only_with_the_same_scoring_and_data(workdir):
    base = ["presets", "tune", "logistic-regression", "--target", "label", "--cv", "2", "--seed", "1",
            "--optimizer", "random", "--trials", "2"]
    assert runner.invoke(app, [*base, "--data", "data.csv"]).exit_code == 0
    # Another metric: its values would be mixed with the log-losses of the first trials.
    result = runner.invoke(app, [*base, "--data", "data.csv", "--scoring", "error"])
    assert result.exit_code == 1
    assert "--scoring must be 'log_loss' to resume study 'logistic-regression-data'" in " ".join(
        result.output.split())
    # Another file of the same stem: other data under the same study name.
    (workdir / "other").mkdir()
    pd.read_csv("data.csv").iloc[:100].to_csv(workdir / "other" / "data.csv", index=False)
    result = runner.invoke(app, [*base, "--data", "other/data.csv"])
    assert result.exit_code == 1
    assert "--data must hold the data study 'logistic-regression-data' was tuned on" in " ".join(
        result.output.split())
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    assert len(study.trials) == 2  # nothing was run on the refused objectives
    # The same scoring and data (CSV or Parquet) resume it.
    assert runner.invoke(app, [*base, "--data", "data.parquet"]).exit_code == 0
    assert len(study.trials) == 4


def test_a_study_is_resumed_only_with_the_same_optimizer_and_seed(workdir):
    base = ["presets", "tune", "logistic-regression", "--data", "data.csv", "--target", "label",
            "--cv", "2", "--trials", "2"]
    assert runner.invoke(app, [*base, "--optimizer", "random", "--seed", "1"]).exit_code == 0
    for other, message in [
        (["--optimizer", "sobol", "--seed", "1"],
         "--optimizer must be 'random' to resume study 'logistic-regression-data', which was "
         "created with it. Got 'sobol': give --optimizer random or auto, or another --name for a "
         "new study."),
        (["--optimizer", "random", "--seed", "2"],
         "--seed must be 1 to resume study 'logistic-regression-data', which was created with it. "
         "Got 2: give --seed 1 or no --seed, or another --name for a new study."),
    ]:
        result = runner.invoke(app, [*base, *other])
        assert result.exit_code == 1
        text = " ".join(result.output.split())
        assert message in text and "create_study" not in text
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    assert len(study.trials) == 2  # nothing was run with the refused options
    # --optimizer auto, the default, resumes the stored random search: it was refused, the
    # preset's knowledge being handed to an optimizer that learns from none.
    resumed = runner.invoke(app, [*base, "--seed", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert "(random): best log_loss" in resumed.output
    assert len(study.trials) == 4


def test_a_study_resumed_without_seed_scores_on_its_folds_and_refuses_another_cv(workdir):
    base = ["presets", "tune", "logistic-regression", "--data", "data.csv", "--target", "label",
            "--optimizer", "random", "--trials", "2"]
    assert runner.invoke(app, [*base, "--cv", "3", "--seed", "1"]).exit_code == 0
    result = runner.invoke(app, [*base, "--cv", "2"])
    assert result.exit_code == 1
    assert ("--cv must be 3 to resume study 'logistic-regression-data', which was tuned with it. "
            "Got 2: give --cv 3") in " ".join(result.output.split())
    assert runner.invoke(app, [*base, "--cv", "3"]).exit_code == 0  # no --seed: the stored one
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    assert len(study.trials) == 4
    # Every trial's value is the objective's on the folds of --seed 1, the resumed ones too.
    frame = pd.read_csv("data.csv")
    X = pd.get_dummies(frame.drop(columns=["label"]), columns=["colour"], dtype=float).to_numpy()
    objective = mh.presets.objective("logistic-regression", X, frame["label"], cv=3, seed=1)
    for trial in study.trials:
        assert objective(trial) == pytest.approx(trial.value)


def test_a_study_created_without_seed_resumed_with_its_seed_keeps_its_folds(workdir):
    base = ["presets", "tune", "logistic-regression", "--data", "data.csv", "--target", "label",
            "--optimizer", "random", "--trials", "2", "--cv", "3"]
    assert runner.invoke(app, base).exit_code == 0
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    assert runner.invoke(app, [*base, "--seed", str(study.seed)]).exit_code == 0
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    frame = pd.read_csv("data.csv")
    X = pd.get_dummies(frame.drop(columns=["label"]), columns=["colour"], dtype=float).to_numpy()
    objective = mh.presets.objective("logistic-regression", X, frame["label"], cv=3, seed=0)
    assert len(study.trials) == 4
    for trial in study.trials:  # all on the folds of the first run (seed 0: none given)
        assert objective(trial) == pytest.approx(trial.value)


def test_a_missing_extra_is_one_error_line_and_stores_nothing(workdir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes `import lightgbm` fail
    result = runner.invoke(app, ["presets", "tune", "lightgbm-classifier", "--data", "data.csv",
                                 "--target", "label", "--trials", "2"])
    assert result.exit_code == 1
    assert "pip install 'metahpo[lightgbm]'" in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()


def test_a_study_resumed_without_cv_or_scoring_keeps_its_own(workdir):
    base = ["presets", "tune", "logistic-regression", "--data", "data.csv", "--target", "label",
            "--optimizer", "random", "--trials", "2", "--seed", "1"]
    assert runner.invoke(app, [*base, "--cv", "3", "--scoring", "error"]).exit_code == 0
    result = runner.invoke(app, base)  # neither option: the study's own, not the defaults
    assert result.exit_code == 0, result.output
    assert "best error" in result.output
    study = mh.load_study("logistic-regression-data", "sqlite:///metahpo.db")
    assert len(study.trials) == 4
    assert study.user_attrs["presets_tune"]["cv"] == 3
    assert runner.invoke(app, [*base, "--cv", "5"]).exit_code == 1  # given, it must be the study's


def test_a_study_of_another_preset_or_of_none_is_refused_by_the_command_line_names(workdir):
    base = ["--data", "data.csv", "--target", "label", "--cv", "2", "--trials", "2",
            "--optimizer", "random", "--seed", "1", "--name", "mine"]
    assert runner.invoke(app, ["presets", "tune", "logistic-regression", *base]).exit_code == 0
    result = runner.invoke(app, ["presets", "tune", "hgb-classifier", *base])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert ("PRESET must be 'logistic-regression' to resume study 'mine' (--name), a study of that "
            "preset. Got 'hgb-classifier': give logistic-regression, or another --name for a new study.") in text
    mh.create_study(name="plain", space=mh.Space({"x": mh.Float(0, 1)}), storage="sqlite:///metahpo.db",
                    optimizer="random", seed=1)
    result = runner.invoke(app, ["presets", "tune", "hgb-classifier", *base[:-1], "plain"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert ("--name 'plain' names a stored study of no preset (its parameters: ['x']), which PRESET "
            "'hgb-classifier' cannot resume") in text
    for refused in (text, " ".join(runner.invoke(app, ["presets", "tune", "hgb-classifier", *base]).output.split())):
        assert "create_study" not in refused and "load_if_exists" not in refused
    assert len(mh.load_study("mine", "sqlite:///metahpo.db").trials) == 2  # nothing ran
    assert not mh.load_study("plain", "sqlite:///metahpo.db").trials
