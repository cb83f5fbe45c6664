"""The few-shot digits check: class splits, task sampling, one tiny end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import torch

from metahpo_bench.fewshot import (
    N_WAY,
    FewShotSettings,
    digits_classes,
    fewshot_cnn,
    run,
    sample_tasks,
)


def test_splits_have_the_documented_classes():
    train, validation, test = digits_classes()
    assert (len(train), len(validation), len(test)) == (15, 5, 5)
    assert all(
        c.shape[1:] == (1, 8, 8) and c.dtype == np.float32 for c in train + validation + test
    )
    assert min(c.min() for c in test) >= 0.0 and max(c.max() for c in test) <= 1.0
    # Validation classes are the training digits at the one rotation training never sees.
    np.testing.assert_array_equal(validation[0], np.rot90(train[0], k=3, axes=(2, 3)))


def test_sampled_tasks_are_balanced_with_permuted_labels():
    _, _, test = digits_classes()
    tasks = sample_tasks(np.random.default_rng(0), test, 40, 5, 3)
    assert tasks.support[0].shape == (40, N_WAY * 5, 1, 8, 8)
    assert tasks.query[1].shape == (40, N_WAY * 3)
    for labels in tasks.support[1]:
        assert torch.equal(torch.bincount(labels), torch.full((N_WAY,), 5))
    # Each label names different digits in different tasks.
    first_images = tasks.support[0][:, 0].reshape(40, -1)
    assert len({tuple(row.tolist()) for row in first_images}) > 1
    assert fewshot_cnn()(tasks.support[0][0]).shape == (N_WAY * 5, N_WAY)


def test_tiny_run_writes_results(tmp_path):
    settings = FewShotSettings(
        shots=(1,),
        meta_iterations=2,
        eval_every=1,
        validation_tasks=4,
        meta_batch=2,
        pretrain_iterations=2,
        head_steps=2,
        test_tasks=6,
    )
    summary = run(settings, tmp_path)
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert stored["results"] == summary["results"]
    assert set(summary["results"]["1"]) == {"maml", "maml_last", "scratch", "pretrained_head"}
    assert len(summary["maml_checkpoints"]["1"]) == 2
    assert (tmp_path / "results.md").read_text().count("| 1 |") == 2
