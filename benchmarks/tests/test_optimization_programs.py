"""The Frank–Wolfe, proximal-gradient and MAML-RL reproduction programs run in quick mode and meet their targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(program: str, out: Path, report: str = "results.md") -> dict[str, object]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT / "benchmarks" / "src"), environment.get("PYTHONPATH", "")]
    )
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / program), "--quick", "--out", str(out)],
        check=True,
        env=environment,
        timeout=240,
        capture_output=True,
    )
    assert (out / report).read_text().startswith("# ")
    assert any(path.suffix == ".png" for path in out.iterdir())
    return json.loads((out / "summary.json").read_text())


def test_frank_wolfe_quick(tmp_path: Path) -> None:
    summary = _run("frank_wolfe.py", tmp_path)
    # O(1/k): the smallest gap so far falls at least as fast as 1/k (slope -1), with slack.
    assert float(summary["gap_slope"]) < -0.9
    assert float(summary["max_abs_error"]) < 1e-6


def test_proximal_gradient_quick(tmp_path: Path) -> None:
    summary = _run("proximal_gradient.py", tmp_path)
    assert float(summary["lasso_rel_error"]) < 1e-6
    assert float(summary["final_gradient_mapping"]) < 1e-8
    rules = {row["rule"]: row for row in summary["ablation"]}  # type: ignore[union-attr]
    assert rules["Barzilai–Borwein, non-monotone"]["failures"] == 0


def test_maml_rl_navigation_quick(tmp_path: Path) -> None:
    summary = _run("maml_rl_navigation.py", tmp_path, report="README.md")
    returns = summary["returns"]
    assert set(returns) == {"maml", "pretrained", "random"}  # type: ignore[arg-type]
    for values in returns.values():  # type: ignore[union-attr]
        assert len(values) == 4 and all(isinstance(value, float) for value in values)
    # One step helps MAML's initialisation a lot even after the quick run's 40 iterations.
    # Whether it then beats the pretrained policy depends on the seed (it does for seeds 0
    # and 1, not for seed 2), so only the full run's result is claimed, in the docs.
    assert returns["maml"][1] > returns["maml"][0] + 10.0  # type: ignore[index]
    assert isinstance(summary["maml_ahead_after_one_step"], bool)
    assert set(summary["fine_tune_lr"]) == {"maml", "pretrained", "random"}  # type: ignore[arg-type]
    assert "python benchmarks/maml_rl_navigation.py --quick" in (tmp_path / "README.md").read_text()
