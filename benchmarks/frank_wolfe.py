"""Frank–Wolfe on constrained least squares: the gap's O(1/k) rate and the solution against scipy.

python benchmarks/frank_wolfe.py --out benchmarks/results/frank_wolfe
python benchmarks/frank_wolfe.py --quick --out /tmp/frank_wolfe_quick

For each set (simplex, box, L1 ball, nuclear-norm ball) it minimises
``0.5 ‖A x - b‖²`` with open-loop steps ``2/(k+2)`` and fits the log-log slope of the
smallest gap so far against ``k`` over the second half of a log-spaced range of
iterations (Jaggi 2013, Theorem 2: ``O(1/k)``, slope ``-1`` or steeper). Then it runs
the away-step variant with line search on the simplex and the box and compares its
solution with scipy (SLSQP for the simplex, ``lsq_linear`` with BVLS for the box).
Writes ``summary.json``, ``results.md`` and ``gaps.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

from metahpo.metalearn import BoxLMO, L1BallLMO, NuclearNormBallLMO, SimplexLMO, frank_wolfe
from metahpo_bench.options import out_directory


def _problem(
    rows: int, shape: tuple[int, ...], seed: int, scale: float, shift: float
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    size = int(np.prod(shape))
    matrix = torch.randn(rows, size, generator=generator, dtype=torch.float64)
    truth = scale * (torch.rand(size, generator=generator, dtype=torch.float64) - shift)
    target = matrix @ truth + 0.1 * torch.randn(rows, generator=generator, dtype=torch.float64)
    return matrix, target


def _slope(gaps: np.ndarray) -> float:
    best = np.minimum.accumulate(gaps)
    k = np.arange(1, len(best))
    keep = k >= len(best) // 20
    return float(np.polyfit(np.log(k[keep]), np.log(best[1:][keep]), 1)[0])


def _reference_simplex(matrix: np.ndarray, target: np.ndarray) -> np.ndarray:
    d = matrix.shape[1]
    result = scipy.optimize.minimize(
        lambda x: 0.5 * np.sum((matrix @ x - target) ** 2),
        np.full(d, 1.0 / d),
        jac=lambda x: matrix.T @ (matrix @ x - target),
        method="SLSQP",
        bounds=[(0.0, None)] * d,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones(d)}],
        options={"ftol": 1e-16, "maxiter": 2000},
    )
    return _refine_on_support(matrix, target, np.asarray(result.x))


def _refine_on_support(
    matrix: np.ndarray, target: np.ndarray, approximate: np.ndarray
) -> np.ndarray:
    # SLSQP stops about 1e-5 from the solution at d = 50; on the support it finds, the
    # solution solves the equality-constrained KKT system exactly. The checks below make
    # sure that support is the right one (primal and dual feasibility).
    support = approximate > 1e-8
    k = int(support.sum())
    gram = matrix[:, support].T @ matrix[:, support]
    system = np.block([[gram, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    solution = scipy.linalg.solve(system, np.concatenate([matrix[:, support].T @ target, [1.0]]))
    exact = np.zeros(matrix.shape[1])
    exact[support] = solution[:k]
    gradient = matrix.T @ (matrix @ exact - target)
    if exact[support].min() <= 0 or (gradient[~support] + solution[k]).min() < -1e-9:
        raise RuntimeError("The SLSQP support does not satisfy the KKT conditions.")
    return exact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems, for the tests")
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    d = 20 if args.quick else 50
    open_loop_iterations = 2000 if args.quick else 20000
    away_iterations = 3000 if args.quick else 20000
    command = (
        "python benchmarks/frank_wolfe.py"
        + (" --quick" if args.quick else "")
        + f" --out {args.out}"
    )

    problems = {
        "simplex": (SimplexLMO(1.0), (d,), 1.0, 0.3),
        "box [-1, 1]": (BoxLMO(-1.0, 1.0), (d,), 4.0, 0.5),
        "L1 ball (radius 2)": (L1BallLMO(2.0), (d,), 2.0, 0.5),
        "nuclear-norm ball (radius 3)": (
            NuclearNormBallLMO(3.0),
            (6, 6) if args.quick else (10, 10),
            2.0,
            0.5,
        ),
    }
    rows: list[dict[str, object]] = []
    curves: dict[str, np.ndarray] = {}
    for index, (name, (lmo, shape, scale, shift)) in enumerate(problems.items()):
        matrix, target = _problem(3 * int(np.prod(shape)), shape, index, scale, shift)

        def objective(
            x: torch.Tensor, matrix: torch.Tensor = matrix, target: torch.Tensor = target
        ) -> torch.Tensor:
            return 0.5 * ((matrix @ x.flatten() - target) ** 2).sum()

        x0 = lmo(torch.zeros(shape, dtype=torch.float64))
        start = time.perf_counter()
        result = frank_wolfe(
            objective, lmo, x0, step_rule="open_loop", max_iter=open_loop_iterations, tol=0.0
        )
        seconds = time.perf_counter() - start
        gaps = result.gaps.numpy()
        curves[name] = gaps
        rows.append(
            {
                "set": name,
                "iterations": result.n_iterations,
                "final_gap": float(gaps[-1]),
                "best_gap": float(gaps.min()),
                "gap_slope": _slope(gaps),
                "seconds": seconds,
            }
        )

    errors: dict[str, float] = {}
    accuracy_rows: list[dict[str, object]] = []
    for index, name in enumerate(["simplex", "box [-1, 1]"]):
        lmo, shape, scale, shift = problems[name]
        matrix, target = _problem(3 * d, shape, index, scale, shift)
        if name == "simplex":
            reference = _reference_simplex(matrix.numpy(), target.numpy())
            solver = "SLSQP support, then the KKT system (scipy.linalg.solve)"
        else:
            reference = scipy.optimize.lsq_linear(
                matrix.numpy(), target.numpy(), bounds=(-1.0, 1.0), method="bvls", tol=1e-14
            ).x
            solver = "scipy.optimize.lsq_linear (BVLS)"

        def objective(
            x: torch.Tensor, matrix: torch.Tensor = matrix, target: torch.Tensor = target
        ) -> torch.Tensor:
            return 0.5 * ((matrix @ x - target) ** 2).sum()

        start = time.perf_counter()
        result = frank_wolfe(
            objective,
            lmo,
            lmo(torch.zeros(shape, dtype=torch.float64)),
            step_rule="line_search",
            away_steps=True,
            max_iter=away_iterations,
            tol=1e-13,
        )
        seconds = time.perf_counter() - start
        error = float(np.abs(result.x.numpy() - reference).max())
        errors[name] = error
        accuracy_rows.append(
            {
                "set": name,
                "reference": solver,
                "iterations": result.n_iterations,
                "gap": result.gap,
                "max_abs_error": error,
                "seconds": seconds,
            }
        )

    summary = {
        "gap_slope": max(float(row["gap_slope"]) for row in rows),  # the worst (least steep) set
        "gap_slopes": {str(row["set"]): row["gap_slope"] for row in rows},
        "max_abs_error": max(errors.values()),
        "max_abs_errors": errors,
        "quick": args.quick,
        "command": command,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Frank–Wolfe on constrained least squares",
        "",
        f"Made with `{command}` (torch {torch.__version__}, CPU, one thread).",
        "",
        "Open-loop steps 2/(k+2); slope of log(smallest gap so far) against log k over the last 95% of iterations.",
        "",
        "| set | iterations | final gap | smallest gap | log-log slope | seconds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['set']} | {r['iterations']} | {r['final_gap']:.3e} | {r['best_gap']:.3e} | {r['gap_slope']:.3f} | {r['seconds']:.1f} |"
        for r in rows
    ]
    lines += [
        "",
        "Away steps with backtracking line search, against a reference solver:",
        "",
        "| set | reference | iterations | final gap | max abs error | seconds |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['set']} | {r['reference']} | {r['iterations']} | {r['gap']:.2e} | {r['max_abs_error']:.2e} | {r['seconds']:.1f} |"
        for r in accuracy_rows
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for name, gaps in curves.items():
        k = np.arange(1, len(gaps))
        axis.loglog(k, np.minimum.accumulate(gaps)[1:], label=name)
    k = np.arange(1, open_loop_iterations + 1)
    axis.loglog(k, curves["simplex"][1] / k, "k--", label="1/k")
    axis.set_xlabel("iteration k")
    axis.set_ylabel("smallest Frank–Wolfe gap so far")
    axis.legend()
    figure.tight_layout()
    figure.savefig(args.out / "gaps.png", dpi=120)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
