"""Meta-training of the deep-kernel GP across knowledge-base tasks, with MAML.

Each meta-step samples a batch of tasks; per task a random support set (a few
evaluations) and a query set. The inner loop adapts θ on the support set's marginal
likelihood; the outer loop scores the adapted model's predictions of the query set
given the support set, and Adam updates θ (Finn et al., 2017, applied to a deep-kernel
GP as in FSBO, Wistuba & Grabocka, 2021).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo._validation import describe, is_real_number
from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates.meta._config import MetaTrainingConfig, TaskData, meta_steps_for
from metahpo.surrogates.meta._model import MetaModel

__all__ = ["meta_train", "split_task", "tasks_to_data", "warp_task"]

logger = logging.getLogger("metahpo.surrogates")


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

    When steps were asked for and the meta-loss was non-finite on every sampled batch, so
    that not one step was taken, a warning says so and ``info["loss_last"]`` is ``None``.
    """
    from metahpo.surrogates._threads import torch_threads

    if not is_real_number(replay_fraction) or not 0.0 <= replay_fraction <= 1.0:
        raise InvalidParameterError(
            f"The 'replay_fraction' parameter of meta_train must be a number in [0, 1]. "
            f"Got {describe(replay_fraction)} instead."
        )
    # Many small kernels: one thread is faster, and parallel studies do not oversubscribe.
    with torch_threads(1):
        config = config or (init.config if init is not None else MetaTrainingConfig())
        if init is not None:
            _check_continues(init.config, config)
        return _meta_train(tasks, config, init, replay, replay_fraction)


# What a model is: continuing it under other values would change its network or the
# scale its kernel was learned on.
_MODEL_FIELDS = ("hidden", "n_outputs", "trend", "task_transform", "learned_step_sizes")


def _check_continues(trained: MetaTrainingConfig, config: MetaTrainingConfig) -> None:
    for name in _MODEL_FIELDS:
        if getattr(config, name) != getattr(trained, name):
            raise InvalidParameterError(
                f"meta_train cannot continue 'init' with a different {name!r}: 'init' was trained "
                f"with {getattr(trained, name)!r}, the config has {getattr(config, name)!r}. Pass "
                f"config=None, or a config with {name}={getattr(trained, name)!r}."
            )


def _meta_train(
    tasks: Sequence[TaskData],
    config: MetaTrainingConfig,
    init: MetaModel | None,
    replay: Sequence[TaskData],
    replay_fraction: float,
) -> MetaModel:
    import torch

    from metahpo.metalearn import Task, maml_loss
    from metahpo.surrogates._deep_kernel import marginal_nll, predictive_nll

    usable = [warp_task(t, config.task_transform) for t in tasks if len(t.y) >= 3]
    if not usable:
        raise InvalidParameterError(
            "meta_train needs at least one task with 3 or more evaluations. Got none."
        )
    n_steps = meta_steps_for(config, len(usable))
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
    # Meta-SGD: step sizes learned on the log scale, so they stay positive.
    log_steps = _initial_log_steps(params, config, init)
    optimizer = torch.optim.Adam([*params.values(), *log_steps.values()], lr=config.meta_lr)
    old = [warp_task(t, config.task_transform) for t in replay if len(t.y) >= 3]
    losses: list[float] = []
    started = time.perf_counter()
    for _ in range(n_steps):
        n_old = round(config.meta_batch * replay_fraction) if old else 0
        chosen = [usable[i] for i in rng.integers(len(usable), size=config.meta_batch - n_old)]
        chosen += [old[i] for i in rng.integers(len(old), size=n_old)] if n_old else []
        n_support = int(rng.integers(config.support_min, config.support_max + 1))
        splits = (split_task(task, n_support, config.query, rng) for task in chosen)
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
            inner_lr={k: v.exp() for k, v in log_steps.items()} if log_steps else config.inner_lr,
            first_order=config.first_order,
            query_loss_fn=predictive_nll,
            vectorize=None,  # vmap when the meta-batch stacks (same sizes), else a loop
        )
        if not torch.isfinite(loss):
            continue  # A degenerate sample (e.g. a constant support set); skip the step.
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*params.values(), *log_steps.values()], 10.0)
        optimizer.step()
        losses.append(float(loss.detach()))
    if n_steps > 0 and not losses:
        # Not raised: a study's suggestion goes on (MetaBO's check then prefers the study's
        # own GP to an untrained model), but the user is told why nothing was learned.
        logger.warning(
            "Meta-training took none of its %d meta-steps: the meta-loss was not finite on any "
            "sampled batch, so the model is untrained. Check the tasks' losses (constant or extreme "
            "values) and the config's inner_lr (%s) and inner_steps (%s).",
            n_steps, config.inner_lr, config.inner_steps)
    info = {
        "tasks": len(usable),
        "replayed_tasks": len(old),
        "evaluations": int(sum(len(t.y) for t in usable)),
        "meta_steps": n_steps,
        "seconds": round(time.perf_counter() - started, 3),
        "loss_first": float(np.mean(losses[:20])) if losses else None,
        "loss_last": float(np.mean(losses[-20:])) if losses else None,
        "task_names": [t.name for t in usable][:200],
        "version": (init.info.get("version", 0) + 1) if init is not None else 1,
    }
    steps = {k: v.detach().exp() for k, v in log_steps.items()} or None
    return MetaModel(n_features, config, {k: v.detach().clone() for k, v in params.items()}, info, steps)


def _initial_log_steps(params: dict[str, Any], config: MetaTrainingConfig, init: MetaModel | None) -> dict[str, Any]:
    """The log step size per weight to start from: ``init``'s learned ones, else ``inner_lr``
    everywhere (none when the step sizes are not learned)."""
    import torch

    if not config.learned_step_sizes:
        return {}
    if init is not None and init.step_sizes is not None:
        return {k: v.detach().clone().log().requires_grad_(True) for k, v in init.step_sizes.items()}
    return {k: torch.full_like(v, float(np.log(config.inner_lr))).requires_grad_(True) for k, v in params.items()}


def warp_task(task: TaskData, kind: str) -> TaskData:
    """The task with its losses on the meta-training scale (see ``task_transform``)."""
    if kind == "standardize" or len(task.y) == 0:
        return task
    from scipy.special import ndtri
    from scipy.stats import rankdata

    # Mid-ranks: tied losses (e.g. several configs at a perfect score) stay tied.
    return TaskData(task.X, ndtri((rankdata(task.y) - 0.5) / len(task.y)), task.name)



def split_task(
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
