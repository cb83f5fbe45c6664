"""Proximal gradient: Lasso against scikit-learn, MCP to a stationary point, and the step-rule ablation.

python benchmarks/proximal_gradient.py --out benchmarks/results/proximal_gradient
python benchmarks/proximal_gradient.py --quick --out /tmp/proximal_gradient_quick

1. Lasso ``(1/2n)‖y - Xw‖² + α‖w‖₁``: FISTA with backtracking against
   ``sklearn.linear_model.Lasso`` (coordinate descent, tol 1e-12); relative objective error.
2. MCP-penalised least squares with more features than samples (non-convex): ISTA with the
   Barzilai–Borwein step and the non-monotone test; the gradient mapping's norm (step 1/L)
   along the iterations.
3. Ablation of the step rule on five problem families and several seeds: iterations and
   gradient evaluations to a gradient mapping of 1e-6, and failures (not there within
   the iteration budget, or diverged).

Writes ``summary.json``, ``results.md`` and ``proximal_gradient.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from sklearn.linear_model import Lasso

from metahpo.metalearn import (
    GroupLassoPenalty,
    L1Penalty,
    MCPPenalty,
    Penalty,
    gradient_mapping_norm,
    proximal_gradient,
)
from metahpo_bench.options import out_directory

Objective = Callable[[torch.Tensor], torch.Tensor]


def _regression(
    n: int, d: int, seed: int, correlation: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, d, generator=generator, dtype=torch.float64)
    if correlation:
        shared = torch.randn(n, 1, generator=generator, dtype=torch.float64)
        features = math.sqrt(1 - correlation) * features + math.sqrt(correlation) * shared
    truth = torch.zeros(d, dtype=torch.float64)
    truth[: max(1, d // 10)] = 3.0 * torch.randn(
        max(1, d // 10), generator=generator, dtype=torch.float64
    )
    target = features @ truth + 0.5 * torch.randn(n, generator=generator, dtype=torch.float64)
    return features, target


def _least_squares(features: torch.Tensor, target: torch.Tensor) -> tuple[Objective, float]:
    n = features.shape[0]
    lipschitz = float(torch.linalg.matrix_norm(features, 2) ** 2 / n)
    return (lambda w: 0.5 * ((features @ w - target) ** 2).sum() / n), lipschitz


def _logistic(n: int, d: int, seed: int) -> tuple[Objective, float]:
    features, target = _regression(n, d, seed)
    labels = torch.sign(target)
    lipschitz = float(torch.linalg.matrix_norm(features, 2) ** 2 / (4 * n))
    return (lambda w: torch.nn.functional.softplus(-labels * (features @ w)).mean()), lipschitz


def _family(name: str, seed: int, quick: bool) -> tuple[Objective, Penalty, int, float]:
    n, d = (60, 40) if quick else (200, 150)
    if name == "lasso":
        objective, lipschitz = _least_squares(*_regression(n, d, seed))
        return objective, L1Penalty(0.1), d, lipschitz
    if name == "correlated lasso":
        objective, lipschitz = _least_squares(*_regression(n, d, seed, correlation=0.9))
        return objective, L1Penalty(0.05), d, lipschitz
    if name == "group lasso":
        objective, lipschitz = _least_squares(*_regression(n, d, seed))
        groups = [list(range(start, min(start + 5, d))) for start in range(0, d, 5)]
        return objective, GroupLassoPenalty(0.2, groups), d, lipschitz
    if name == "L1 logistic regression":
        objective, lipschitz = _logistic(n, d, seed)
        return objective, L1Penalty(0.01), d, lipschitz
    objective, lipschitz = _least_squares(*_regression(n // 2, d, seed))
    return objective, MCPPenalty(0.2, 3.0), d, lipschitz


FAMILIES = [
    "lasso",
    "correlated lasso",
    "group lasso",
    "L1 logistic regression",
    "MCP, more features than samples",
]
RULES = {
    "fixed 1/L": ("ista", "fixed", 1.0),
    "fixed 2.5/L": ("ista", "fixed", 2.5),
    "backtracking (ISTA)": ("ista", "backtracking", 10.0),
    "backtracking (FISTA)": ("fista", "backtracking", 10.0),
    "Barzilai–Borwein, non-monotone": ("ista", "barzilai_borwein", 10.0),
}


def _ablation(quick: bool, seeds: int, max_iter: int) -> list[dict[str, object]]:
    rows = []
    for rule, (method, step_rule, multiple) in RULES.items():
        iterations: list[int] = []
        evaluations: list[int] = []
        failures = 0
        runs = 0
        failed_families: dict[str, int] = {}
        for family in FAMILIES:
            for seed in range(seeds):
                objective, penalty, d, lipschitz = _family(family, seed, quick)
                runs += 1
                result = proximal_gradient(
                    objective,
                    penalty,
                    torch.zeros(d, dtype=torch.float64),
                    method=method,
                    step_rule=step_rule,
                    step=multiple / lipschitz,
                    max_iter=max_iter,
                    tol=1e-6,
                )
                if result.converged and math.isfinite(result.objective):
                    iterations.append(result.n_iterations)
                    evaluations.append(result.n_evaluations)
                else:
                    failures += 1
                    failed_families[family] = failed_families.get(family, 0) + 1
        rows.append(
            {
                "rule": rule,
                "runs": runs,
                "failures": failures,
                "failures_by_family": failed_families,
                "median_iterations": float(np.median(iterations)) if iterations else math.nan,
                "median_evaluations": float(np.median(evaluations)) if evaluations else math.nan,
                "max_iterations": int(max(iterations)) if iterations else -1,
            }
        )
    return rows


def _by_family(row: dict[str, object]) -> str:
    failed = row["failures_by_family"]
    assert isinstance(failed, dict)
    return ", ".join(f"{family}: {count}" for family, count in failed.items()) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems, for the tests")
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args(argv)
    program_start = time.perf_counter()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    command = (
        "python benchmarks/proximal_gradient.py"
        + (" --quick" if args.quick else "")
        + f" --out {args.out}"
    )
    n, d = (100, 50) if args.quick else (500, 300)

    # 1. Lasso against scikit-learn.
    features, target = _regression(n, d, seed=0)
    objective, lipschitz = _least_squares(features, target)
    alpha = 0.1
    start = time.perf_counter()
    reference = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=1_000_000).fit(
        features.numpy(), target.numpy()
    )
    sklearn_seconds = time.perf_counter() - start
    reference_objective = float(
        objective(torch.as_tensor(reference.coef_)) + alpha * np.abs(reference.coef_).sum()
    )
    lasso_rows = []
    for label, method, rule in [
        ("FISTA, backtracking", "fista", "backtracking"),
        ("ISTA, Barzilai–Borwein", "ista", "barzilai_borwein"),
    ]:
        start = time.perf_counter()
        result = proximal_gradient(
            objective,
            L1Penalty(alpha),
            torch.zeros(d, dtype=torch.float64),
            method=method,
            step_rule=rule,
            step=10.0 / lipschitz,
            max_iter=50_000,
            tol=1e-10,
        )
        lasso_rows.append(
            {
                "method": label,
                "iterations": result.n_iterations,
                "objective": result.objective,
                "rel_error": abs(result.objective - reference_objective) / abs(reference_objective),
                "coef_max_abs_diff": float(np.abs(result.x.numpy() - reference.coef_).max()),
                "seconds": time.perf_counter() - start,
            }
        )
    lasso_rel_error = max(float(row["rel_error"]) for row in lasso_rows)

    # 2. MCP: the gradient mapping along the iterations (a common step 1/L for every iterate).
    features, target = _regression(n // 2, d, seed=1)
    objective, lipschitz = _least_squares(features, target)
    penalty = MCPPenalty(0.2, 3.0)
    mappings = []
    x = torch.zeros(d, dtype=torch.float64)
    budgets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
    for budget in budgets:
        result = proximal_gradient(
            objective,
            penalty,
            x,
            method="ista",
            step_rule="barzilai_borwein",
            step=10.0 / lipschitz,
            max_iter=budget,
            tol=1e-12,
        )
        mappings.append(gradient_mapping_norm(objective, penalty, result.x, 1.0 / lipschitz))
    final_gradient_mapping = mappings[-1]

    # 3. The step-rule ablation. A run that never converges spends the whole budget; at the
    # quick sizes the Barzilai–Borwein rule needs at most a few hundred iterations.
    ablation_budget = 1000 if args.quick else 20_000
    ablation = _ablation(args.quick, seeds=2 if args.quick else 10, max_iter=ablation_budget)

    ablation_seconds = time.perf_counter() - start
    summary = {
        "ablation_seconds": ablation_seconds,
        "lasso_rel_error": lasso_rel_error,
        "final_gradient_mapping": final_gradient_mapping,
        "gradient_mapping_by_iterations": dict(zip(budgets, mappings, strict=False)),
        "ablation": ablation,
        "quick": args.quick,
        "command": command,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Proximal gradient",
        "",
        f"Made with `{command}` (torch {torch.__version__}, CPU, one thread).",
        "",
        f"## Lasso against scikit-learn ({n} samples, {d} features, alpha {alpha})",
        "",
        f"scikit-learn `Lasso(fit_intercept=False, tol=1e-12)`: objective {reference_objective:.12g} ({sklearn_seconds:.2f} s).",
        "",
        "| method | iterations | objective | relative error | max abs coef diff | seconds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {r['iterations']} | {r['objective']:.12g} | {r['rel_error']:.2e} | {r['coef_max_abs_diff']:.2e} | {r['seconds']:.2f} |"
        for r in lasso_rows
    ]
    lines += [
        "",
        f"## MCP (λ 0.2, γ 3), {n // 2} samples, {d} features: ISTA with the Barzilai–Borwein step",
        "",
        "| iterations | gradient mapping (step 1/L) |",
        "|---|---|",
    ]
    lines += [f"| {b} | {m:.2e} |" for b, m in zip(budgets, mappings, strict=False)]
    lines += [
        "",
        "## Step-rule ablation",
        "",
        f"Families: {', '.join(FAMILIES)}; {ablation[0]['runs'] // len(FAMILIES)} seeds each. Tolerance: gradient mapping <= 1e-6. "
        f"Adaptive rules start at 10/L. A failure is a run not converged within {ablation_budget:,} iterations (or diverged); "
        "medians are over the converged runs.",
        "",
        "| step rule | runs | failures | failures by family | median iterations | median gradient evaluations | most iterations |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['rule']} | {r['runs']} | {r['failures']} | {_by_family(r)} | {r['median_iterations']:.0f} | {r['median_evaluations']:.0f} | {r['max_iterations']} |"
        for r in ablation
    ]
    lines += ["", f"Total wall time: {time.perf_counter() - program_start:.0f} s."]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.loglog(budgets, mappings, "o-")
    left.set_xlabel("iterations")
    left.set_ylabel("gradient mapping norm (step 1/L)")
    left.set_title("MCP regression, ISTA + BB")
    names = [str(r["rule"]) for r in ablation]
    right.barh(
        names,
        [
            float(r["median_iterations"]) if not math.isnan(float(r["median_iterations"])) else 0
            for r in ablation
        ],
    )
    right.set_xscale("log")
    right.set_xlabel("median iterations to gradient mapping 1e-6")
    figure.tight_layout()
    figure.savefig(args.out / "proximal_gradient.png", dpi=120)
    print(json.dumps({k: v for k, v in summary.items() if k != "ablation"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
