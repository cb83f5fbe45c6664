"""MAML for RL on 2-D point navigation (Finn et al., 2017, section 5.3 and figure 5), reproduced.

python benchmarks/maml_rl_navigation.py --out benchmarks/results/maml_rl_navigation
python benchmarks/maml_rl_navigation.py --quick --out /tmp/maml_rl_quick

A point starts at the origin and moves by velocities clipped to [-0.1, 0.1] per
coordinate for 100 steps; the reward is minus the distance to the goal, drawn uniformly
from [-0.5, 0.5]². The policy is a Gaussian MLP (2 hidden layers of 100 ReLU units, a
learned state-independent log-std). The inner step is REINFORCE with a linear feature
baseline on 20 trajectories; the outer update is Adam on the MAML policy-gradient
objective through the adapted policy. Three initialisations are fine-tuned with the same
inner step on new goals: MAML's, a policy pretrained with policy gradient on goals from
the distribution, and the random initialisation MAML started from. The baselines'
fine-tuning step size is the best of a grid on validation goals. Writes ``summary.json``,
``README.md``, ``returns.png`` and the trained parameters under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metahpo.metalearn import (
    GaussianMLPPolicy,
    Params,
    PointNavigation,
    clone_params,
    fine_tune_returns,
    maml_loss,
    reinforce_loss,
    sample_maml_rl_tasks,
    save_checkpoint,
)
from metahpo_bench.options import out_directory

METHODS = ("maml", "pretrained", "random")
STEPS = 3


@dataclass(frozen=True)
class Settings:
    """Everything that changes the result."""

    meta_iterations: int = 250
    meta_batch: int = 20
    n_trajectories: int = 20
    horizon: int = 100
    inner_lr: float = 0.1
    outer_lr: float = 3e-3
    first_order: bool = False
    # The pretrained policy sees as many episodes as MAML (which samples twice per task).
    pretrain_iterations: int = 500
    validation_goals: int = 40
    test_goals: int = 100
    lr_grid: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0)
    seed: int = 0
    # Evaluations on the validation goals along each training run, for the learning curves.
    training_curve_points: int = 11


FULL = Settings()
QUICK = Settings(
    meta_iterations=20,
    meta_batch=10,
    pretrain_iterations=40,
    validation_goals=10,
    test_goals=20,
    lr_grid=(0.02, 0.1, 0.5, 2.0),
    training_curve_points=5,
)


def _policy(env: PointNavigation) -> GaussianMLPPolicy:
    return GaussianMLPPolicy(2, 2, (100, 100), action_scale=env.max_action)


def _train(
    policy: GaussianMLPPolicy,
    start: Params,
    env: PointNavigation,
    settings: Settings,
    *,
    adaptive: bool,
    generator: torch.Generator,
    validation: torch.Tensor,
) -> tuple[Params, list[dict[str, float]]]:
    """MAML (``adaptive``) or multi-task policy gradient from ``start``; a learning curve."""
    params = clone_params(start)
    optimizer = torch.optim.Adam(params.values(), lr=settings.outer_lr)
    iterations = settings.meta_iterations if adaptive else settings.pretrain_iterations
    inner_steps = 1 if adaptive else 0
    checkpoints = set(
        np.linspace(0, iterations, settings.training_curve_points).astype(int).tolist()
    )
    curve: list[dict[str, float]] = []
    for iteration in range(iterations + 1):
        if iteration in checkpoints:
            returns = fine_tune_returns(
                policy,
                params,
                env,
                validation,
                steps=1,
                inner_lr=settings.inner_lr,
                n_trajectories=settings.n_trajectories,
                generator=torch.Generator().manual_seed(settings.seed + iteration),
            ).mean(dim=1)
            curve.append(
                {"iteration": iteration, "before": float(returns[0]), "after": float(returns[1])}
            )
        if iteration == iterations:
            break
        tasks = sample_maml_rl_tasks(
            policy,
            params,
            env,
            env.sample_goals(settings.meta_batch, generator),
            n_trajectories=settings.n_trajectories,
            inner_steps=inner_steps,
            inner_lr=settings.inner_lr,
            generator=generator,
        )
        optimizer.zero_grad()
        maml_loss(
            policy,
            params,
            tasks,
            reinforce_loss,
            inner_steps=inner_steps,
            inner_lr=settings.inner_lr,
            first_order=settings.first_order,
        ).backward()
        optimizer.step()
    return {name: value.detach() for name, value in params.items()}, curve


def _returns(
    policy: GaussianMLPPolicy,
    params: Params,
    env: PointNavigation,
    goals: torch.Tensor,
    settings: Settings,
    lr: float,
    seed: int,
) -> torch.Tensor:
    return fine_tune_returns(
        policy,
        params,
        env,
        goals,
        steps=STEPS,
        inner_lr=lr,
        n_trajectories=settings.n_trajectories,
        generator=torch.Generator().manual_seed(seed),
    )


def _ci95(values: torch.Tensor) -> float:
    return float(1.96 * values.std() / math.sqrt(values.numel()))


def run(settings: Settings, out: Path, command: str) -> dict[str, object]:
    """Train, select the baselines' step sizes, evaluate; write the outputs into ``out``."""
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    start_time = time.perf_counter()
    env = PointNavigation(horizon=settings.horizon)
    init_seed, train_seed, pretrain_seed, eval_seed = np.random.SeedSequence(
        settings.seed
    ).generate_state(4)
    torch.manual_seed(int(init_seed))
    policy = _policy(env)
    initial = clone_params(policy, requires_grad=False)
    validation = env.sample_goals(settings.validation_goals, torch.Generator().manual_seed(1001))
    test = env.sample_goals(settings.test_goals, torch.Generator().manual_seed(2002))

    trained: dict[str, Params] = {"random": initial}
    curves: dict[str, list[dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    for method, adaptive, seed in (
        ("maml", True, train_seed),
        ("pretrained", False, pretrain_seed),
    ):
        tic = time.perf_counter()
        trained[method], curves[method] = _train(
            policy,
            initial,
            env,
            settings,
            adaptive=adaptive,
            generator=torch.Generator().manual_seed(int(seed)),
            validation=validation,
        )
        seconds[method] = time.perf_counter() - tic
        save_checkpoint(out / f"{method}.safetensors", trained[method], metadata={"method": method})

    # The baselines' step size: the best of the grid by the mean return over steps 1..3
    # on validation goals (never the test goals). MAML keeps its training step size; the
    # step the same rule would give it is reported beside.
    grid: dict[str, dict[str, list[float]]] = {}
    selected: dict[str, float] = {}
    for method in METHODS:
        grid[method] = {
            str(lr): _returns(
                policy, trained[method], env, validation, settings, lr, int(eval_seed)
            )
            .mean(dim=1)
            .tolist()
            for lr in settings.lr_grid
        }
        scores = {lr: float(np.mean(grid[method][str(lr)][1:])) for lr in settings.lr_grid}
        selected[method] = max(scores, key=scores.__getitem__)
    lrs = {
        "maml": settings.inner_lr,
        "pretrained": selected["pretrained"],
        "random": selected["random"],
    }

    # Every step size of the grid on the test goals, with the same goals and noise seed
    # for every method (so differences are paired). Only the validation choice above and
    # MAML's training step are headline numbers; the rest is reported as a bound.
    test_runs = {
        method: {
            lr: _returns(policy, trained[method], env, test, settings, lr, int(eval_seed) + 1)
            for lr in settings.lr_grid
        }
        for method in METHODS
    }
    per_goal = {method: test_runs[method][lrs[method]] for method in ("pretrained", "random")}
    # MAML's training step is normally on the grid: that run is the one wanted (same goals,
    # same noise), so it is not run again.
    per_goal["maml"] = (
        test_runs["maml"][settings.inner_lr]
        if settings.inner_lr in test_runs["maml"]
        else _returns(
            policy, trained["maml"], env, test, settings, settings.inner_lr, int(eval_seed) + 1
        )
    )
    maml_same_rule = test_runs["maml"][selected["maml"]]
    returns = {method: per_goal[method].mean(dim=1).tolist() for method in METHODS}
    ci95 = {method: [_ci95(row) for row in per_goal[method]] for method in METHODS}
    runner_up = max(("pretrained", "random"), key=lambda method: returns[method][1])
    lead = per_goal["maml"][1] - per_goal[runner_up][1]
    best_method, best_lr = max(
        ((method, lr) for method in ("pretrained", "random") for lr in settings.lr_grid),
        key=lambda pair: float(test_runs[pair[0]][pair[1]][1].mean()),
    )
    lead_over_best = per_goal["maml"][1] - test_runs[best_method][best_lr][1]
    test_grid = {
        method: {str(lr): values.mean(dim=1).tolist() for lr, values in rows.items()}
        for method, rows in test_runs.items()
    }
    summary: dict[str, object] = {
        "returns": returns,
        "ci95": ci95,
        "maml_ahead_after_one_step": bool(float(lead.mean()) - _ci95(lead) > 0),
        "maml_lead_after_one_step": {
            "over": runner_up,
            "mean": float(lead.mean()),
            "ci95": _ci95(lead),
        },
        "maml_ahead_of_every_grid_lr_on_test_after_one_step": bool(
            float(lead_over_best.mean()) - _ci95(lead_over_best) > 0
        ),
        "maml_lead_over_best_of_test_grid_after_one_step": {
            "over": f"{best_method}, step {best_lr}",
            "mean": float(lead_over_best.mean()),
            "ci95": _ci95(lead_over_best),
        },
        "maml_same_rule": {
            "lr": selected["maml"],
            "returns": maml_same_rule.mean(dim=1).tolist(),
            "ci95": [_ci95(row) for row in maml_same_rule],
        },
        "best_of_test_grid": {
            method: [max(values[k] for values in rows.values()) for k in range(STEPS + 1)]
            for method, rows in test_grid.items()
        },
        "fine_tune_lr": lrs,
        "validation_grid": grid,
        "test_grid": test_grid,
        "training_curves": curves,
        "training_seconds": seconds,
        "seconds": time.perf_counter() - start_time,
        "settings": asdict(settings),
        "quick": settings == QUICK,
        "command": command,
        "torch": torch.__version__,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _write_readme(out / "README.md", summary, settings)
    _plot(out / "returns.png", summary, settings)
    return summary


def _write_readme(path: Path, summary: dict[str, object], settings: Settings) -> None:
    returns: dict[str, list[float]] = summary["returns"]  # type: ignore[assignment]
    ci95: dict[str, list[float]] = summary["ci95"]  # type: ignore[assignment]
    lrs: dict[str, float] = summary["fine_tune_lr"]  # type: ignore[assignment]
    lead: dict[str, float | str] = summary["maml_lead_after_one_step"]  # type: ignore[assignment]
    test_grid: dict[str, dict[str, list[float]]] = summary["test_grid"]  # type: ignore[assignment]
    best: dict[str, list[float]] = summary["best_of_test_grid"]  # type: ignore[assignment]
    lines = [
        "# MAML for RL: 2-D point navigation",
        "",
        f"Made with `{summary['command']}` (torch {torch.__version__}, CPU, one thread, "
        f"{summary['seconds']:.0f} s).",
        "",
        f"{settings.meta_iterations} meta-iterations of MAML "
        f"({'first' if settings.first_order else 'second'}-order, meta-batch "
        f"{settings.meta_batch} goals, {settings.n_trajectories} trajectories per step, inner "
        f"step {settings.inner_lr}, Adam {settings.outer_lr}); the pretrained policy had "
        f"{settings.pretrain_iterations} iterations of multi-task policy gradient on as many "
        "episodes; the random initialisation is the one both started from. Average return "
        f"(sum of −distance over {settings.horizon} steps) on {settings.test_goals} new goals "
        "after k fine-tuning steps, ± 95% confidence interval over goals. MAML fine-tunes "
        "with its training step; each baseline with the step of the grid that has the best "
        f"mean return over steps 1–3 on {settings.validation_goals} validation goals:",
        "",
        "| method | fine-tuning step | 0 steps | 1 step | 2 steps | 3 steps |",
        "|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        cells = " | ".join(
            f"{value:.1f} ± {error:.1f}"
            for value, error in zip(returns[method], ci95[method], strict=True)
        )
        lines.append(f"| {method} | {lrs[method]} | {cells} |")
    same: dict[str, Any] = summary["maml_same_rule"]  # type: ignore[assignment]
    cells = " | ".join(
        f"{value:.1f} ± {error:.1f}"
        for value, error in zip(same["returns"], same["ci95"], strict=True)
    )
    lines.append(f"| maml, step chosen by the baselines' rule | {same['lr']} | {cells} |")
    lines += [
        "",
        f"After one step MAML leads {lead['over']} by {float(lead['mean']):.1f} ± "
        f"{float(lead['ci95']):.1f} (paired over goals); clearly ahead (the interval "
        f"excludes 0): **{summary['maml_ahead_after_one_step']}**.",
        "",
        "Every step size of the grid on the test goals (reported, not used to choose):",
        "",
        "| method | step size | 0 | 1 | 2 | 3 |",
        "|---|---|---|---|---|---|",
    ]
    for method, rows in test_grid.items():
        for lr, values in rows.items():
            lines.append(f"| {method} | {lr} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    lines += ["", "The best of the grid at each step, chosen on the test goals themselves:", ""]
    lines += ["| method | 0 | 1 | 2 | 3 |", "|---|---|---|---|---|"]
    for method, values in best.items():
        lines.append(f"| {method} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    lead_key = "maml_lead_over_best_of_test_grid_after_one_step"
    best_lead: dict[str, Any] = summary[lead_key]  # type: ignore[assignment]
    lines += [
        "",
        f"After one step, MAML at its training step against the best baseline step of the grid "
        f"on the test goals ({best_lead['over']}): lead {best_lead['mean']:.1f} ± "
        f"{best_lead['ci95']:.1f} (paired); clearly ahead: "
        f"**{summary['maml_ahead_of_every_grid_lr_on_test_after_one_step']}**.",
    ]
    path.write_text("\n".join(lines) + "\n")


def _plot(path: Path, summary: dict[str, Any], settings: Settings) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"maml": "C0", "pretrained": "C1", "random": "C2"}
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    steps = np.arange(STEPS + 1)
    for method in METHODS:
        left.errorbar(
            steps,
            summary["returns"][method],
            yerr=summary["ci95"][method],
            marker="o",
            capsize=3,
            color=colours[method],
            label=f"{method} (step {summary['fine_tune_lr'][method]})",
        )
    same = summary["maml_same_rule"]
    if same["lr"] != settings.inner_lr:
        left.errorbar(
            steps,
            same["returns"],
            yerr=same["ci95"],
            marker="o",
            capsize=3,
            color=colours["maml"],
            linestyle="--",
            label=f"maml (step {same['lr']}, the baselines' rule)",
        )
    left.set_xticks(steps)
    left.set_xlabel("number of gradient steps")
    left.set_ylabel("average return")
    left.set_title("Fine-tuning on new goals")
    left.legend()
    for method, curve in summary["training_curves"].items():
        # Episodes, not iterations: a MAML iteration samples before and after adaptation.
        per_iteration = (
            settings.meta_batch * settings.n_trajectories * (2 if method == "maml" else 1)
        )
        episodes = [point["iteration"] * per_iteration / 1000 for point in curve]
        right.plot(
            episodes,
            [p["before"] for p in curve],
            "--",
            color=colours[method],
            label=f"{method}, 0 steps",
        )
        right.plot(
            episodes,
            [p["after"] for p in curve],
            color=colours[method],
            label=f"{method}, 1 step of {settings.inner_lr}",
        )
    right.set_xlabel("training episodes (thousands)")
    right.set_ylabel("average return (validation goals)")
    right.set_title("Training")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run, for the tests")
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args(argv)
    command = (
        "python benchmarks/maml_rl_navigation.py"
        + (" --quick" if args.quick else "")
        + f" --out {args.out}"
    )
    summary = run(QUICK if args.quick else FULL, args.out, command)
    print(
        json.dumps({key: summary[key] for key in ("returns", "fine_tune_lr", "seconds")}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
