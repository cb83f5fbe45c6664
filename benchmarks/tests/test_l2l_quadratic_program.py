"""``l2l_quadratic.py``: its refusals, its quick settings and its MLP tuning shortcut, in-process and fast."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest
import torch

from metahpo_bench.l2l_digits import digits, mean_curve, mean_final_loss

ROOT = Path(__file__).resolve().parents[2]


def _program() -> ModuleType:
    name = "l2l_quadratic_program"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "l2l_quadratic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_refuses_a_missing_out(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _program().main(["--quick"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err


def test_refuses_an_out_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "summary.json"
    existing.write_text("{}\n")
    with pytest.raises(SystemExit) as exit_info:
        _program().main(["--quick", "--out", str(existing)])
    assert exit_info.value.code == 2
    assert (
        f"argument --out: expected a directory (made if missing), got the file {existing}"
        in capsys.readouterr().err
    )
    assert existing.read_text() == "{}\n"  # refused before anything was written


def test_quick_settings_are_a_smaller_run_of_the_same_experiment() -> None:
    program = _program()
    quick, full = program.QUICK, program.FULL
    assert quick.meta_lr == full.meta_lr  # the same meta-training, only shorter
    counts = [field.name for field in fields(quick) if field.name != "meta_lr"]
    assert all(1 <= getattr(quick, name) <= getattr(full, name) for name in counts)
    assert quick.quadratic_meta_iterations < full.quadratic_meta_iterations
    assert quick.held_out_quadratics < full.held_out_quadratics


@pytest.mark.parametrize("settings", ["QUICK", "FULL"])
def test_mean_final_loss_is_the_last_point_of_mean_curve(settings: str) -> None:
    # The learning-rate tuning uses the shortcut: it must choose what the full curve would,
    # on as many initialisations as each run tunes on.
    seeds = list(range(1000, 1000 + getattr(_program(), settings).mlp_tuning_inits))
    inputs, targets = digits()
    for lr in (0.1, 10.0):  # 10 makes SGD overshoot: the numbers differ, not just the order

        def make(network: torch.nn.Module, lr: float = lr) -> torch.optim.Optimizer:
            return torch.optim.SGD(network.parameters(), lr=lr)

        curve = mean_curve(make, inputs, targets, seeds, 8)
        assert curve.shape == (9,)
        assert mean_final_loss(make, inputs, targets, seeds, 8) == float(curve[-1])
