"""Paired comparisons in one run: an ablation against the optimizer it ablates, on the same runs.

Two optimizers of one run met the same task x seed pairs, so their difference on each pair
is free of how hard the task happened to be: its mean with the standard error of that
mean, the pairs where the first was better or worse, and the Wilcoxon signed-rank test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from metahpo_bench.runner._report import Curves

__all__ = ["paired_difference", "paired_lines", "paired_table", "pairs_to_compare"]


def pairs_to_compare(names: list[str]) -> list[tuple[str, str]]:
    """Each ablation or composition (``"metabo[adapt_steps=0]"``, ``"metabo+hyperband"``) with
    the optimizer it changes; an ablation that sets one parameter more than another present
    name (``"metabo[a=1;b=0]"`` and ``"metabo[a=1]"``) also with that one, the same model
    with one thing changed; and MetaBO with its own parts (the portfolio and GP-BO)."""
    from metahpo_bench.runner._names import parse_optimizer_name

    present = set(names)
    parsed = {name: parse_optimizer_name(name) for name in names}
    pairs = []
    for name in sorted(names):
        base = name.split("[")[0].split("+")[0]
        if base != name and base in present:
            pairs.append((name, base))
        head, params = parsed[name]
        for other in sorted(names):
            other_head, other_params = parsed[other]
            if (other != base and other_head == head and len(params) == len(other_params) + 1
                    and other_params.items() <= params.items()):
                pairs.append((name, other))
    for part in ("portfolio", "gpbo"):
        if "metabo" in present and part in present:
            pairs.append(("metabo", part))
    return pairs


def paired_difference(curves: Curves, first: str, second: str, column: int) -> dict[str, Any]:
    """``first``'s regret minus ``second``'s at grid ``column``, over the runs both finished."""
    from scipy.stats import wilcoxon

    a = dict(zip(curves.runs[first], curves.regret[first][:, column], strict=True))
    b = dict(zip(curves.runs[second], curves.regret[second][:, column], strict=True))
    both = [run for run in a if run in b and np.isfinite(a[run]) and np.isfinite(b[run])]
    diff = np.array([a[run] - b[run] for run in both])
    moved = diff[diff != 0]
    return {
        "runs": len(diff),
        "mean": float(diff.mean()) if len(diff) else float("nan"),
        "stderr": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("nan"),
        "better": int(np.sum(diff < 0)),
        "worse": int(np.sum(diff > 0)),
        "p": float(wilcoxon(moved).pvalue) if len(moved) > 1 else float("nan"),
    }


def paired_lines(curves: Curves, checkpoints: Sequence[float]) -> list[str]:
    """A markdown table of :func:`paired_difference` at ``checkpoints`` for
    :func:`pairs_to_compare` (may be empty)."""
    pairs = pairs_to_compare(list(curves.regret))
    if not pairs:
        return []
    return [
        "### Paired differences of mean normalised regret (first minus second, same task x seed)",
        "",
        "Negative: the first is better. Each cell: mean ± standard error; better/worse runs; "
        "Wilcoxon signed-rank p.",
        "",
        *paired_table(curves, pairs, checkpoints),
        "",
    ]


def paired_table(curves: Curves, pairs: Sequence[tuple[str, str]], checkpoints: Sequence[float]) -> list[str]:
    """The markdown rows of :func:`paired_difference` for ``pairs`` at ``checkpoints``."""
    lines = [
        "| first | second | " + " | ".join(f"N={c}" for c in checkpoints) + " |",
        "|---|---|" + "---|" * len(checkpoints),
    ]
    for first, second in pairs:
        cells = []
        for checkpoint in checkpoints:
            column = int(np.argmin(np.abs(curves.grid - checkpoint)))
            d = paired_difference(curves, first, second, column)
            cells.append(f"{d['mean']:+.4f} ± {d['stderr']:.4f}; {d['better']}/{d['worse']}; p={d['p']:.2g}")
        lines.append(f"| {first} | {second} | " + " | ".join(cells) + " |")
    return lines
