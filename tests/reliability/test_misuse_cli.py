"""The command line used wrongly: ``metahpo tune``'s options checked before a study is
created, the metrics a command prints beside its value, a plot into a missing folder."""

from __future__ import annotations

import sys

import metahpo as mh
from metahpo.cli import app

from ._shared import _space, runner


def test_tune_checks_its_options_before_creating_a_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    for option, value in (("--trials", "-1"), ("--jobs", "0"), ("--trial-timeout", "0"), ("--timeout", "inf"),
                          ("--trial-timeout", "1e400")):
        result = runner.invoke(app, ["tune", "--space", "space.yaml", option, value, "--name", "z",
                                     "--", "echo", "{x}"])
        assert result.exit_code == 1 and option in result.output
    assert not (tmp_path / "metahpo.db").exists()


def test_tune_keeps_the_metrics_a_command_prints_beside_its_value(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    script = 'import json; print(json.dumps({{"value": {x}, "accuracy": 0.97, "why": "mine"}}))'
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--name", "m",
                                 "--optimizer", "random", "--", sys.executable, "-c", script])
    assert result.exit_code == 0, result.output
    trials = mh.load_study("m", "sqlite:///metahpo.db").trials
    assert [t.user_attrs["accuracy"] for t in trials] == [0.97, 0.97]
    assert all(t.user_attrs["why"] != "mine" for t in trials)  # metahpo's own attribute is kept


def test_a_plot_into_a_missing_folder_is_a_clear_error(tmp_path):
    study = mh.create_study(name="p", space=_space(), storage=f"sqlite:///{tmp_path}/p.db",
                            optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    result = runner.invoke(app, ["plot", "p", "history", "--out", str(tmp_path / "no" / "x.html"),
                                 "--storage", f"sqlite:///{tmp_path}/p.db"])
    # The message wraps at the console's width, wherever the temporary path's length puts it.
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
    assert "Traceback" not in result.output
