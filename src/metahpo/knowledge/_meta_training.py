"""Meta-training of the deep-kernel GP across knowledge-base tasks, with MAML.

Each meta-step samples a batch of tasks; per task a random support set (a few
evaluations) and a query set. The inner loop adapts θ on the support set's marginal
likelihood; the outer loop scores the adapted model's predictions of the query set
given the support set, and Adam updates θ (Finn et al., 2017, applied to a deep-kernel
GP as in FSBO, Wistuba & Grabocka, 2021). ``inner_steps=0`` is the plain meta-trained
deep-kernel GP (no inner loop), kept for ablations.

Continual update: when a study ends, θ is fine-tuned on the new task mixed with a
replay of stored tasks, so earlier knowledge is not forgotten.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from metahpo._validation import check_int
from metahpo.exceptions import InvalidParameterError

__all__ = [
    "TASK_TRANSFORMS",
    "MetaModel",
    "MetaTrainingConfig",
    "TaskData",
    "continual_update",
    "meta_test_loss",
    "meta_train",
]


TASK_TRANSFORMS = ("rank", "standardize")


def check_task_transform(value: Any, owner: str) -> str:
    """``value`` if it names a task transform, else an error naming ``owner``'s parameter."""
    if value not in TASK_TRANSFORMS:
        raise InvalidParameterError(
            f"The 'task_transform' parameter of {owner} must be one of {list(TASK_TRANSFORMS)}. "
            f"Got {value!r} instead."
        )
    return str(value)


@dataclass(frozen=True)
class TaskData:
    """One task's evaluations as surrogate inputs: features ``X`` (n, d) and losses ``y`` (n,)."""

    X: np.ndarray
    y: np.ndarray
    name: str = ""


@dataclass(frozen=True)
class MetaTrainingConfig:
    """How the deep-kernel GP is meta-trained.

    Args:
        hidden, n_outputs: width of the feature extractor's hidden layers and its output.
        meta_steps: outer-loop Adam steps.
        meta_batch: tasks per outer step.
        support_min, support_max: the support size is drawn in this range each step (a new
            study's surrogate must work from a handful of observations up to many).
        query: query points per task.
        inner_steps: MAML inner-loop steps (0: no inner loop).
        inner_lr: inner-loop step size (also used when adapting to a new study).
        meta_lr: Adam's learning rate.
        first_order: drop second derivatives in the meta-gradient.
        seed: seeds the initialisation and the sampling.
        validation: share of the tasks held out to choose the number of meta-steps
            (0: train all ``meta_steps``). Every ``meta_steps / 20`` steps the held-out
            tasks' meta-test loss is measured; the step count where it was lowest is then
            trained on all tasks, so a small or repetitive knowledge base is not overfitted.
        task_transform: how each task's losses are warped before it is split:
            ``"rank"`` (the normal quantile of each loss's rank within its task) or
            ``"standardize"`` (no warp; the split's standardisation only). Loss
            distributions differ between tasks and many have long tails (diverged or
            degenerate configs); on ranks the kernel learns where configs are good
            rather than how bad the worst ones are.
        trend: give the network a linear head ``m(x)`` whose rank-one term ``m(x) m(x')``
            joins the kernel (see :class:`~metahpo.surrogates.DeepKernelNet`): the prior
            learns where configs are good on most tasks, so a few observations of a new
            one already point the search there.

    On held-out YAHPO tasks, the regret of the config the adapted surrogate ranks first
    after 5 / 10 observations was 0.156 / 0.123 (standardize), 0.126 / 0.082 (rank) and
    0.076 / 0.066 (rank and trend) on rbv2_xgboost; 0.125 / 0.079, 0.125 / 0.074 and
    0.073 / 0.036 on lcbench (``benchmarks/meta_surrogate_ranking.py``, results in
    ``benchmarks/results/meta_surrogate_ranking_*.md``).
    """

    hidden: int = 32
    n_outputs: int = 8
    meta_steps: int = 2000
    meta_batch: int = 8
    support_min: int = 4
    support_max: int = 40
    query: int = 32
    inner_steps: int = 1
    inner_lr: float = 0.1
    meta_lr: float = 3e-3
    first_order: bool = True
    seed: int = 0
    validation: float = 0.0
    task_transform: str = "rank"
    trend: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.trend, bool):
            raise InvalidParameterError(
                f"The 'trend' parameter of MetaTrainingConfig must be a bool. Got {self.trend!r} instead."
            )
        check_task_transform(self.task_transform, "MetaTrainingConfig")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MetaModel:
    """Meta-trained parameters θ of a deep-kernel GP and how they were made."""

    n_features: int
    config: MetaTrainingConfig
    params: dict[str, Any]  # name -> torch.Tensor
    info: dict[str, Any] = field(default_factory=dict)

    def net(self) -> Any:
        from metahpo.surrogates._deep_kernel import DeepKernelNet

        return DeepKernelNet(self.n_features, self.config.hidden, self.config.n_outputs, self.config.trend)

    def surrogate(
        self,
        adapt_steps: int | None = None,
        output_transform: str = "standardize",
        validate: bool = False,
    ) -> Any:
        """A fresh :class:`~metahpo.surrogates.DeepKernelGP` starting from θ."""
        from metahpo.surrogates._deep_kernel import DeepKernelGP

        steps = max(self.config.inner_steps, 3) if adapt_steps is None else adapt_steps
        return DeepKernelGP(
            self.net(), self.params, steps, self.config.inner_lr, output_transform, validate
        )

    def to_bytes(self) -> bytes:
        """safetensors bytes; the configuration and info travel in its JSON metadata."""
        from safetensors.torch import save

        metadata = {
            "n_features": str(self.n_features),
            "config": json.dumps(self.config.to_dict()),
            "info": json.dumps(self.info),
        }
        return save({k: v.detach().contiguous() for k, v in self.params.items()}, metadata=metadata)

    @classmethod
    def from_bytes(cls, data: bytes) -> MetaModel:
        from safetensors.torch import load

        params = load(data)
        # safetensors.torch.load returns the tensors only; the metadata is in the JSON header.
        header_size = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8 : 8 + header_size]).get("__metadata__", {})
        config = json.loads(meta["config"])
        # Models saved before these options existed: unwarped losses, no trend head.
        config.setdefault("task_transform", "standardize")
        config.setdefault("trend", False)
        return cls(
            int(meta["n_features"]),
            MetaTrainingConfig(**config),
            params,
            json.loads(meta.get("info", "{}")),
        )

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]


