"""``metahpo studies``, ``show`` and ``delete``: the stored studies as tables."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from _tune_cli import runner, tune

import metahpo as mh
from metahpo.cli import app


def test_studies_show_delete(workdir):
    assert tune("--trials", "3", "--optimizer", "sobol", "--name", "listed").exit_code == 0
    listed = runner.invoke(app, ["studies"])
    assert listed.exit_code == 0 and "listed" in listed.output
    shown = runner.invoke(app, ["show", "listed"])
    assert shown.exit_code == 0 and "best trial" in shown.output and "COMPLETE" in shown.output
    assert "optimizer: Sobol" in shown.output
    assert tune("--trials", "2", "--name", "chosen").exit_code == 0  # optimizer "auto"
    chosen = runner.invoke(app, ["show", "chosen"])
    assert "optimizer: GPBO (auto: " in chosen.output and "related tasks" in chosen.output
    listed = runner.invoke(app, ["studies"], env={"COLUMNS": "200"})
    assert "Sobol " in listed.output and "GPBO (auto)" in listed.output  # as `show` names them
    missing = runner.invoke(app, ["show", "nope"])
    assert missing.exit_code == 1 and "No study named 'nope'" in missing.output
    assert runner.invoke(app, ["delete", "listed", "--yes"]).exit_code == 0
    assert "listed" not in runner.invoke(app, ["studies"]).output


def test_tables_are_as_wide_as_the_terminal_when_the_command_runs(tmp_path):
    # The console is made per command. It used to be made when the CLI was imported, and
    # kept the width of that moment: here 60 columns, on what is by then a 300-column
    # terminal, which cut the study's long name.
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    name = "a-study-name-long-enough-to-need-a-wide-terminal-" + "x" * 40
    study = mh.create_study(name=name, space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=url,
                            optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    script = textwrap.dedent(f"""
        import os
        os.environ["COLUMNS"] = "60"
        from typer.testing import CliRunner
        from metahpo.cli import app
        del os.environ["COLUMNS"]
        runner = CliRunner()
        for columns in ("300", "60"):
            result = runner.invoke(app, ["studies", "--storage", {url!r}], env={{"COLUMNS": columns}})
            assert result.exit_code == 0, result.output
            print(columns, max(len(line) for line in result.output.splitlines()), {name!r} in result.output)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "METAHPO_STORAGE": ""})
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    wide, narrow = (rows[c].split() for c in ("300", "60"))
    assert int(wide[0]) > 60 and wide[1] == "True"
    assert int(narrow[0]) <= 60


@pytest.mark.parametrize("columns", [80, 60, 40])
def test_studies_shows_long_names_whole_on_a_narrow_terminal(tmp_path, columns):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    long_name = "resnet50-cifar10-lr-schedule-sweep-with-warmup-" + "x" * 40
    bests = []
    for name in (long_name, "short"):
        study = mh.create_study(name=name, space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=url,
                                optimizer="random", seed=0)
        study.optimize(lambda t: t.config["x"] + 1234.5, n_trials=2, show_progress=False)
        bests.append(f"{study.best_trial.value:.6g}")
    result = runner.invoke(app, ["studies", "--storage", url], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= columns
    # The name column's pieces, read down the table, are the names, whole and uncut.
    name_cells = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert "".join(name_cells) == long_name + "short"
    assert all(f"│ {best} │" in result.output for best in bests)  # the values are not cut either


def test_listing_and_showing_studies_builds_no_optimizer(tmp_path):
    # A MetaBO study's optimizer imports torch and opens its knowledge: seconds per study,
    # for a table that needs only the stored trials.
    url = f"sqlite:///{tmp_path}/s.db"
    study = mh.create_study(name="m", space=mh.Space({"x": mh.Float(0, 1)}), storage=url,
                            optimizer="metabo", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    code = (
        "import sys\n"
        "from metahpo.cli import main\n"
        f"for args in (['studies', '--storage', {url!r}], ['show', 'm', '--storage', {url!r}]):\n"
        "    sys.argv = ['metahpo', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "optimizer: MetaBO" in done.stdout and "best trial" in done.stdout
    assert "torch imported: False" in done.stdout


def test_show_says_when_trials_are_left_out(workdir):
    made = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "3", "--optimizer", "sobol",
                               "--name", "cut", "--", "echo", "1"])
    assert made.exit_code == 0, made.output
    shown = runner.invoke(app, ["show", "cut", "--limit", "2"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0
    assert "the last 2 of 3 trials (--limit 3 shows all)" in shown.output
    whole = runner.invoke(app, ["show", "cut"], env={"COLUMNS": "120"})
    assert "the last" not in whole.output


@pytest.mark.parametrize("limit", ["0", "-2"])
def test_show_refuses_a_limit_below_one(workdir, limit):
    made = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "3", "--optimizer", "sobol",
                               "--name", "few", "--", "echo", "1"])
    assert made.exit_code == 0, made.output
    shown = runner.invoke(app, ["show", "few", "--limit", limit])
    assert shown.exit_code == 1
    assert f"--limit must be at least 1. Got {limit}." in shown.output
    assert "COMPLETE" not in shown.output


def test_studies_shows_the_creation_time_in_the_local_time_zone(workdir, monkeypatch):
    import time
    from datetime import timedelta, timezone

    # The UTC time was shown without a zone: hours off for anyone not on UTC.
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9 all year
    time.tzset()
    try:
        made = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "zoned",
                                   "--", "echo", "1"])
        assert made.exit_code == 0, made.output
        listed = runner.invoke(app, ["studies"], env={"COLUMNS": "200"})
        created = mh.list_studies("sqlite:///metahpo.db")[0].created_at
        tokyo = created.astimezone(timezone(timedelta(hours=9)))
        assert tokyo.strftime("%Y-%m-%d %H:%M") in listed.output
        assert created.strftime("%H:%M") != tokyo.strftime("%H:%M")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_name_with_brackets_is_shown_whole(workdir):
    # rich read "[final]" as markup: `studies` listed "run", which `show` then did not find.
    made = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "run[final]",
                               "--", "echo", "1"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["studies"], env={"COLUMNS": "200"})
    assert "run[final]" in listed.output
    shown = runner.invoke(app, ["show", "run[final]"], env={"COLUMNS": "200"})
    assert "study 'run[final]' (minimize)" in shown.output
    deleted = runner.invoke(app, ["delete", "run[final]", "--yes"])
    assert "deleted 'run[final]'" in deleted.output
