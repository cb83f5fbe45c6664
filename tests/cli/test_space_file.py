"""The ``--space`` file: YAML or JSON read as the API's parameters, and refused as the API
refuses them."""

from __future__ import annotations

import pytest
from _tune_cli import runner

import metahpo as mh
from metahpo.cli import app


def test_bad_space_file_and_unknown_placeholder(workdir):
    (workdir / "bad.yaml").write_text("x: {type: float, low: 3, high: 1}\n")
    result = runner.invoke(app, ["tune", "--space", "bad.yaml", "--", "echo", "1"])
    assert result.exit_code == 1 and "'low' parameter of Float" in result.output
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--name", "ph",
                                 "--", "echo", "{nope}"])
    # Refused before the first trial, not as a FAILED trial each time.
    assert result.exit_code == 1 and "{nope}" in result.output
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


@pytest.mark.parametrize("name", ['"a.b"', '"w[0]"', '"0"', '"x}"', '"r:2"'])
def test_a_parameter_name_no_placeholder_can_reach_is_refused_naming_it(workdir, name):
    output = _tune_error(workdir, f"{name}: {{type: float, low: 0, high: 1}}\n")
    assert f"names a parameter '{name.strip(chr(34))}', which no command placeholder can reach" in output
    assert not (workdir / "metahpo.db").exists()


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
