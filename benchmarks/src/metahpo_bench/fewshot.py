"""Few-shot classification sanity check on scikit-learn's digits (installed, no download).

5-way tasks: ``n_shot`` labelled images per class in the support set, 15 per class in the
query set, labels permuted in every task. Meta-training classes are the digits 0–4 and their
rotations by 90° and 180° (15 classes, the usual Omniglot augmentation); the same digits
rotated by 270° are the validation classes that pick MAML's meta-iteration (early stopping:
with so few training classes MAML over-fits them); test tasks use the unseen digits 5–9.
MAML (second-order) is compared with two non-meta baselines: the same network trained from
its random initialisation on each test task's support set, and a network pretrained on the
15 training classes whose 5-way linear head is fitted on the support set (Chen et al.,
2019, "Baseline"). Accuracy over 600 test tasks with 95% confidence intervals.

Run it with ``python benchmarks/maml_fewshot.py --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from metahpo.metalearn import (
    Params,
    Task,
    adapt,
    clone_params,
    cross_entropy_loss,
    maml_loss,
)
from metahpo_bench.options import out_directory

__all__ = [
    "FewShotSettings",
    "digits_classes",
    "fewshot_cnn",
    "main",
    "run",
    "sample_tasks",
]

logger = logging.getLogger(__name__)

N_WAY = 5
TRAIN_DIGITS = (0, 1, 2, 3, 4)
TEST_DIGITS = (5, 6, 7, 8, 9)


@dataclass(frozen=True)
class FewShotSettings:
    """One run of the few-shot check.

    Attributes:
        shots: The support sizes per class to evaluate (one MAML model each).
        query_per_class: Query images per class.
        meta_iterations: MAML meta-updates per shot setting.
        eval_every: Meta-updates between validation checkpoints.
        validation_tasks: Tasks per validation checkpoint.
        meta_batch: Tasks per meta-update.
        inner_lr: Inner step size (training and test).
        train_inner_steps: Inner steps in meta-training.
        test_step_choices: Candidate numbers of gradient steps on a test task's support set
            (MAML and scratch); the validation classes choose one.
        meta_lr: Adam's learning rate for the meta-update and for pretraining.
        pretrain_iterations: Adam steps of the 20-way pretraining, batch ``pretrain_batch``.
        pretrain_batch: Images per pretraining step.
        head_steps: Gradient steps fitting the pretrained network's new head.
        head_lr: Step size of those steps.
        test_tasks: Number of test tasks.
        seed: Master seed.
    """

    shots: tuple[int, ...] = (1, 5)
    query_per_class: int = 15
    meta_iterations: int = 600
    eval_every: int = 100
    validation_tasks: int = 200
    meta_batch: int = 8
    inner_lr: float = 0.4
    train_inner_steps: int = 2
    test_step_choices: tuple[int, ...] = (1, 2, 5, 10)
    meta_lr: float = 1e-3
    pretrain_iterations: int = 2_000
    pretrain_batch: int = 64
    head_steps: int = 100
    head_lr: float = 0.5
    test_tasks: int = 600
    seed: int = 0


def fewshot_cnn(n_way: int = N_WAY) -> nn.Module:
    """A small CNN for 8×8 images: two 3×3 conv blocks of 32 channels, then a linear head.

    Parameters named ``HEAD_PREFIX + ...`` are the head; the others are the feature extractor.
    """
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, n_way),
    )


#: Parameter-name prefix of :func:`fewshot_cnn`'s linear head.
HEAD_PREFIX = "7."


def digits_classes() -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Images (``float32``, ``(n, 1, 8, 8)``, in [0, 1]) of the training, validation and test classes.

    Training: digits 0–4 rotated by 0°, 90° and 180° (15 classes). Validation: digits 0–4
    rotated by 270° (5 classes). Test: digits 5–9 (5 classes).
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)

    def rotated(digit: int, quarter: int) -> np.ndarray:
        return np.rot90(images[digits.target == digit], k=quarter, axes=(1, 2)).copy()[:, None]

    train = [rotated(digit, quarter) for digit in TRAIN_DIGITS for quarter in range(3)]
    validation = [rotated(digit, 3) for digit in TRAIN_DIGITS]
    test = [images[digits.target == digit][:, None] for digit in TEST_DIGITS]
    return train, validation, test


def sample_tasks(
    rng: np.random.Generator,
    classes: Sequence[np.ndarray],
    n_tasks: int,
    shots: int,
    query_per_class: int,
) -> Task:
    """``n_tasks`` stacked 5-way tasks with labels permuted per task."""
    support_x, support_y, query_x, query_y = [], [], [], []
    for _ in range(n_tasks):
        chosen = rng.choice(len(classes), size=N_WAY, replace=False)
        sx, sy, qx, qy = [], [], [], []
        for label, index in enumerate(chosen):
            pool = classes[index]
            picks = rng.choice(len(pool), size=shots + query_per_class, replace=False)
            sx.append(pool[picks[:shots]])
            qx.append(pool[picks[shots:]])
            sy += [label] * shots
            qy += [label] * query_per_class
        support_x.append(np.concatenate(sx))
        query_x.append(np.concatenate(qx))
        support_y.append(sy)
        query_y.append(qy)
    return Task(
        support=(torch.from_numpy(np.stack(support_x)), torch.tensor(support_y)),
        query=(torch.from_numpy(np.stack(query_x)), torch.tensor(query_y)),
    )


def _unstack(stacked: Task) -> list[Task]:
    return [
        Task(tuple(t[i] for t in stacked.support), tuple(t[i] for t in stacked.query))
        for i in range(stacked.support[0].shape[0])
    ]


def _init(seed: int, n_way: int) -> Params:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return clone_params(fewshot_cnn(n_way))


def best_steps(
    model: nn.Module, params: Params, validation: Task, settings: FewShotSettings
) -> tuple[int, float]:
    """The number of test-time steps (from ``test_step_choices``) best on ``validation``."""
    scores = {
        steps: float(evaluate_finetune(model, params, validation, steps, settings.inner_lr).mean())
        for steps in settings.test_step_choices
    }
    chosen = max(scores, key=lambda steps: scores[steps])
    return chosen, scores[chosen]


def train_maml(
    settings: FewShotSettings,
    shots: int,
    classes: list[np.ndarray],
    validation: Task,
    seed: np.random.SeedSequence,
    init_seed: int,
    test: Task | None = None,
) -> tuple[tuple[Params, int], tuple[Params, int], list[dict[str, float]]]:
    """Meta-train the CNN with second-order MAML on tasks of ``shots`` shots.

    Every ``eval_every`` meta-updates the parameters are scored on the validation tasks
    after each number of steps in ``test_step_choices``; the best (checkpoint, steps) pair
    is kept. ``test`` tasks, when given, are scored at every checkpoint for the record only:
    they never choose anything.

    Returns:
        The best parameters on validation with their number of test steps, the parameters
        after the last meta-update with theirs, and one record per checkpoint (iteration,
        mean training loss, chosen steps, validation and test accuracy).
    """
    model = fewshot_cnn()
    params = _init(init_seed, N_WAY)
    optimizer = torch.optim.Adam(params.values(), lr=settings.meta_lr)
    rng = np.random.default_rng(seed)
    best: tuple[float, Params, int] = (-1.0, {}, 0)
    last: tuple[Params, int] = ({}, 0)
    history: list[dict[str, float]] = []
    losses: list[float] = []
    for iteration in range(1, settings.meta_iterations + 1):
        stacked = sample_tasks(rng, classes, settings.meta_batch, shots, settings.query_per_class)
        optimizer.zero_grad(set_to_none=True)
        loss = maml_loss(
            model,
            params,
            _unstack(stacked),
            cross_entropy_loss,
            inner_steps=settings.train_inner_steps,
            inner_lr=settings.inner_lr,
        )
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if iteration % settings.eval_every == 0 or iteration == settings.meta_iterations:
            current = {name: value.detach().clone() for name, value in params.items()}
            steps, accuracy = best_steps(model, current, validation, settings)
            record = {
                "iteration": float(iteration),
                "train_loss": float(np.mean(losses)),
                "test_steps": float(steps),
                "validation_accuracy": accuracy,
            }
            if test is not None:
                record["test_accuracy"] = float(
                    evaluate_finetune(model, current, test, steps, settings.inner_lr).mean()
                )
            history.append(record)
            losses = []
            logger.info("maml %d-shot: %s", shots, record)
            if accuracy > best[0]:
                best = (accuracy, current, steps)
            last = (current, steps)
    return (best[1], best[2]), last, history


def pretrain(
    settings: FewShotSettings,
    classes: list[np.ndarray],
    seed: np.random.SeedSequence,
    init_seed: int,
) -> Params:
    """Supervised training on all training classes at once (a ``len(classes)``-way head)."""
    model = fewshot_cnn(len(classes))
    params = _init(init_seed, len(classes))
    optimizer = torch.optim.Adam(params.values(), lr=settings.meta_lr)
    images = torch.from_numpy(np.concatenate(classes))
    labels = torch.cat([torch.full((len(c),), i) for i, c in enumerate(classes)])
    generator = torch.Generator().manual_seed(int(seed.generate_state(1)[0]))
    for _ in range(settings.pretrain_iterations):
        batch = torch.randint(len(labels), (settings.pretrain_batch,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        cross_entropy_loss(model, params, (images[batch], labels[batch])).backward()
        optimizer.step()
    return {
        name: value.detach() for name, value in params.items() if not name.startswith(HEAD_PREFIX)
    }


def _accuracy(model: nn.Module, params: Params, query: tuple[Tensor, ...]) -> Tensor:
    logits = functional_call(model, params, (query[0],))
    return (logits.argmax(dim=-1) == query[1]).float().mean()


def evaluate_finetune(
    model: nn.Module, params: Params, tasks: Task, steps: int, inner_lr: float
) -> np.ndarray:
    """Query accuracy of each stacked task after ``steps`` steps on its support set."""
    start = {name: value.detach() for name, value in params.items()}

    def one_task(support: tuple[Tensor, ...], query: tuple[Tensor, ...]) -> Tensor:
        adapted = adapt(
            model, start, cross_entropy_loss, support, steps, inner_lr, first_order=True
        )
        return _accuracy(model, adapted, query)

    with torch.no_grad():
        return vmap(one_task)(tasks.support, tasks.query).numpy().astype(np.float64)


def evaluate_linear_head(
    model: nn.Module, features: Params, tasks: Task, steps: int, lr: float
) -> np.ndarray:
    """Query accuracy after fitting a zero-initialised head on frozen pretrained features."""
    frozen = {name: value.detach() for name, value in features.items()}
    head = {
        name: torch.zeros_like(value)
        for name, value in model.named_parameters()
        if name.startswith(HEAD_PREFIX)
    }

    def head_loss(module: nn.Module, head_params: Params, batch: tuple[Tensor, ...]) -> Tensor:
        return cross_entropy_loss(module, {**frozen, **head_params}, batch)

    def one_task(support: tuple[Tensor, ...], query: tuple[Tensor, ...]) -> Tensor:
        fitted = adapt(model, head, head_loss, support, steps, lr, first_order=True)
        return _accuracy(model, {**frozen, **fitted}, query)

    with torch.no_grad():
        return vmap(one_task)(tasks.support, tasks.query).numpy().astype(np.float64)


def _ci95(values: np.ndarray) -> float:
    return float(1.96 * values.std(ddof=1) / math.sqrt(len(values)))


LABELS = {
    "maml": "MAML (second-order), checkpoint chosen on validation classes",
    "maml_last": "MAML (second-order), after the last meta-iteration",
    "scratch": "no meta-learning: random init + fine-tuning",
    "pretrained_head": "no meta-learning: pretrained on train classes + linear head",
}


def _table(summary: dict[str, Any]) -> str:
    shots = summary["settings"]["shots"]
    lines = [
        "| method | " + " | ".join(f"5-way {k}-shot accuracy" for k in shots) + " |",
        "|---" * (len(shots) + 1) + "|",
    ]
    for method, label in LABELS.items():
        cells = []
        for k in shots:
            result = summary["results"][str(k)][method]
            cells.append(f"{100 * result['accuracy']:.1f}% ± {100 * result['ci95']:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(settings: FewShotSettings, out_dir: str | Path, *, command: str = "") -> dict[str, Any]:
    """Train, evaluate and write ``summary.json`` and ``results.md`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_classes, validation_classes, test_classes = digits_classes()
    test_seq, validation_seq, init_seq, pretrain_seq, *shot_seqs = np.random.SeedSequence(
        settings.seed
    ).spawn(4 + len(settings.shots))
    init_seed = int(init_seq.generate_state(1)[0])
    model = fewshot_cnn()
    started = time.perf_counter()
    features = pretrain(settings, train_classes, pretrain_seq, init_seed)
    pretrain_seconds = time.perf_counter() - started
    logger.info("pretrained in %.0f s", pretrain_seconds)
    results: dict[str, Any] = {}
    histories: dict[str, Any] = {}
    test_rng = np.random.default_rng(test_seq)
    validation_rng = np.random.default_rng(validation_seq)
    for shots, seq in zip(settings.shots, shot_seqs, strict=True):
        tasks = sample_tasks(
            test_rng, test_classes, settings.test_tasks, shots, settings.query_per_class
        )
        validation = sample_tasks(
            validation_rng,
            validation_classes,
            settings.validation_tasks,
            shots,
            settings.query_per_class,
        )
        started = time.perf_counter()
        (best, best_step_count), (last, last_step_count), history = train_maml(
            settings, shots, train_classes, validation, seq, init_seed, test=tasks
        )
        maml_seconds = time.perf_counter() - started
        scratch = _init(init_seed, N_WAY)
        scratch_step_count, _ = best_steps(model, scratch, validation, settings)
        lr = settings.inner_lr
        accuracies = {
            "maml": evaluate_finetune(model, best, tasks, best_step_count, lr),
            "maml_last": evaluate_finetune(model, last, tasks, last_step_count, lr),
            "scratch": evaluate_finetune(model, scratch, tasks, scratch_step_count, lr),
            "pretrained_head": evaluate_linear_head(
                model, features, tasks, settings.head_steps, settings.head_lr
            ),
        }
        results[str(shots)] = {
            method: {"accuracy": float(values.mean()), "ci95": _ci95(values)}
            for method, values in accuracies.items()
        }
        chosen = max(history, key=lambda record: record["validation_accuracy"])
        results[str(shots)]["maml"]["iteration"] = int(chosen["iteration"])
        results[str(shots)]["maml"]["test_steps"] = best_step_count
        results[str(shots)]["maml_last"]["test_steps"] = last_step_count
        results[str(shots)]["scratch"]["test_steps"] = scratch_step_count
        results[str(shots)]["maml"]["train_seconds"] = maml_seconds
        histories[str(shots)] = history
        logger.info("%d-shot: %s", shots, results[str(shots)])
    summary = {
        "benchmark": "maml-fewshot-digits",
        "command": command,
        "settings": asdict(settings),
        "pretrain_seconds": pretrain_seconds,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "results": results,
        "maml_checkpoints": histories,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    checkpoint_lines = [
        "| shots | meta-iteration | mean training loss | test steps | validation accuracy "
        "| test accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for shot_key, history in histories.items():
        checkpoint_lines += [
            f"| {shot_key} | {int(r['iteration'])} | {r['train_loss']:.3f} | "
            f"{int(r['test_steps'])} | "
            f"{100 * r['validation_accuracy']:.1f}% | {100 * r['test_accuracy']:.1f}% |"
            for r in history
        ]
    chosen_text = "; ".join(
        f"{k}-shot: iteration {results[k]['maml']['iteration']}, "
        f"{results[k]['maml']['test_steps']} steps (scratch: {results[k]['scratch']['test_steps']})"
        for k in results
    )
    (out / "results.md").write_text(
        "# Few-shot classification on scikit-learn digits\n\n"
        f"Command: `{command}`\n\n"
        "Meta-training classes: digits 0–4 and their 90°/180° rotations (15 classes); "
        "validation classes (early stopping): digits 0–4 rotated by 270°; "
        f"test tasks: digits 5–9, labels permuted per task. {settings.test_tasks} test tasks, "
        f"{settings.query_per_class} query images per class; mean ± 95% confidence interval.\n\n"
        f"MAML: up to {settings.meta_iterations} meta-iterations, meta-batch {settings.meta_batch}, "
        f"{settings.train_inner_steps} inner steps (lr {settings.inner_lr}) in training. "
        f"At test, MAML and random init + fine-tuning take a number of steps (lr {settings.inner_lr}) "
        f"from {list(settings.test_step_choices)}; for MAML the checkpoint (every "
        f"{settings.eval_every} iterations) and the number of steps with the best accuracy on "
        f"{settings.validation_tasks} validation tasks are kept, for random init + fine-tuning "
        f"the number of steps ({chosen_text}). Random init + fine-tuning starts from the "
        "initialisation MAML started from. "
        f"Pretrained: {settings.pretrain_iterations} Adam steps (batch {settings.pretrain_batch}) "
        "on the 15 training classes, then a zero-initialised 5-way head fitted with "
        f"{settings.head_steps} steps (lr {settings.head_lr}) on the frozen features.\n\n"
        f"{_table(summary)}\n\n"
        "## MAML checkpoints\n\n"
        "Test accuracy at every checkpoint, with the number of steps the validation classes "
        "chose for it, for the record (it chooses nothing).\n\n"
        + "\n".join(checkpoint_lines)
        + "\n"
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``benchmarks/maml_fewshot.py``."""
    parser = argparse.ArgumentParser(
        description="5-way few-shot digits: MAML vs non-meta baselines"
    )
    parser.add_argument("--out", type=out_directory, required=True)
    parser.add_argument("--quick", action="store_true", help="200 iterations, 100 test tasks")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    settings = replace(FewShotSettings(), seed=args.seed)
    if args.quick:
        settings = replace(
            settings,
            meta_iterations=200,
            eval_every=50,
            validation_tasks=50,
            pretrain_iterations=200,
            test_tasks=100,
        )
    if args.iterations is not None:
        settings = replace(settings, meta_iterations=args.iterations)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/maml_fewshot.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    summary = run(settings, args.out, command=command)
    sys.stdout.write(_table(summary) + "\n")
    return 0