def meta_train(
    tasks: Sequence[TaskData],
    config: MetaTrainingConfig | None = None,
    init: MetaModel | None = None,
    replay: Sequence[TaskData] = (),
    replay_fraction: float = 0.0,
) -> MetaModel:
    """Meta-train (or, from ``init``, continue training) a deep-kernel GP over ``tasks``.

    Args:
        tasks: tasks to learn from (at least 2 evaluations each).
        config: the training configuration (``init``'s when continuing and ``None``).
        init: start from these meta-parameters instead of a fresh initialisation.
        replay: older tasks mixed into each meta-batch (continual learning).
        replay_fraction: the share of each meta-batch drawn from ``replay``.

    Returns:
        The trained :class:`MetaModel`; ``info`` holds the loss curve and timing.
    """
    from metahpo.surrogates._threads import torch_threads

    # Many small kernels: one thread is faster, and parallel studies do not oversubscribe.
    with torch_threads(1):
        config = config or (init.config if init is not None else MetaTrainingConfig())
        if init is not None:
            _check_continues(init.config, config)
        usable = [t for t in tasks if len(t.y) >= 3]
        if config.validation > 0 and init is None and len(usable) >= 5:
            steps = _validated_steps(usable, config)
            model = _meta_train(tasks, replace(config, meta_steps=steps), init, replay, replay_fraction)
            model.config = config
            model.info["validated_steps"] = steps
            return model
        return _meta_train(tasks, config, init, replay, replay_fraction)


# What a model is: continuing it under other values would change its network or the
# scale its kernel was learned on.
_MODEL_FIELDS = ("hidden", "n_outputs", "trend", "task_transform")


def _check_continues(trained: MetaTrainingConfig, config: MetaTrainingConfig) -> None:
    for name in _MODEL_FIELDS:
        if getattr(config, name) != getattr(trained, name):
            raise InvalidParameterError(
                f"meta_train cannot continue 'init' with a different {name!r}: 'init' was trained "
                f"with {getattr(trained, name)!r}, the config has {getattr(config, name)!r}. Pass "
                f"config=None, or a config with {name}={getattr(trained, name)!r}."
            )


