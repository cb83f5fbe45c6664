"""MAML's sinusoid regression (Finn, Abbeel and Levine, 2017, section 5.1), reproduced.

Tasks are ``y = A sin(x − φ)`` with amplitude ``A ~ U[0.1, 5]``, phase ``φ ~ U[0, π]`` and
inputs ``x ~ U[−5, 5]``; each task gives ``K = 10`` support points. A 2×40 ReLU network is
meta-trained with a meta-batch of 25 tasks, inner learning rate 0.01 and Adam (1e-3) as
meta-optimizer, one inner step in training. Four initialisations are compared: MAML
(second-order), first-order MAML, Reptile, and a network pretrained on all tasks jointly.
Each is tested on 600 new tasks: the mean squared error on 100 query points after 0 to 10
gradient steps (step size 0.01) on the task's 10 support points, with 95% confidence
intervals.

Run it with ``metahpo-bench maml-sinusoid [--quick] --out DIR`` or
``python benchmarks/maml_sinusoid.py [--quick] --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import vmap

from metahpo.metalearn import (
    Params,
    Task,
    adapt,
    clone_params,
    maml_loss,
    mse_loss,
    reptile_gradient,
    save_checkpoint,
)
from metahpo_bench.options import out_directory

__all__ = [
    "FULL",
    "METHODS",
    "QUICK",
    "SinusoidSettings",
    "adaptation_curves",
    "main",
    "run",
    "sample_sinusoid_tasks",
    "sinusoid_network",
    "train",
]

logger = logging.getLogger(__name__)

METHODS = ("maml", "fomaml", "reptile", "pretrained")
METHOD_LABELS = {
    "maml": "MAML (second-order)",
    "fomaml": "first-order MAML",
    "reptile": "Reptile",
    "pretrained": "pretrained on all tasks",
}
AMPLITUDE = (0.1, 5.0)
PHASE = (0.0, math.pi)
INPUT_RANGE = (-5.0, 5.0)


@dataclass(frozen=True)
class SinusoidSettings:
    """Everything that defines one run of the benchmark.

    Attributes:
        meta_iterations: Meta-updates per method (the paper trained for 70,000).
        meta_batch: Tasks per meta-update.
        shots: Support points per task (K), also the query points per training task.
        inner_lr: Inner-loop step size, in training and at test.
        meta_lr: Adam's learning rate for the meta-update.
        train_inner_steps: Inner steps of MAML and first-order MAML in training.
        reptile_inner_steps: Inner steps of Reptile in training (on the task's support and
            query points together: Reptile has no query set).
        test_steps: Largest number of gradient steps at test.
        test_tasks: Number of test tasks.
        test_points: Query points per test task.
        seed: Master seed; split with ``numpy.random.SeedSequence``.
    """

    meta_iterations: int = 15_000
    meta_batch: int = 25
    shots: int = 10
    inner_lr: float = 0.01
    meta_lr: float = 1e-3
    train_inner_steps: int = 1
    reptile_inner_steps: int = 5
    test_steps: int = 10
    test_tasks: int = 600
    test_points: int = 100
    seed: int = 0


FULL = SinusoidSettings()
QUICK = replace(FULL, meta_iterations=600)


def sinusoid_network() -> nn.Module:
    """The paper's regressor: 1 → 40 → 40 → 1 with ReLU."""
    return nn.Sequential(
        nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1)
    )


