"""Benchmark programs refuse an ``--out`` they cannot write, before any work."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from metahpo_bench.cli import app
from metahpo_bench.options import out_directory, out_file

ROOT = Path(__file__).resolve().parents[2]
NOT_A_DIRECTORY = "argument --out: expected a directory (made if missing), got the file {}"


def _program(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_program", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _refused(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the program's ``main`` on ``args`` (as its command line): it must stop with a
    usage error; returns what it printed."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # programs that import a sibling
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *args])
    with pytest.raises(SystemExit) as exit_info:
        _program(name).main()
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("l2l_quadratic", ["--quick"]),
        ("proximal_gradient", ["--quick"]),
        ("maml_rl_navigation", ["--quick"]),
        ("frank_wolfe", ["--quick"]),
        ("meta_clustering", ["--quick"]),
        ("stopping_bound", []),
        ("lifelong", ["--studies", "1", "--trials", "1"]),
        ("maml_fewshot", ["--quick"]),
    ],
)
def test_refuses_an_out_that_is_a_file(
    name: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "summary.json"
    existing.write_text("{}\n")
    err = _refused(name, [*args, "--out", str(existing)], monkeypatch, capsys)
    assert NOT_A_DIRECTORY.format(existing) in err
    assert existing.read_text() == "{}\n" and list(tmp_path.iterdir()) == [existing]


def test_refuses_an_out_under_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "summary.json"
    existing.write_text("{}\n")
    err = _refused("frank_wolfe", ["--quick", "--out", str(existing / "run")], monkeypatch, capsys)
    assert (
        f"argument --out: expected a directory (made if missing), got {existing / 'run'}, "
        f"which is under the file {existing}"
    ) in err
    assert list(tmp_path.iterdir()) == [existing]


def test_a_positional_out_directory_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "runs"
    existing.write_text("")
    err = _refused("lifelong_one_way", ["hgb-classifier", "1", str(existing)], monkeypatch, capsys)
    assert f"argument out: expected a directory (made if missing), got the file {existing}" in err


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("budget_to_regret", ["{runs}"]),
        ("ratio_interval", ["{runs}", "--first", "a", "--second", "b", "--trials", "5"]),
    ],
)
def test_refuses_an_out_file_that_is_a_directory(
    name: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "table.md"
    taken.mkdir()
    runs = str(tmp_path / "no-runs")  # refused before the runs are read
    err = _refused(name, [a.format(runs=runs) for a in args] + ["--out", str(taken)], monkeypatch, capsys)
    assert f"argument --out: expected a file to write, got the directory {taken}" in err
    assert list(tmp_path.iterdir()) == [taken] and not any(taken.iterdir())


@pytest.mark.parametrize(
    "args",
    [
        ["maml-sinusoid", "--quick"],
        ["run", "--problem", "branin", "--trials", "1", "--seeds", "1"],
        ["build-metadata", "--problem", "branin"],
    ],
    ids=lambda args: args[0],
)
def test_the_command_line_refuses_an_out_that_is_a_file(args: list[str], tmp_path: Path) -> None:
    existing = tmp_path / "summary.json"
    existing.write_text("{}\n")
    result = CliRunner().invoke(app, [*args, "--out", str(existing)])
    assert result.exit_code == 2, result.output
    # The message is in a box, wrapped anywhere (a long path too): compare without spaces.
    message = "".join(re.sub("[│╭╮╰╯─]", "", result.output).split())
    expected = f"Invalid value for '--out': expected a directory (made if missing), got the file {existing}"
    assert "".join(expected.split()) in message
    assert list(tmp_path.iterdir()) == [existing]


def test_defaults_are_checked_and_become_paths(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=out_directory, default="results/demo")
    parser.add_argument("--table", type=out_file, default="results/demo.md")
    args = parser.parse_args([])
    assert args.out == Path("results/demo") and args.table == Path("results/demo.md")
    existing = tmp_path / "taken"
    existing.write_text("")
    assert out_file(str(existing)) == existing  # a file is overwritten, as before
    assert out_directory(str(tmp_path)) == tmp_path
    with pytest.raises(argparse.ArgumentTypeError, match="got the file"):
        out_directory(str(existing))
    with pytest.raises(argparse.ArgumentTypeError, match="which is under the file"):
        out_file(str(existing / "table.md"))


def test_an_empty_out_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Path("") is the current directory: an unset variable (--out "$DIR") would write there.
    for check, expected in ((out_directory, "a directory (made if missing)"), (out_file, "a file to write")):
        for empty in ("", "  "):
            with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"expected {expected}, got an empty value")):
                check(empty)
    monkeypatch.chdir(tmp_path)
    err = _refused("frank_wolfe", ["--quick", "--out", ""], monkeypatch, capsys)
    assert "argument --out: expected a directory (made if missing), got an empty value ''" in err
    err = _refused("ratio_interval", ["runs", "--first", "a", "--second", "b", "--trials", "5", "--out", ""],
                   monkeypatch, capsys)
    assert "argument --out: expected a file to write, got an empty value ''" in err
    for args in (["maml-sinusoid", "--quick"], ["run", "--problem", "branin", "--trials", "1", "--seeds", "1"],
                 ["build-metadata", "--problem", "branin"]):
        result = CliRunner().invoke(app, [*args, "--out", ""])
        assert result.exit_code == 2, result.output
        message = "".join(re.sub("[│╭╮╰╯─]", "", result.output).split())
        expected = "Invalid value for '--out': expected a directory (made if missing), got an empty value"
        assert expected.replace(" ", "") in message
    assert list(tmp_path.iterdir()) == []


def _runs(folder: Path) -> Path:
    """A results folder made by hand: optimizers "a" and "b", two tasks, two seeds, four
    evaluations each at budget 1."""
    folder.mkdir()
    lines = []
    for optimizer, best in (("a", 0.2), ("b", 0.4)):
        for task in ("t1", "t2"):
            for seed in (0, 1):
                for trial, loss in enumerate((0.9, 0.8, best, best)):
                    lines.append(json.dumps({
                        "problem": "p", "task": task, "optimizer": optimizer, "seed": seed, "trial": trial,
                        "budget": 1.0, "loss": loss, "cum_budget": trial + 1.0, "wall_time": 0.0,
                    }))
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "bounds.json").write_text(json.dumps({"t1": [0.0, 1.0], "t2": [0.0, 1.0]}))
    spec = {"problem": "p", "n_full_evals": 4, "seeds": [0, 1], "continuation": True}
    (folder / "run.json").write_text(json.dumps({"command": "made by hand", "spec": spec, "test_tasks": ["t1", "t2"]}))
    return folder


def _fake_first_suggestion(name: str, optimizer: str, hyperband: bool) -> tuple[str, float, float, int, float]:
    return optimizer, 0.1, 0.2, 3, 0.5


@pytest.mark.parametrize(
    ("name", "args", "fakes"),
    [
        ("budget_to_target", ["{runs}", "--reference", "a", "--targets", "0.5"], {}),
        ("ratio_interval", ["{runs}", "--first", "a", "--second", "b", "--trials", "4"], {}),
        # Its problem's budget ladder, Hyperband's brackets and the figure are not what is tested.
        ("budget_to_regret", ["{runs}", "--reference", "a"],
         {"ladder_of": lambda spec: [1.0], "bracket_table": lambda spec: [], "plot": lambda *args: None}),
        ("preset_first_suggestion", ["hgb-classifier"], {"first_model_suggestion": _fake_first_suggestion}),
    ],
)
def test_an_out_file_in_a_folder_that_does_not_exist_is_written_there(
    name: str, args: list[str], fakes: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _runs(tmp_path / "runs")
    out = tmp_path / "tables" / "new" / "table.md"
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path / "home"))  # preset_first_suggestion sets its own
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *[a.format(runs=runs) for a in args], "--out", str(out)])
    program = _program(name)
    for attribute, fake in fakes.items():
        monkeypatch.setattr(program, attribute, fake)
    program.main()
    assert out.read_text().startswith("# ")
