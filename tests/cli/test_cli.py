from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app
from metahpo.cli._command import CommandFailed, parse_value
from metahpo.trial import TrialState

runner = CliRunner()


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    (tmp_path / "space.yaml").write_text(textwrap.dedent("""
        x: {type: float, low: -5, high: 5}
        lr: {type: float, low: 1e-4, high: 1, log: true}
        n: {type: int, low: 1, high: 4}
    """))
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import json, sys
        x, lr, n, budget = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        if n == 4:
            sys.stderr.write("n=4 is not supported\\n")
            sys.exit(3)
        print("epoch 1 ...")
        loss = (x - 1) ** 2 + n + (1 / float(budget) if budget else 0)
        print(json.dumps({"value": loss, "budget": budget}) if n == 2 else loss)
    """))
    return tmp_path


def tune(*extra):
    return runner.invoke(app, ["tune", "--space", "space.yaml", *extra, "--", sys.executable,
                               "train.py", "{x}", "{lr}", "{n}", "{budget}"])


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


def test_bad_space_file_and_unknown_placeholder(workdir):
    (workdir / "bad.yaml").write_text("x: {type: float, low: 3, high: 1}\n")
    result = runner.invoke(app, ["tune", "--space", "bad.yaml", "--", "echo", "1"])
    assert result.exit_code == 1 and "'low' parameter of Float" in result.output
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "ph",
                                 "--", "echo", "{nope}"])
    # Refused before the first trial, not as a FAILED trial each time.
    assert result.exit_code == 1 and "{nope}" in result.output
    assert not (workdir / "metahpo.db").exists()


def test_a_placeholder_format_the_values_cannot_take_is_refused_before_any_trial(workdir):
    (workdir / "f.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    result = runner.invoke(app, ["tune", "--space", "f.yaml", "--trials", "2", "--name", "fmt",
                                 "--", "echo", "{x:d}"])
    assert result.exit_code == 1 and "'{x:d}' cannot be filled" in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()
    result = runner.invoke(app, ["tune", "--space", "f.yaml", "--trials", "2", "--name", "fmt",
                                 "--", "echo", "{x:.3f}"])
    assert result.exit_code == 0, result.output


def test_a_placeholder_format_refused_says_what_trial_and_an_inactive_parameter_are(workdir):
    (workdir / "c.yaml").write_text(
        "opt: {type: categorical, choices: [sgd, adam]}\n"
        "mom: {type: float, low: 0, high: 1, condition: {type: equals, parent: opt, value: sgd}}\n"
    )
    result = runner.invoke(app, ["tune", "--space", "c.yaml", "--trials", "1", "--name", "cond",
                                 "--", "echo", "{trial:03d}", "{mom:.3f}"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "'{mom:.3f}' cannot be filled" in text
    assert "{trial} an int" in text and "inactive as empty text" in text


def test_an_empty_name_is_refused_not_replaced_by_the_default(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "",
                                 "--", "echo", "1"])
    assert result.exit_code == 1 and "'name' parameter" in result.output
    assert not (workdir / "metahpo.db").exists()


def _tune_error(workdir, text, file_name="space.yaml"):
    (workdir / file_name).write_text(text)
    result = runner.invoke(app, ["tune", "--space", file_name, "--", "echo", "1"])
    assert result.exit_code == 1
    return " ".join(result.output.split())


@pytest.mark.parametrize(("file_name", "text"), [
    ("quoted.yaml", 'lr: {type: float, low: "0.1", high: 1}\n'),
    ("quoted.json", '{"lr": {"type": "float", "low": "0.1", "high": 1}}\n'),
])
def test_a_quoted_bound_in_the_space_file_is_refused_as_the_api_refuses_it(workdir, file_name, text):
    # mh.Float("0.1", 1) is refused; the file turned the text into a number.
    output = _tune_error(workdir, text, file_name)
    assert "The 'low' of parameter 'lr'" in output and "must be a number" in output
    assert "Got '0.1' (a string) instead: write the number without quotes." in output
    output = _tune_error(workdir, "n: {type: int, low: 1, high: ten}\n")
    assert "The 'high' of parameter 'n'" in output and "Got 'ten' (a string) instead." in output


def test_unquoted_numbers_yaml_1_1_reads_as_text_stay_numbers(workdir):
    from metahpo.cli._command import load_space_file

    (workdir / "s.yaml").write_text(
        "lr: {type: float, low: 1e-4, high: 1.0e0, default: 1E-2}\n"
        "n: {type: int, low: 1e0, high: 1e3}\n"
        "c: {type: categorical, choices: [1e-3, '1e-2', 0.5]}\n"
    )
    space = load_space_file(workdir / "s.yaml")
    assert space["lr"] == mh.Float(1e-4, 1.0, default=1e-2)
    assert space["n"] == mh.Int(1, 1000)
    # Choices keep the text YAML 1.1 reads (as before): the fingerprint, and the default
    # study name made from it, do not change.
    assert space["c"].choices == ("1e-3", "1e-2", 0.5)
    assert all(type(c) in (str, float) for c in space["c"].choices)


def test_yaml_1_1_boolean_words_are_refused_where_text_is_meant(workdir):
    from metahpo.cli._command import load_space_file

    for text in ("shuffle: {type: categorical, choices: [yes, no]}\n", "on: {type: int, low: 0, high: 3}\n",
                 "a: {type: categorical, choices: [x, y]}\nb: {type: int, low: 0, high: 3, "
                 "condition: {parent: a, type: equals, value: Off}}\n"):
        (workdir / "s.yaml").write_text(text)
        with pytest.raises(mh.InvalidParameterError, match=r"unquoted '(yes|on|Off)', a boolean in YAML 1\.1.*quote it"):
            load_space_file(workdir / "s.yaml")
    # Where a boolean is meant, the word is the boolean it always was.
    (workdir / "s.yaml").write_text("shuffle: {type: categorical, choices: ['yes', 'no', true]}\n"
                                    "lr: {type: float, low: 0.1, high: 1, log: Yes}\n"
                                    "depth: {type: categorical, choices: [1, 2], ordered: on}\n"
                                    "n: {type: int, low: 1, high: 9, log: no}\n")
    space = load_space_file(workdir / "s.yaml")
    assert space["shuffle"].choices == ("yes", "no", True)
    assert space["lr"].log is True and space["depth"].ordered is True and space["n"].log is False


def test_an_unknown_key_in_the_space_file_names_the_parameter_and_the_allowed_keys(workdir):
    output = _tune_error(workdir, "lr: {type: float, low: 0.1, high: 1, lg: true}\n")
    assert "unexpected keyword" not in output
    assert ("The description of parameter 'lr' (type 'float') must use only the keys "
            "['type', 'low', 'high', 'log', 'default', 'condition']. Got the unknown key 'lg' instead.") in output
    output = _tune_error(workdir, "act: {type: categorical, choice: [relu, tanh]}\n")
    assert "parameter 'act'" in output and "unknown key 'choice'" in output and "'choices'" in output


@pytest.mark.parametrize("command", [["studies"], ["show", "s"], ["plot", "s", "history", "--out", "h.html"],
                                     ["tune", "--space", "space.yaml", "--", "echo", "{x}"]])
def test_a_file_path_given_as_storage_is_refused_with_its_url(workdir, command):
    (workdir / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    result = runner.invoke(app, [*command, "--storage", "e.db"] if command[0] != "tune"
                           else ["tune", "--storage", "e.db", *command[1:]])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "--storage (or $METAHPO_STORAGE) must be a database URL" in output
    assert "give sqlite:///e.db" in output and "Storage object" not in output
    assert not (workdir / "e.db").exists()


@pytest.mark.parametrize("name", ['"a.b"', '"w[0]"', '"0"', '"x}"', '"r:2"'])
def test_a_parameter_name_no_placeholder_can_reach_is_refused_naming_it(workdir, name):
    output = _tune_error(workdir, f"{name}: {{type: float, low: 0, high: 1}}\n")
    assert f"names a parameter '{name.strip(chr(34))}', which no command placeholder can reach" in output
    assert not (workdir / "metahpo.db").exists()


@pytest.mark.parametrize(
    ("stdout", "value"),
    [("1.5\n", 1.5), ("log\n\n  2\n", 2.0), ('noise\n{"value": 0.25, "acc": 0.9}\n', 0.25)],
)
def test_parse_value_reads_the_last_line(stdout, value):
    assert parse_value(stdout) == value


@pytest.mark.parametrize("stdout", ["", "done\n", '{"acc": 1}\n', "nan\n", "true\n", '{"value": "x"}'])
def test_parse_value_refuses_non_values(stdout):
    with pytest.raises(CommandFailed):
        parse_value(stdout)


@pytest.mark.parametrize("stdout", ["nan\n", "-inf\n", "Infinity\n", '{"value": NaN}\n'])
def test_a_value_that_is_not_finite_is_called_so_however_it_is_spelt(stdout):
    with pytest.raises(CommandFailed, match="must be a finite number"):
        parse_value(stdout)


def test_a_command_s_output_that_is_not_utf8_keeps_its_value_and_a_kill_is_named():
    from metahpo.cli._command import command_objective

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    latin1 = "import sys; sys.stdout.buffer.write('temp\\xe9rature\\n0.42\\n'.encode('latin-1'))"
    study = mh.create_study(space=space, optimizer="random", seed=0)
    study.optimize(command_objective([sys.executable, "-c", latin1]), n_trials=1, show_progress=False)
    assert study.trials[0].value == 0.42
    killed = mh.create_study(space=space, optimizer="random", seed=0)
    killed.optimize(command_objective(["sh", "-c", "kill -9 $$"]), n_trials=1, show_progress=False)
    assert "killed by signal 9 (SIGKILL)" in killed.trials[0].error



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


def test_an_unknown_direction_is_refused_naming_the_option(workdir):
    result = tune("--trials", "1", "--direction", "max", "--name", "typo")
    assert result.exit_code == 1
    assert "--direction must be minimize or maximize. Got 'max'." in " ".join(result.output.split())
    assert not (workdir / "metahpo.db").exists()


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


def test_a_program_that_does_not_exist_is_refused_before_the_first_trial(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--name", "typo",
                                 "--", "pythn3-no-such-program", "train.py", "{x}"])
    assert result.exit_code == 1 and "'pythn3-no-such-program' was not found" in result.output
    (workdir / "run.sh").write_text("echo 1\n")  # not executable
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--", "./run.sh"])
    assert result.exit_code == 1 and "cannot be executed" in result.output
    assert not (workdir / "metahpo.db").exists() or "typo" not in runner.invoke(app, ["studies"]).output


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


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_storage_is_refused(workdir, url, monkeypatch):
    # `sqlite://` (one slash short) ran the study in memory: its trials were gone at exit.
    result = tune("--trials", "1", "--name", "lost", "--storage", url)
    assert result.exit_code == 1
    assert f"Got {url!r}, an in-memory SQLite database" in " ".join(result.output.split())
    for args in (["studies", "--storage", url], ["kb", "list", "--storage", url],
                 ["plot", "lost", "history", "--out", "h.html", "--storage", url]):
        refused = runner.invoke(app, args)
        assert refused.exit_code in (1, 2) and "in-memory SQLite database" in refused.output, args
    monkeypatch.setenv("METAHPO_STORAGE", url)
    assert "in-memory SQLite database" in runner.invoke(app, ["studies"]).output
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


def test_a_conditional_parameter_left_inactive_is_an_empty_placeholder(workdir):
    # Every trial whose condition left C inactive FAILED: "{C} is not a parameter of the space".
    (workdir / "cond.yaml").write_text(textwrap.dedent("""
        kind: {type: categorical, choices: [svm, rf]}
        C: {type: float, low: 0.1, high: 10, condition: {type: equals, parent: kind, value: svm}}
    """))
    (workdir / "cond.py").write_text("import sys; print(float(sys.argv[2]) if sys.argv[2] else 5.0)\n")
    result = runner.invoke(app, ["tune", "--space", "cond.yaml", "--trials", "6", "--optimizer", "random",
                                 "--seed", "0", "--name", "cond", "--", sys.executable, "cond.py", "{kind}", "{C}"])
    assert result.exit_code == 0, result.output
    trials = mh.load_study("cond", "sqlite:///metahpo.db").trials
    assert {t.config["kind"] for t in trials} == {"svm", "rf"}
    for t in trials:
        assert t.state is TrialState.COMPLETE
        assert t.value == (t.config["C"] if t.config["kind"] == "svm" else 5.0)


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


def test_an_error_message_keeps_its_brackets(workdir):
    # rich read "[abc]" as markup and dropped it from the one line the user gets.
    result = runner.invoke(app, ["tune", "--space", "space[abc].yaml", "--", "echo", "1"])
    assert result.exit_code == 1
    assert "'space[abc].yaml' cannot be read" in " ".join(result.output.split())


def test_a_yaml_range_condition_reads_its_bounds_as_numbers(tmp_path):
    from metahpo.cli._command import load_space_file

    path = tmp_path / "space.yaml"
    path.write_text(
        "alpha: {type: float, low: 1e-5, high: 1, log: true}\n"
        "beta: {type: float, low: 0, high: 1, condition: {type: range, parent: alpha, low: 1e-3}}\n"
    )
    space = load_space_file(path)
    assert space.active_names({"alpha": 0.01, "beta": 0.5}) == ["alpha", "beta"]
    assert space.active_names({"alpha": 1e-4, "beta": 0.5}) == ["alpha"]
    path.write_text("m: {type: categorical, choices: [a, b]}\n"
                    "x: {type: float, low: 0, high: 1, condition: {type: equals, parent: m}}\n")
    with pytest.raises(mh.InvalidParameterError, match=r"'equals' condition description needs the key 'value'"):
        load_space_file(path)
