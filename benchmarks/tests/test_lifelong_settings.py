"""``lifelong.py`` keeps its settings beside its runs and refuses to resume them with others."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"datasets": "keel", "cv": 3, "max_rows": 1000}


def _lifelong() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lifelong", ROOT / "benchmarks" / "lifelong.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _program(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "benchmarks" / "src")])
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *args],
                          capture_output=True, text=True, env=environment, timeout=120)


def test_keep_settings_records_them_and_refuses_others(tmp_path: Path) -> None:
    keep_settings = _lifelong().keep_settings
    settings_file = tmp_path / "settings.json"
    assert keep_settings(tmp_path, SETTINGS) is None  # a new folder: recorded
    assert json.loads(settings_file.read_text()) == SETTINGS
    (tmp_path / "runs.jsonl").write_text('{"key": "k", "curves": [[0.5]]}\n')
    assert keep_settings(tmp_path, dict(SETTINGS)) is None  # the same settings: resumed

    refusal = keep_settings(tmp_path, {**SETTINGS, "datasets": "shifted", "cv": 5})
    assert refusal == (f"{tmp_path} holds runs made with --cv 3 (given: 5), --datasets 'keel' (given: 'shifted'): "
                       "give the same settings or another --out.")
    assert json.loads(settings_file.read_text()) == SETTINGS  # left as it was


def test_keep_settings_refuses_runs_of_unknown_settings(tmp_path: Path) -> None:
    # A folder from before settings.json: its runs may have been made with any settings.
    (tmp_path / "runs.jsonl").write_text('{"key": "k", "curves": [[0.5]]}\n')
    refusal = _lifelong().keep_settings(tmp_path, SETTINGS)
    assert refusal is not None
    assert "runs.jsonl has no settings.json beside it" in refusal
    assert json.dumps(SETTINGS) in refusal  # what to write if they were these
    assert not (tmp_path / "settings.json").exists()


def test_lifelong_programs_refuse_to_resume_with_other_settings(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({**SETTINGS, "max_rows": 500}) + "\n")
    # A preset that does not exist: were the settings not checked first, the program would
    # fail on it at once instead of running studies.
    for program, arguments in {"lifelong.py": ["--presets", "no-such-preset", "--out", str(tmp_path)],
                               "lifelong_one_way.py": ["no-such-preset", "1", str(tmp_path)]}.items():
        refused = _program(program, *arguments)
        assert refused.returncode == 2, (program, refused.stderr)
        assert "holds runs made with --max-rows 500 (given: 1000)" in refused.stderr, program
        assert not (tmp_path / "runs.jsonl").exists(), program  # nothing run
    assert json.loads((tmp_path / "settings.json").read_text())["max_rows"] == 500


def test_committed_lifelong_results_record_their_settings() -> None:
    # Every results folder lifelong.py made stays resumable: its settings are those of its command.
    checked = []
    for readme in (ROOT / "benchmarks" / "results").rglob("README.md"):
        folder = readme.parent
        out = f"--out benchmarks/{folder.relative_to(ROOT / 'benchmarks')}`"
        command = next((line for line in readme.read_text().splitlines()
                        if "benchmarks/lifelong.py" in line and out in line), None)
        if command is None or not (folder / "runs.jsonl").exists():
            continue
        words = command.split("`")[1].split()
        given = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}
        settings = json.loads((folder / "settings.json").read_text())
        assert settings == {"datasets": given["--datasets"], "cv": int(given["--cv"]),
                            "max_rows": int(given["--max-rows"])}, folder
        checked.append(folder.name)
    assert {"lifelong", "lifelong_shifted"} <= set(checked)
