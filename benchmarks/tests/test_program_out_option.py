"""Benchmark programs refuse an ``--out`` that is an existing file, before any work."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.parametrize("name", ["proximal_gradient", "maml_rl_navigation"])
def test_refuses_an_out_that_is_a_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "summary.json"
    existing.write_text("{}\n")
    with pytest.raises(SystemExit) as exit_info:
        _program(name).main(["--quick", "--out", str(existing)])
    assert exit_info.value.code == 2
    assert (
        f"argument --out: expected a directory (made if missing), got the file {existing}"
        in capsys.readouterr().err
    )
    assert existing.read_text() == "{}\n" and list(tmp_path.iterdir()) == [existing]
