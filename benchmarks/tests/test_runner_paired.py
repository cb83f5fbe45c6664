"""Paired ablation tables: which pairs are compared, and the difference on shared runs."""

from __future__ import annotations

import numpy as np
import pytest

from metahpo_bench.runner._paired import paired_difference, paired_lines, pairs_to_compare
from metahpo_bench.runner._report import Curves


def _curves(regret: dict[str, list[float]], runs: dict[str, list[tuple[str, int]]]) -> Curves:
    grid = np.array([5.0, 10.0])
    rows = {k: np.column_stack([v, v]) for k, v in regret.items()}
    zeros = {k: 0.0 for k in regret}
    return Curves("p", grid, rows, runs, zeros, zeros, zeros, {k: np.full_like(v, np.nan) for k, v in rows.items()})


def test_pairs_are_ablations_with_their_base_and_metabo_with_its_parts() -> None:
    names = ["metabo", "metabo[adapt_steps=0]", "metabo+hyperband", "gpbo", "portfolio", "random",
             "gpbo[n_initial=3]", "smac[x=1]"]
    assert pairs_to_compare(names) == [
        ("gpbo[n_initial=3]", "gpbo"),
        ("metabo+hyperband", "metabo"),
        ("metabo[adapt_steps=0]", "metabo"),
        ("metabo", "portfolio"),
        ("metabo", "gpbo"),
    ]
    assert pairs_to_compare(["random", "gpbo"]) == []
    # One parameter more than another ablation: also paired with it (same model, one change).
    assert pairs_to_compare(["metabo", "metabo[a=1]", "metabo[a=1;b=0]", "metabo[a=2;b=0]"]) == [
        ("metabo[a=1;b=0]", "metabo"),
        ("metabo[a=1;b=0]", "metabo[a=1]"),
        ("metabo[a=1]", "metabo"),
        ("metabo[a=2;b=0]", "metabo"),
    ]
    # A composition with a parameter set: also paired with the composition it changes.
    assert pairs_to_compare(["metabo", "metabo+asha", "metabo+asha[min_budget=5]"]) == [
        ("metabo+asha", "metabo"),
        ("metabo+asha[min_budget=5]", "metabo"),
        ("metabo+asha[min_budget=5]", "metabo+asha"),
    ]


def test_difference_uses_only_runs_both_finished() -> None:
    runs = [("a", 0), ("b", 0), ("c", 0), ("d", 0)]
    curves = _curves(
        {"metabo": [0.1, 0.2, 0.3, np.nan], "metabo[x=1]": [0.2, 0.2, 0.5, 0.0]},
        {"metabo": runs, "metabo[x=1]": [*runs[:3], ("d", 0)]},
    )
    d = paired_difference(curves, "metabo[x=1]", "metabo", 0)
    assert d["runs"] == 3 and (d["better"], d["worse"]) == (0, 2)
    assert d["mean"] == pytest.approx(0.1)
    assert d["stderr"] == pytest.approx(np.std([0.1, 0.0, 0.2], ddof=1) / np.sqrt(3))
    lines = paired_lines(curves, [5, 10])
    assert any(line.startswith("| metabo[x=1] | metabo | +0.1000") for line in lines)
