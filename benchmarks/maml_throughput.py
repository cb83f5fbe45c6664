"""Time of one MAML meta-gradient: metahpo.metalearn beside a hand-written autograd loop.

learn2learn is the usual reference, but it does not install beside torch 2.13 on
Python 3.11 (its C extensions fail to build and its torchvision pin cannot load beside the
local torch), so the baseline is the classic hand-written loop: per task,
``torch.autograd.grad(support_loss, params, create_graph=True)``, a step, the query loss,
then ``torch.autograd.grad`` of the summed query losses.

Every implementation gets the same model, initialisation, task batch and thread count in
the same process; the gradients are checked to agree before timing.

    python benchmarks/maml_throughput.py --out benchmarks/results/maml_throughput
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from metahpo.metalearn import (
    LossFn,
    Params,
    Task,
    clone_params,
    cross_entropy_loss,
    maml_loss,
    meta_gradient,
    mse_loss,
)
from metahpo_bench.fewshot import N_WAY, digits_classes, fewshot_cnn, sample_tasks
from metahpo_bench.maml_sinusoid import sample_sinusoid_tasks, sinusoid_network
from metahpo_bench.options import out_directory


def conv4(n_way: int = N_WAY, channels: int = 32) -> nn.Module:
    """MAML's Omniglot network without batch norm: four 3×3 conv blocks on 28×28 inputs."""
    layers: list[nn.Module] = []
    for index in range(4):
        layers += [
            nn.Conv2d(1 if index == 0 else channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels, n_way))


def hand_written(
    model: nn.Module,
    params: Params,
    tasks: list[Task],
    loss_fn: LossFn,
    steps: int,
    lr: float,
    first_order: bool,
) -> dict[str, Tensor]:
    """The textbook MAML meta-gradient with ``torch.autograd.grad``, one task at a time."""
    leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
    total = torch.zeros(())
    for task in tasks:
        fast = dict(leaves)
        for _ in range(steps):
            grads = torch.autograd.grad(
                loss_fn(model, fast, task.support),
                list(fast.values()),
                create_graph=not first_order,
            )
            fast = {k: v - lr * g for (k, v), g in zip(fast.items(), grads, strict=True)}
        total = total + loss_fn(model, fast, task.query)
    grads = torch.autograd.grad(total / len(tasks), list(leaves.values()))
    return dict(zip(leaves, grads, strict=True))


def _implementations(
    model: nn.Module,
    params: Params,
    tasks: list[Task],
    loss_fn: LossFn,
    steps: int,
    lr: float,
    first_order: bool,
) -> dict[str, Callable[[], dict[str, Tensor]]]:
    """Each implementation as a no-argument call returning the meta-gradient."""
    kwargs = {"inner_steps": steps, "inner_lr": lr, "first_order": first_order}

    def functional(vectorize: bool) -> dict[str, Tensor]:
        return meta_gradient(model, params, tasks, loss_fn, vectorize=vectorize, **kwargs).params

    def with_backward() -> dict[str, Tensor]:
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        maml_loss(model, leaves, tasks, loss_fn, vectorize=True, **kwargs).backward()
        return {k: v.grad for k, v in leaves.items() if v.grad is not None}

    return {
        "metahpo meta_gradient, vmap": lambda: functional(True),
        "metahpo meta_gradient, loop": lambda: functional(False),
        "metahpo maml_loss().backward(), vmap": with_backward,
        "hand-written torch.autograd.grad loop": lambda: hand_written(
            model, params, tasks, loss_fn, steps, lr, first_order
        ),
    }


