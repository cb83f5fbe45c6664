"""The MLP preset's training: the same loss for the same config, whatever runs beside it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

import metahpo as mh
from metahpo.presets._mlp import TorchMLPClassifier

CONFIG = {"learning_rate": 0.01, "width": 32, "weight_decay": 1e-4, "dropout": 0.3, "batch_size": 64}


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 5))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)


def test_trials_on_threads_give_the_sequential_losses_and_leave_the_callers_state_alone():
    X, y = _data()
    objective = mh.presets.objective("mlp-classifier", X, y, cv=2)
    losses = []
    for n_jobs in (1, 3):
        study = mh.create_study(preset="mlp-classifier", optimizer="random", seed=0)
        for _ in range(3):
            study.enqueue(CONFIG, budget=None)
        torch.manual_seed(123)
        state, threads = torch.get_rng_state(), torch.get_num_threads()
        study.optimize(objective, n_trials=3, n_jobs=n_jobs, show_progress=False)
        assert torch.equal(torch.get_rng_state(), state)  # dropout and weights drew nothing from it
        assert torch.get_num_threads() == threads
        losses.append([t.value for t in study.trials])
    assert losses[0] == [losses[0][0]] * 3
    assert losses[1] == losses[0]


def test_models_trained_at_once_on_threads_predict_as_one_trained_alone():
    X, y = _data()
    alone = TorchMLPClassifier(dropout=0.3, width=32, epochs=4).fit(X, y).predict_proba(X)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: TorchMLPClassifier(dropout=0.3, width=32, epochs=4).fit(X, y)
                                 .predict_proba(X), range(4)))
    assert all(np.array_equal(p, alone) for p in together)
