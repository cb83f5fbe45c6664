"""``metahpo show`` prints each failed trial's stored error whole, under the table."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app

runner = CliRunner()


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    return tmp_path


def test_a_failed_command_keeps_its_exit_status_and_stderr(workdir):
    # Its error says what happened first ("exited with status 4"), then stderr's tail;
    # `show` printed only the last line, "oops 2".
    (workdir / "fail.py").write_text(
        "import sys\nsys.stderr.write('oops 1\\noops 2\\n')\nsys.exit(4)\n"
    )
    made = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "r",
                               "--optimizer", "random", "--", sys.executable, "fail.py", "{x}"])
    assert made.exit_code == 1, made.output
    shown = runner.invoke(app, ["show", "r"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    trial = next(i for i, line in enumerate(lines) if line.startswith("trial 0 FAILED: "))
    status = next(i for i, line in enumerate(lines)
                  if line.endswith("CommandFailed: The command exited with status 4. stderr (tail):"))
    assert lines[status + 1:status + 3] == ["    oops 1", "    oops 2"]
    # The error's later lines are indented under the trial's line.
    assert trial < status and all(line.startswith("    ") for line in lines[trial + 1:status + 3])


def test_a_traceback_is_printed_whole(workdir):
    study = mh.create_study(name="py", space=mh.Space({"x": mh.Float(0, 1)}),
                            storage="sqlite:///metahpo.db", optimizer="random", seed=0)

    def objective(trial):
        raise ValueError("diverged")

    study.optimize(objective, n_trials=1, show_progress=False)
    shown = runner.invoke(app, ["show", "py"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "trial 0 FAILED: Traceback (most recent call last):" in shown.output
    assert "    ValueError: diverged" in shown.output.splitlines()
    assert "in objective" in shown.output


def test_show_of_a_study_not_stored_lists_the_names_stored(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    mh.create_study(name="kept", space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=url, optimizer="random")
    result = runner.invoke(app, ["show", "nope", "--storage", url], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "nope" in result.output and "The storage holds 'kept'." in result.output