def _time(fn: Callable[[], object], repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _cases() -> dict[str, tuple[nn.Module, Params, list[Task], LossFn, int, float, str]]:
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    stacked, _, _ = sample_sinusoid_tasks(rng, 25, 10, 10)
    sinusoid = [
        Task(tuple(t[i] for t in stacked.support), tuple(t[i] for t in stacked.query))
        for i in range(25)
    ]
    model_s = sinusoid_network()
    _, _, test_classes = digits_classes()
    digits = sample_tasks(rng, test_classes, 8, 1, 15)
    digit_tasks = [
        Task(tuple(t[i] for t in digits.support), tuple(t[i] for t in digits.query))
        for i in range(8)
    ]
    model_c = fewshot_cnn()
    omniglot_like = [
        Task(
            (torch.randn(5, 1, 28, 28), torch.arange(5)),
            (torch.randn(75, 1, 28, 28), torch.arange(75) % 5),
        )
        for _ in range(4)
    ]
    model_o = conv4()
    return {
        "sinusoid 2x40 MLP, 25 tasks, K=10": (
            model_s,
            clone_params(model_s),
            sinusoid,
            mse_loss,
            1,
            0.01,
            "1 inner step, lr 0.01",
        ),
        "digits CNN (8x8), 8 tasks, 5-way 1-shot, 15 query/class": (
            model_c,
            clone_params(model_c),
            digit_tasks,
            cross_entropy_loss,
            1,
            0.4,
            "1 inner step, lr 0.4",
        ),
        "conv-4 (28x28, 32 ch.), 4 tasks, 5-way 1-shot, 15 query/class": (
            model_o,
            clone_params(model_o),
            omniglot_like,
            cross_entropy_loss,
            1,
            0.4,
            "1 inner step, lr 0.4",
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=out_directory, required=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for case, (model, params, tasks, loss_fn, steps, lr, inner) in _cases().items():
        for first_order in (False, True):
            order = "first-order" if first_order else "second-order"
            implementations = _implementations(
                model, params, tasks, loss_fn, steps, lr, first_order
            )
            reference = implementations["hand-written torch.autograd.grad loop"]()
            for name, fn in implementations.items():
                grads = fn()
                difference = max(float((grads[k] - reference[k]).abs().max()) for k in reference)
                times = _time(fn, args.repeats, args.warmup)
                quartiles = statistics.quantiles(times, n=4)
                rows.append(
                    {
                        "case": case,
                        "inner": inner,
                        "order": order,
                        "implementation": name,
                        "median_ms": 1000 * statistics.median(times),
                        "q1_ms": 1000 * quartiles[0],
                        "q3_ms": 1000 * quartiles[2],
                        "max_abs_grad_difference_vs_hand_written": difference,
                    }
                )
                print(
                    f"{case} | {order} | {name}: {1000 * statistics.median(times):.2f} ms",
                    file=sys.stderr,
                )
    command = "python benchmarks/maml_throughput.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    environment = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "repeats": args.repeats,
        "warmup": args.warmup,
    }
    (out / "summary.json").write_text(
        json.dumps({"command": command, "environment": environment, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        "| case | meta-gradient | implementation | median ms (IQR) | max abs grad diff vs hand-written |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['case']} ({r['inner']}) | {r['order']} | {r['implementation']} | "
        f"{r['median_ms']:.2f} ({r['q1_ms']:.2f}–{r['q3_ms']:.2f}) | "
        f"{r['max_abs_grad_difference_vs_hand_written']:.1e} |"
        for r in rows
    ]
    table = "\n".join(lines)
    (out / "results.md").write_text(
        "# MAML meta-gradient throughput\n\n"
        f"Command: `{command}`\n\n"
        "Time of one meta-gradient (inner loop, query losses, gradient with respect to the "
        "initialisation; no optimizer step), float32 on CPU, "
        f"torch {environment['torch']}, {environment['threads']} thread(s), "
        f"{args.repeats} repeats after {args.warmup} warm-up calls, same process, same task batch. "
        "learn2learn does not install beside torch 2.13 on Python 3.11, so the reference is a "
        "hand-written `torch.autograd.grad` loop (the way learn2learn's MAML computes it, without "
        "its module cloning).\n\n"
        f"{table}\n"
    )
    sys.stdout.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