def _validated_steps(tasks: list[TaskData], config: MetaTrainingConfig) -> int:
    """The meta-step count (a multiple of ``meta_steps / 20``) best on held-out tasks."""
    rng = np.random.default_rng(config.seed)
    n_held = min(len(tasks) - 2, max(2, round(config.validation * len(tasks))))
    order = rng.permutation(len(tasks))
    held = [tasks[i] for i in order[:n_held]]
    train = [tasks[i] for i in order[n_held:]]
    every = max(1, config.meta_steps // 20)
    scores: list[tuple[float, int]] = []

    def score(step: int, params: dict[str, Any]) -> None:
        probe = MetaModel(train[0].X.shape[1], config, {k: v.detach().clone() for k, v in params.items()})
        value = meta_test_loss(probe, held, repeats=2, seed=config.seed)
        scores.append((value if np.isfinite(value) else np.inf, step))

    _meta_train(train, config, None, (), 0.0, every=every, on_step=score)
    return min(scores)[1] if scores else config.meta_steps


def _meta_train(
    tasks: Sequence[TaskData],
    config: MetaTrainingConfig,
    init: MetaModel | None,
    replay: Sequence[TaskData],
    replay_fraction: float,
    every: int = 0,
    on_step: Any = None,
) -> MetaModel:
    import torch

    from metahpo.metalearn import Task, maml_loss
    from metahpo.surrogates._deep_kernel import marginal_nll, predictive_nll

    usable = [_warp(t, config.task_transform) for t in tasks if len(t.y) >= 3]
    if not usable:
        raise InvalidParameterError(
            "meta_train needs at least one task with 3 or more evaluations. Got none."
        )
    check_int(config.meta_steps, "meta_steps", "MetaTrainingConfig", minimum=0)
    n_features = usable[0].X.shape[1]
    if any(t.X.shape[1] != n_features for t in usable) or (
        init is not None and init.n_features != n_features
    ):
        raise InvalidParameterError(
            "meta_train needs every task (and 'init') to have the same number of features."
        )
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    if init is None:
        model = MetaModel(n_features, config, {}).net()
        params = {k: v.detach().clone().requires_grad_(True) for k, v in model.named_parameters()}
    else:
        model = init.net()
        params = {k: v.detach().clone().requires_grad_(True) for k, v in init.params.items()}
    optimizer = torch.optim.Adam(list(params.values()), lr=config.meta_lr)
    old = [_warp(t, config.task_transform) for t in replay if len(t.y) >= 3]
    losses: list[float] = []
    started = time.perf_counter()
    if on_step is not None:
        on_step(0, params)
    for step in range(config.meta_steps):
        n_old = round(config.meta_batch * replay_fraction) if old else 0
        chosen = [usable[i] for i in rng.integers(len(usable), size=config.meta_batch - n_old)]
        chosen += [old[i] for i in rng.integers(len(old), size=n_old)] if n_old else []
        n_support = int(rng.integers(config.support_min, config.support_max + 1))
        splits = (_split(task, n_support, config.query, rng) for task in chosen)
        batch = [b for b in splits if b is not None]
        if not batch:
            continue
        tasks_t = [Task(support=(xs, ys), query=(xs, ys, xq, yq)) for xs, ys, xq, yq in batch]
        optimizer.zero_grad()
        loss = maml_loss(
            model,
            params,
            tasks_t,
            marginal_nll,
            inner_steps=config.inner_steps,
            inner_lr=config.inner_lr,
            first_order=config.first_order,
            query_loss_fn=predictive_nll,
            vectorize=None,  # vmap when the meta-batch stacks (same sizes), else a loop
        )
        if not torch.isfinite(loss):
            continue  # A degenerate sample (e.g. a constant support set); skip the step.
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 10.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_step is not None and (step + 1) % every == 0:
            on_step(step + 1, params)
    info = {
        "tasks": len(usable),
        "replayed_tasks": len(old),
        "evaluations": int(sum(len(t.y) for t in usable)),
        "meta_steps": config.meta_steps,
        "seconds": round(time.perf_counter() - started, 3),
        "loss_first": float(np.mean(losses[:20])) if losses else None,
        "loss_last": float(np.mean(losses[-20:])) if losses else None,
        "task_names": [t.name for t in usable][:200],
        "version": (init.info.get("version", 0) + 1) if init is not None else 1,
    }
    return MetaModel(n_features, config, {k: v.detach().clone() for k, v in params.items()}, info)


def meta_test_loss(
    model: MetaModel,
    tasks: Sequence[TaskData],
    n_support: int = 10,
    n_query: int = 50,
    repeats: int = 5,
    seed: int = 0,
    adapt_steps: int | None = None,
) -> float:
    """Mean predictive NLL on query sets after adapting on ``n_support`` points per task."""
    import torch

    from metahpo.metalearn import adapt
    from metahpo.surrogates._deep_kernel import marginal_nll, predictive_nll

    rng = np.random.default_rng(seed)
    net = model.net()
    steps = model.config.inner_steps if adapt_steps is None else adapt_steps
    values = []
    for task in (_warp(t, model.config.task_transform) for t in tasks):
        for _ in range(repeats):
            split = _split(task, n_support, n_query, rng)
            if split is None:
                continue
            xs, ys, xq, yq = split
            params = {k: v.detach() for k, v in model.params.items()}
            if steps:
                params = adapt(
                    net,
                    params,
                    marginal_nll,
                    (xs, ys),
                    steps=steps,
                    inner_lr=model.config.inner_lr,
                    first_order=True,
                )
            with torch.no_grad():
                values.append(float(predictive_nll(net, params, (xs, ys, xq, yq))))
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def continual_update(
    model: MetaModel,
    new_tasks: Sequence[TaskData],
    old_tasks: Sequence[TaskData],
    steps: int = 60,
    replay_fraction: float = 0.75,
    lr_factor: float = 0.3,
) -> MetaModel:
    """Fine-tune θ on finished studies' tasks, replaying stored tasks against forgetting.

    Gentle by design: a smaller learning rate than meta-training (``lr_factor``) and most
    of each meta-batch replayed from ``old_tasks``, so one new study refines θ without
    overwriting what the knowledge base taught it.
    """
    config = replace(
        model.config,
        meta_steps=steps,
        meta_lr=model.config.meta_lr * lr_factor,
        seed=model.config.seed + model.info.get("version", 1),
    )
    return meta_train(
        new_tasks, config, init=model, replay=old_tasks, replay_fraction=replay_fraction
    )


def _warp(task: TaskData, kind: str) -> TaskData:
    """The task with its losses on the meta-training scale (see ``task_transform``)."""
    if kind == "standardize" or len(task.y) == 0:
        return task
    from scipy.special import ndtri
    from scipy.stats import rankdata

    # Mid-ranks: tied losses (e.g. several configs at a perfect score) stay tied.
    return TaskData(task.X, ndtri((rankdata(task.y) - 0.5) / len(task.y)), task.name)


def _split(
    task: TaskData, n_support: int, n_query: int, rng: np.random.Generator
) -> tuple[Any, ...] | None:
    """A random support/query split, losses standardised with the support set's statistics."""
    import torch

    n = len(task.y)
    if n < 3:
        return None
    n_support = min(n_support, n - 1)
    order = rng.permutation(n)
    support, query = order[:n_support], order[n_support : n_support + n_query]
    ys = task.y[support]
    center, scale = float(np.mean(ys)), float(np.std(ys))
    if not np.isfinite(scale) or scale < 1e-9:
        scale = float(np.std(task.y)) or 1.0
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return (
        as_t(task.X[support]),
        as_t((ys - center) / scale),
        as_t(task.X[query]),
        as_t((task.y[query] - center) / scale),
    )


def tasks_to_data(tasks: Sequence[Any], encoding: Any, max_rows: int | None = 2000) -> list[TaskData]:
    """Knowledge-base tasks as surrogate inputs under ``encoding`` (a ``SpaceEncoding``).

    Without a budget column only each task's full-budget rows are used; otherwise every
    row, its budget clipped into the study's range by the encoding. Large tasks are
    subsampled to ``max_rows`` (deterministically).
    """
    out = []
    for task in tasks:
        chosen = task if encoding.has_budget else task.at_budget(None)
        if not chosen.has_evaluations:
            continue
        full = encoding.max_budget if encoding.max_budget is not None else 1.0
        budgets = np.full(chosen.n_evaluations, full) if chosen.budgets is None else np.asarray(chosen.budgets)
        X = encoding.inputs(chosen.unit, budgets)
        y = np.asarray(chosen.losses, dtype=float)
        if max_rows is not None and len(y) > max_rows:
            keep = np.random.default_rng(0).choice(len(y), max_rows, replace=False)
            X, y = X[keep], y[keep]
        out.append(TaskData(X, y, task.name))
    return out
