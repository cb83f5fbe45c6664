"""The Frank–Wolfe and proximal-gradient reproduction programs run in quick mode and meet their targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(program: str, out: Path) -> dict[str, object]:
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
    assert (out / "results.md").read_text().startswith("# ")
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
