"""Learning to learn by gradient descent by gradient descent: the LSTM optimizer against tuned baselines.

python benchmarks/l2l_quadratic.py --out benchmarks/results/l2l_quadratic
python benchmarks/l2l_quadratic.py --quick --out /tmp/l2l_quadratic_quick

Reproduces Andrychowicz et al. (2016), Figure 2 (left) and the spirit of its MNIST
experiment, on a CPU:

1. Quadratics ``‖Wθ − y‖²`` in 10 dimensions, ``W``, ``y``, ``θ₀`` standard normal. The
   coordinatewise two-layer LSTM (20 hidden units, the paper's preprocessing, output
   scaled by 0.1) is meta-trained with Adam by truncated BPTT (unrolls of 20 steps over
   trajectories of 100) on freshly drawn training quadratics. SGD, Adam, RMSprop and
   Nesterov momentum (0.9) each get the learning rate of a log grid with the smallest
   mean loss after 100 steps on a separate draw of training quadratics. Every method then
   runs 100 steps on held-out quadratics (another seed); the mean loss curves are plotted.
2. A sigmoid MLP (64-20-10) on scikit-learn's ``load_digits``, minibatches of 128: the LSTM
   is meta-trained on random initialisations of it, the baselines are tuned on other
   initialisations, and every method trains fresh initialisations for 100 steps through
   ``torch.optim`` (the LSTM as ``LearnedTorchOptimizer``). The final full-batch training
   cross-entropy is reported.

Writes ``summary.json``, ``README.md`` and ``l2l_quadratic.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from metahpo.metalearn import (
    LearnedOptimizer,
    LearnedTorchOptimizer,
    OptimizeeBatch,
    learned_optimizer_run,
    random_quadratics,
    train_learned_optimizer,
)
from metahpo_bench.l2l_digits import digits, mean_curve, mean_final_loss, mlp_problems
from metahpo_bench.options import out_directory

STEPS = 100
LSTM = "LSTM (learned)"
OptimizerFactory = Callable[[Iterable[Tensor], float], torch.optim.Optimizer]
BASELINES: dict[str, OptimizerFactory] = {
    "SGD": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "Adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "RMSprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "NAG": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
}
LEARNING_RATES = [10 ** (k / 4) for k in range(-20, 5)]  # 1e-5 to 10, four per decade
MLP_LEARNING_RATES = LEARNING_RATES[8:]  # 1e-3 to 10: smaller rates barely move the MLP


@dataclass(frozen=True)
class Settings:
    quadratic_meta_iterations: int
    quadratic_batch: int
    tuning_quadratics: int
    held_out_quadratics: int
    mlp_meta_iterations: int
    mlp_batch: int
    mlp_tuning_inits: int
    mlp_test_inits: int
    meta_lr: float


FULL = Settings(
    quadratic_meta_iterations=500,
    quadratic_batch=128,
    tuning_quadratics=2048,
    held_out_quadratics=2048,
    mlp_meta_iterations=100,
    mlp_batch=2,
    mlp_tuning_inits=3,
    mlp_test_inits=10,
    meta_lr=3e-3,
)
QUICK = Settings(
    quadratic_meta_iterations=70,
    quadratic_batch=32,
    tuning_quadratics=256,
    held_out_quadratics=256,
    mlp_meta_iterations=5,
    mlp_batch=1,
    mlp_tuning_inits=1,
    mlp_test_inits=2,
    meta_lr=3e-3,
)


# Quadratics ------------------------------------------------------------------------------


def _baseline_losses(method: str, lr: float, batch: OptimizeeBatch) -> Tensor:
    """Each problem's loss after 0..STEPS steps, shape ``(STEPS + 1, n)``. The problems run
    side by side on one tensor with the summed loss: these optimizers update each coordinate
    from its own gradient history only, so this is exactly each problem run alone."""
    x = batch.x0.clone().requires_grad_(True)
    optimizer = BASELINES[method]([x], lr)
    losses = []
    for step in range(STEPS + 1):
        loss = batch.loss_fn(x)
        losses.append(loss.detach())
        if step == STEPS:
            break
        optimizer.zero_grad()
        loss.sum().backward()
        optimizer.step()
    return torch.stack(losses)


def _finite_or_inf(value: float) -> float:
    return value if math.isfinite(value) else math.inf


def _tune(
    evaluate: Callable[[float], float], grid: list[float]
) -> tuple[float, dict[float, float]]:
    scores = {lr: _finite_or_inf(evaluate(lr)) for lr in grid}
    return min(scores, key=scores.__getitem__), scores


def _quadratics(settings: Settings) -> dict[str, object]:
    tuning = random_quadratics(
        settings.tuning_quadratics, generator=torch.Generator().manual_seed(1)
    )
    held_out = random_quadratics(
        settings.held_out_quadratics, generator=torch.Generator().manual_seed(2)
    )
    learning_rates, tuning_scores, losses, oracle = {}, {}, {}, {}
    for method in BASELINES:

        def mean_final(lr: float, method: str = method, batch: OptimizeeBatch = tuning) -> float:
            return float(_baseline_losses(method, lr, batch)[-1].mean())

        best, scores = _tune(mean_final, LEARNING_RATES)
        learning_rates[method] = best
        tuning_scores[method] = {
            f"{lr:.3g}": (v if math.isfinite(v) else None) for lr, v in scores.items()
        }
        losses[method] = _baseline_losses(method, best, held_out)
        # A reference the baselines cannot have in practice: the learning rate tuned on
        # the held-out quadratics themselves.
        best_held_out, scores = _tune(
            partial(mean_final, method=method, batch=held_out), LEARNING_RATES
        )
        oracle[method] = {"learning_rate": best_held_out, "final_loss": scores[best_held_out]}

    torch.manual_seed(0)
    optimizer = LearnedOptimizer()
    initial = {name: value.detach() for name, value in optimizer.named_parameters()}
    start = time.perf_counter()
    training = train_learned_optimizer(
        optimizer,
        initial,
        lambda generator: random_quadratics(settings.quadratic_batch, generator=generator),
        meta_iterations=settings.quadratic_meta_iterations,
        horizon=STEPS,
        unroll=20,
        lr=settings.meta_lr,
        seed=0,
    )
    seconds = time.perf_counter() - start
    losses[LSTM] = learned_optimizer_run(
        optimizer, training.params, held_out.loss_fn, held_out.x0, STEPS
    ).losses
    untrained = learned_optimizer_run(optimizer, initial, held_out.loss_fn, held_out.x0, STEPS)
    return {
        "curves": {method: value.mean(dim=1) for method, value in losses.items()},
        "median_final_loss": {
            method: float(value[-1].median()) for method, value in losses.items()
        },
        "learning_rates": learning_rates,
        "tuning_scores": tuning_scores,
        "held_out_tuned": oracle,
        "meta_losses": training.meta_losses,
        "untrained_final": float(untrained.losses[-1].mean()),
        "seconds": seconds,
    }


# The MLP on digits ---------------------------------------------------------------------


def _mlp_experiment(settings: Settings) -> dict[str, object]:
    inputs, targets = digits()
    tuning_seeds = range(1000, 1000 + settings.mlp_tuning_inits)
    test_seeds = range(2000, 2000 + settings.mlp_test_inits)
    learning_rates, curves = {}, {}

    def curve(make: OptimizerFactory, lr: float, seeds: range) -> Tensor:
        return mean_curve(
            lambda network: make(network.parameters(), lr), inputs, targets, seeds, STEPS
        )

    for method, make in BASELINES.items():

        def final_loss(lr: float, make: OptimizerFactory = make) -> float:
            return mean_final_loss(
                lambda network: make(network.parameters(), lr), inputs, targets, tuning_seeds, STEPS
            )

        learning_rates[method], _ = _tune(final_loss, MLP_LEARNING_RATES)
        curves[method] = curve(make, learning_rates[method], test_seeds)

    torch.manual_seed(0)
    optimizer = LearnedOptimizer()
    initial = {name: value.detach() for name, value in optimizer.named_parameters()}
    start = time.perf_counter()
    training = train_learned_optimizer(
        optimizer,
        initial,
        lambda generator: mlp_problems(inputs, targets, settings.mlp_batch, generator),
        meta_iterations=settings.mlp_meta_iterations,
        horizon=STEPS,
        unroll=20,
        lr=settings.meta_lr,
        seed=0,
    )
    seconds = time.perf_counter() - start
    curves[LSTM] = mean_curve(
        lambda network: LearnedTorchOptimizer(network.parameters(), optimizer, training.params),
        inputs,
        targets,
        test_seeds,
        STEPS,
    )
    return {"curves": curves, "learning_rates": learning_rates, "seconds": seconds}


# Report ----------------------------------------------------------------------------------


def _comparison(curves: dict[str, Tensor]) -> dict[str, object]:
    final = {method: float(curve[-1]) for method, curve in curves.items()}
    best_baseline = min(final[method] for method in BASELINES)
    every_baseline = torch.stack([curves[method] for method in BASELINES]).min(dim=0).values
    below = (curves[LSTM][1:] < every_baseline[1:]).float().mean()
    return {
        "final_loss": final,
        "beats_every_baseline": final[LSTM] < best_baseline,
        "ratio_to_best_baseline": final[LSTM] / best_baseline,
        "fraction_of_steps_below_every_baseline": float(below),
    }


def _table(columns: dict[str, dict[str, str]], order: dict[str, float]) -> list[str]:
    """A Markdown table, one row per method (sorted by ``order``), one column per entry."""
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for method in sorted(order, key=order.__getitem__):
        cells = [column.get(method, "") for column in columns.values()]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def _rates(learning_rates: dict[str, float]) -> dict[str, str]:
    return {LSTM: "learned", **{method: f"{lr:.3g}" for method, lr in learning_rates.items()}}


def _numbers(values: dict[str, float]) -> dict[str, str]:
    return {method: f"{value:.4g}" for method, value in values.items()}


def _plot(path: Path, quadratic: dict[str, Tensor], mlp: dict[str, Tensor]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, curves, title in (
        (axes[0], quadratic, "10-d quadratics (held out), mean loss"),
        (axes[1], mlp, "MLP on digits, mean full-batch training loss"),
    ):
        for method, curve in curves.items():
            style = {"color": "black", "linewidth": 2.2} if method == LSTM else {"linewidth": 1.2}
            axis.semilogy(np.arange(len(curve)), curve.numpy(), label=method, **style)
        finite = torch.cat([curve[torch.isfinite(curve)] for curve in curves.values()])
        # A baseline that diverges on a few problems would squeeze the others into the
        # bottom of the axis; the tables give its numbers.
        axis.set_ylim(0.5 * float(finite.min()), 3.0 * float(curves[LSTM][0]))
        axis.set_xlabel("step")
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short meta-training, for the tests")
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    command = (
        "python benchmarks/l2l_quadratic.py"
        + (" --quick" if args.quick else "")
        + f" --out {args.out}"
    )
    start = time.perf_counter()

    quadratic = _quadratics(settings)
    mlp = _mlp_experiment(settings)
    curves, mlp_curves = quadratic["curves"], mlp["curves"]
    rates, mlp_rates = quadratic["learning_rates"], mlp["learning_rates"]
    medians, oracle = quadratic["median_final_loss"], quadratic["held_out_tuned"]
    meta_losses = quadratic["meta_losses"]
    assert isinstance(curves, dict) and isinstance(mlp_curves, dict)
    assert isinstance(rates, dict) and isinstance(mlp_rates, dict)
    assert isinstance(medians, dict) and isinstance(oracle, dict)
    assert isinstance(meta_losses, Tensor)
    comparison, mlp_comparison = _comparison(curves), _comparison(mlp_curves)
    summary = {
        **comparison,
        "median_final_loss": medians,
        "learning_rates": rates,
        "held_out_tuned_baselines": oracle,
        "tuning_mean_final_loss": quadratic["tuning_scores"],
        "untrained_lstm_final_loss": quadratic["untrained_final"],
        "meta_loss_first_last_50": [
            float(meta_losses[:50].mean()),
            float(meta_losses[-50:].mean()),
        ],
        "mlp": {**mlp_comparison, "learning_rates": mlp_rates},
        "meta_training_seconds": {"quadratic": quadratic["seconds"], "mlp": mlp["seconds"]},
        "seconds": time.perf_counter() - start,
        "settings": asdict(settings),
        "quick": args.quick,
        "command": command,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    final, mlp_final = comparison["final_loss"], mlp_comparison["final_loss"]
    assert isinstance(final, dict) and isinstance(mlp_final, dict)
    below = float(comparison["fraction_of_steps_below_every_baseline"])  # type: ignore[arg-type]
    lines = [
        "# Learning to learn by gradient descent by gradient descent",
        "",
        "Made with",
        "",
        f"    {command}",
        "",
        f"(torch {torch.__version__}, CPU, one thread, {summary['seconds']:.0f} s in all.)",
        "",
        f"## 10-dimensional quadratics: loss after {STEPS} steps on "
        f"{settings.held_out_quadratics} held-out quadratics",
        "",
        f"The LSTM was meta-trained on {settings.quadratic_meta_iterations} batches of "
        f"{settings.quadratic_batch} fresh quadratics ({quadratic['seconds']:.0f} s); each "
        "baseline's learning rate is the one of a log grid (1e-5 to 10, four per decade) with "
        f"the smallest mean loss after {STEPS} steps on {settings.tuning_quadratics} other "
        "training quadratics. The last column is a reference no optimizer gets in practice: "
        "the rate tuned on the held-out quadratics themselves. The untrained LSTM ends at "
        f"{summary['untrained_lstm_final_loss']:.4g}.",
        "",
        *_table(
            {
                "learning rate": _rates(rates),
                "mean final loss": _numbers(final),
                "median final loss": _numbers(medians),
                "mean final loss, rate tuned on held-out": _numbers(
                    {method: entry["final_loss"] for method, entry in oracle.items()}
                ),
            },
            final,
        ),
        "",
        "Learned optimizer below every tuned baseline at the last step: "
        f"**{comparison['beats_every_baseline']}** (ratio to the best baseline "
        f"{comparison['ratio_to_best_baseline']:.3f}); its mean curve is below every "
        f"baseline's at {100 * below:.0f}% of the steps 1–{STEPS}.",
        "",
        f"## MLP 64-20-10 (sigmoid) on digits: full-batch training loss after {STEPS} steps",
        "",
        f"The LSTM was meta-trained on {settings.mlp_meta_iterations} batches of {settings.mlp_batch} random "
        f"initialisations ({mlp['seconds']:.0f} s); each baseline's learning rate is the best "
        f"of a log grid (1e-3 to 10, four per decade) on {settings.mlp_tuning_inits} other "
        f"initialisations; mean over {settings.mlp_test_inits} fresh initialisations, "
        "minibatches of 128.",
        "",
        *_table(
            {"learning rate": _rates(mlp_rates), "mean final loss": _numbers(mlp_final)},
            mlp_final,
        ),
        "",
        "Learned optimizer below every tuned baseline at the last step: "
        f"**{mlp_comparison['beats_every_baseline']}** (ratio to the best baseline "
        f"{mlp_comparison['ratio_to_best_baseline']:.3f}).",
        "",
        "![mean loss curves](l2l_quadratic.png)",
    ]
    (args.out / "README.md").write_text("\n".join(lines) + "\n")
    _plot(args.out / "l2l_quadratic.png", curves, mlp_curves)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