def initial_params(seed: int) -> Params:
    """PyTorch's default initialisation of :func:`sinusoid_network`, seeded, as leaf tensors.

    The global random state is restored afterwards.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return clone_params(sinusoid_network())


def sample_sinusoid_tasks(
    rng: np.random.Generator, n_tasks: int, n_support: int, n_query: int
) -> tuple[Task, np.ndarray, np.ndarray]:
    """Sample tasks; returns a stacked :class:`Task` (leading task dimension), amplitudes, phases."""
    amplitude = rng.uniform(*AMPLITUDE, size=(n_tasks, 1, 1))
    phase = rng.uniform(*PHASE, size=(n_tasks, 1, 1))
    x = rng.uniform(*INPUT_RANGE, size=(n_tasks, n_support + n_query, 1))
    y = amplitude * np.sin(x - phase)
    xs = torch.from_numpy(x.astype(np.float32))
    ys = torch.from_numpy(y.astype(np.float32))
    stacked = Task(
        support=(xs[:, :n_support], ys[:, :n_support]),
        query=(xs[:, n_support:], ys[:, n_support:]),
    )
    return stacked, amplitude.ravel(), phase.ravel()


def _unstack(stacked: Task) -> list[Task]:
    n_tasks = stacked.support[0].shape[0]
    return [
        Task(
            support=tuple(t[i] for t in stacked.support),
            query=tuple(t[i] for t in stacked.query),
        )
        for i in range(n_tasks)
    ]


def _meta_step(
    method: str, model: nn.Module, params: Params, tasks: list[Task], settings: SinusoidSettings
) -> Tensor:
    """Set ``.grad`` of ``params`` for one meta-update of ``method``; return its loss."""
    if method in ("maml", "fomaml"):
        loss = maml_loss(
            model,
            params,
            tasks,
            mse_loss,
            inner_steps=settings.train_inner_steps,
            inner_lr=settings.inner_lr,
            first_order=method == "fomaml",
        )
        loss.backward()
        return loss.detach()
    if method == "reptile":
        joined = [
            Task(
                support=tuple(torch.cat(p) for p in zip(t.support, t.query, strict=True)),
                query=t.query,
            )
            for t in tasks
        ]
        direction = reptile_gradient(
            model,
            params,
            joined,
            mse_loss,
            inner_steps=settings.reptile_inner_steps,
            inner_lr=settings.inner_lr,
        )
        for name, value in params.items():
            value.grad = direction[name].clone()
        with torch.no_grad():
            return torch.stack([mse_loss(model, params, t.support) for t in joined]).mean()
    if method == "pretrained":
        # Plain regression on every point of every task: equal-size tasks, so one batch.
        inputs = torch.cat([torch.cat((t.support[0], t.query[0])) for t in tasks])
        targets = torch.cat([torch.cat((t.support[1], t.query[1])) for t in tasks])
        loss = mse_loss(model, params, (inputs, targets))
        loss.backward()
        return loss.detach()
    raise ValueError(f"The 'method' parameter must be one of {METHODS}. Got {method!r} instead.")


def train(
    method: str,
    settings: SinusoidSettings,
    seed_sequence: np.random.SeedSequence,
    init_seed: int,
    log_every: int = 500,
) -> tuple[Params, list[float]]:
    """Meta-train one method; return its parameters and the mean loss of every 100 iterations."""
    model = sinusoid_network()
    params = initial_params(init_seed)
    optimizer = torch.optim.Adam(params.values(), lr=settings.meta_lr)
    rng = np.random.default_rng(seed_sequence)
    history: list[float] = []
    window: list[float] = []
    for iteration in range(1, settings.meta_iterations + 1):
        stacked, _, _ = sample_sinusoid_tasks(
            rng, settings.meta_batch, settings.shots, settings.shots
        )
        optimizer.zero_grad(set_to_none=True)
        window.append(float(_meta_step(method, model, params, _unstack(stacked), settings)))
        optimizer.step()
        if len(window) == 100 or iteration == settings.meta_iterations:
            history.append(float(np.mean(window)))
            window = []
        if iteration % log_every == 0:
            logger.info(
                "%s: iteration %d/%d, loss %.4f",
                method,
                iteration,
                settings.meta_iterations,
                history[-1],
            )
    return {name: value.detach() for name, value in params.items()}, history


def adaptation_curves(
    model: nn.Module, params: Params, tasks: Task, steps: int, inner_lr: float
) -> np.ndarray:
    """Query MSE of every stacked task after 0..``steps`` gradient steps on its support set.

    Returns:
        An array of shape ``(n_tasks, steps + 1)``.
    """
    start = {name: value.detach() for name, value in params.items()}

    def one_task(support: tuple[Tensor, ...], query: tuple[Tensor, ...]) -> Tensor:
        current = start
        losses = [mse_loss(model, current, query)]
        for _ in range(steps):
            current = adapt(model, current, mse_loss, support, 1, inner_lr, first_order=True)
            losses.append(mse_loss(model, current, query))
        return torch.stack(losses)

    with torch.no_grad():
        curves = vmap(one_task)(tasks.support, tasks.query)
    return curves.numpy().astype(np.float64)


def _ci95(values: np.ndarray) -> float:
    return float(1.96 * values.std(ddof=1) / math.sqrt(len(values)))


def _fits(
    model: nn.Module,
    params: Params,
    support: tuple[Tensor, Tensor],
    grid: Tensor,
    inner_lr: float,
    steps: Sequence[int],
) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    current = {name: value.detach() for name, value in params.items()}
    done = 0
    for target in sorted(steps):
        current = adapt(
            model, current, mse_loss, support, target - done, inner_lr, first_order=True
        )
        done = target
        with torch.no_grad():
            out[target] = torch.func.functional_call(model, current, (grid,)).numpy().ravel()
    return out


def plot(
    path: Path,
    curves: dict[str, np.ndarray],
    model: nn.Module,
    trained: dict[str, Params],
    example: dict[str, Any],
    settings: SinusoidSettings,
) -> None:
    """The paper's figure 2 in one PNG: example fits of MAML and the pretrained network, and
    the test MSE against the number of gradient steps for every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    grid = torch.linspace(*INPUT_RANGE, 200).unsqueeze(1)
    truth = example["amplitude"] * np.sin(grid.numpy().ravel() - example["phase"])
    for axis, method in zip(axes[:2], ("maml", "pretrained"), strict=True):
        fits = _fits(
            model,
            trained[method],
            example["support"],
            grid,
            settings.inner_lr,
            (0, 1, settings.test_steps),
        )
        axis.plot(grid.numpy(), truth, color="tab:red", label="ground truth")
        styles = {0: ":", 1: "--", settings.test_steps: "-"}
        for steps, values in fits.items():
            label = "pre-update" if steps == 0 else f"{steps} grad step{'s' if steps > 1 else ''}"
            axis.plot(grid.numpy(), values, linestyle=styles[steps], color="tab:green", label=label)
        sx, sy = example["support"]
        axis.scatter(
            sx.numpy(), sy.numpy(), marker="^", color="black", zorder=3, label="used for grad"
        )
        axis.set_title(f"{METHOD_LABELS[method]}, K={settings.shots}")
        axis.set_ylim(-6, 6)
        axis.legend(fontsize=8, loc="lower left")
    axis = axes[2]
    step_axis = np.arange(settings.test_steps + 1)
    for method, values in curves.items():
        mean = values.mean(axis=0)
        half = np.array([_ci95(values[:, s]) for s in step_axis])
        axis.plot(step_axis, mean, marker="o", markersize=3, label=METHOD_LABELS[method])
        axis.fill_between(step_axis, mean - half, mean + half, alpha=0.2)
    axis.set_xlabel("number of gradient steps")
    axis.set_ylabel("mean squared error")
    axis.set_title(
        f"k-shot regression, k={settings.shots} ({settings.test_tasks} test tasks, 95% CI)"
    )
    axis.set_yscale("log")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _table(summary: dict[str, Any]) -> str:
    steps = summary["reported_steps"]
    header = (
        "| method | "
        + " | ".join(f"MSE after {s} step{'s' if s != 1 else ''}" for s in steps)
        + " | train time (s) |"
    )
    lines = [header, "|---" * (len(steps) + 2) + "|"]
    for method, result in summary["methods"].items():
        cells = [f"{result['mse'][str(s)]:.3f} ± {result['ci95'][str(s)]:.3f}" for s in steps]
        lines.append(
            f"| {METHOD_LABELS[method]} | "
            + " | ".join(cells)
            + f" | {result['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


def run(
    settings: SinusoidSettings,
    out_dir: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    command: str = "",
    make_plot: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train every method, test them on the same tasks and write the results to ``out_dir``.

    Writes ``summary.json`` (for each method its MSE after 0, 1 and ``test_steps`` steps,
    with 95% confidence intervals, and the full curve), ``results.md``, ``results.csv``,
    ``adaptation.png`` and one ``<method>.safetensors`` checkpoint per method.

    Returns:
        The summary written to ``summary.json``.
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(
            f"The 'methods' parameter must be a subset of {METHODS}. Got {unknown} instead."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    test_seq, init_seq, *method_seqs = np.random.SeedSequence(settings.seed).spawn(2 + len(METHODS))
    init_seed = int(init_seq.generate_state(1)[0])
    test_rng = np.random.default_rng(test_seq)
    test_tasks, amplitudes, phases = sample_sinusoid_tasks(
        test_rng, settings.test_tasks, settings.shots, settings.test_points
    )
    model = sinusoid_network()
    trained: dict[str, Params] = {}
    curves: dict[str, np.ndarray] = {}
    results: dict[str, Any] = {}
    reported = sorted({0, 1, settings.test_steps})
    for method in methods:
        seq = method_seqs[METHODS.index(method)]
        if progress is not None:
            progress(f"training {method} for {settings.meta_iterations} meta-iterations")
        started = time.perf_counter()
        params, history = train(method, settings, seq, init_seed)
        seconds = time.perf_counter() - started
        trained[method] = params
        curve = adaptation_curves(model, params, test_tasks, settings.test_steps, settings.inner_lr)
        curves[method] = curve
        save_checkpoint(
            out / f"{method}.safetensors",
            params,
            metadata={"method": method, "settings": json.dumps(asdict(settings))},
        )
        results[method] = {
            "label": METHOD_LABELS[method],
            "mse": {str(s): float(curve[:, s].mean()) for s in reported},
            "ci95": {str(s): _ci95(curve[:, s]) for s in reported},
            "curve_mean": [float(v) for v in curve.mean(axis=0)],
            "curve_ci95": [_ci95(curve[:, s]) for s in range(curve.shape[1])],
            "train_seconds": seconds,
            "train_loss_per_100_iterations": history,
        }
        if progress is not None:
            progress(
                f"{method}: "
                + ", ".join(
                    f"MSE after {s} = {results[method]['mse'][str(s)]:.3f}" for s in reported
                )
            )
    summary: dict[str, Any] = {
        "benchmark": "maml-sinusoid",
        "command": command,
        "settings": asdict(settings),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "reported_steps": reported,
        "methods": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = _table(summary)
    (out / "results.md").write_text(
        "# MAML sinusoid regression\n\n"
        f"Command: `{command}`\n\n"
        f"{settings.meta_iterations} meta-iterations per method, meta-batch {settings.meta_batch}, "
        f"K = {settings.shots}, inner learning rate {settings.inner_lr}, Adam {settings.meta_lr}; "
        f"{settings.test_tasks} test tasks, {settings.test_points} query points each; "
        "mean ± 95% confidence interval.\n\n"
        f"{table}\n"
    )
    with (out / "results.csv").open("w") as handle:
        handle.write("method,steps,mse,ci95\n")
        for method, result in results.items():
            for s, (m, c) in enumerate(
                zip(result["curve_mean"], result["curve_ci95"], strict=True)
            ):
                handle.write(f"{method},{s},{m:.6f},{c:.6f}\n")
    if make_plot and "maml" in trained and "pretrained" in trained:
        index = 0
        example = {
            "amplitude": float(amplitudes[index]),
            "phase": float(phases[index]),
            "support": (test_tasks.support[0][index], test_tasks.support[1][index]),
        }
        plot(out / "adaptation.png", curves, model, trained, example, settings)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``benchmarks/maml_sinusoid.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK.meta_iterations} meta-iterations per method"
    )
    parser.add_argument("--out", type=out_directory, required=True, help="output directory")
    parser.add_argument("--iterations", type=int, default=None, help="override the meta-iterations")
    parser.add_argument(
        "--test-tasks", type=int, default=None, help="override the number of test tasks"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    summary = run_from_options(
        quick=args.quick,
        out=args.out,
        iterations=args.iterations,
        test_tasks=args.test_tasks,
        seed=args.seed,
        threads=args.threads,
        command="python benchmarks/maml_sinusoid.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        progress=lambda message: logger.info("%s", message),
    )
    sys.stdout.write(_table(summary) + "\n")
    return 0


def run_from_options(
    *,
    quick: bool,
    out: str | Path,
    iterations: int | None = None,
    test_tasks: int | None = None,
    seed: int = 0,
    threads: int = 1,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Settings from command-line options, then :func:`run`; shared by the CLI and ``main``."""
    settings = replace(QUICK if quick else FULL, seed=seed)
    if iterations is not None:
        settings = replace(settings, meta_iterations=iterations)
    if test_tasks is not None:
        settings = replace(settings, test_tasks=test_tasks)
    if threads > 0:
        torch.set_num_threads(threads)
    return run(settings, out, command=command, progress=progress)


def format_table(summary: dict[str, Any]) -> str:
    """The Markdown results table of a summary returned by :func:`run`."""
    return _table(summary)
