"""After a study: score a meta-model on held-out tasks, and fine-tune it without forgetting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from metahpo.surrogates.meta._config import TaskData
from metahpo.surrogates.meta._model import MetaModel
from metahpo.surrogates.meta._train import meta_train, split_task, warp_task

__all__ = ["continual_update", "meta_test_loss"]


def meta_test_loss(
    model: MetaModel,
    tasks: Sequence[TaskData],
    n_support: int = 10,
    n_query: int = 50,
    repeats: int = 5,
    seed: int = 0,
    adapt_steps: int | None = None,
) -> float:
    """Mean predictive NLL on query sets after adapting on ``n_support`` points per task.

    Predictions are made under the trend weight's prior the model carries
    (``info["trend_prior"]``, measured on its knowledge), as a study's GP makes them, not
    under the ``N(0, 1)`` of meta-training, so that a continual update is judged on the
    posterior studies use (the adaptation here is a fixed number of steps, not a study's
    step count chosen by leave-one-out).
    """
    import torch

    from metahpo.metalearn import adapt
    from metahpo.surrogates._deep_kernel import marginal_nll, predictive_nll

    rng = np.random.default_rng(seed)
    net = model.net()
    steps = model.config.inner_steps if adapt_steps is None else adapt_steps
    prior = tuple(model.info.get("trend_prior", (0.0, 1.0)))
    values = []
    for task in (warp_task(t, model.config.task_transform) for t in tasks):
        for _ in range(repeats):
            split = split_task(task, n_support, n_query, rng)
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
                    inner_lr=model.inner_lr,
                    first_order=True,
                )
            with torch.no_grad():
                values.append(float(predictive_nll(net, params, (xs, ys, xq, yq), prior)))
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
    updated = meta_train(new_tasks, config, init=model, replay=old_tasks, replay_fraction=replay_fraction)
    # The gentler learning rate is this update's alone: the model keeps the configuration it
    # was trained with, so updates do not compound the cut (0.3^k after k updates).
    return replace(updated, config=model.config)
