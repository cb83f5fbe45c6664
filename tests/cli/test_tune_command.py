"""The command ``metahpo tune`` runs: its placeholders, the program, and the value it prints."""

from __future__ import annotations

import sys
import textwrap

import pytest
from _tune_cli import runner

import metahpo as mh
from metahpo.cli import app
from metahpo.cli._command import CommandFailed, parse_value
from metahpo.trial import TrialState


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


def test_a_program_that_does_not_exist_is_refused_before_the_first_trial(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--name", "typo",
                                 "--", "pythn3-no-such-program", "train.py", "{x}"])
    assert result.exit_code == 1 and "'pythn3-no-such-program' was not found" in result.output
    (workdir / "run.sh").write_text("echo 1\n")  # not executable
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--", "./run.sh"])
    assert result.exit_code == 1 and "cannot be executed" in result.output
    assert not (workdir / "metahpo.db").exists() or "typo" not in runner.invoke(app, ["studies"]).output


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
