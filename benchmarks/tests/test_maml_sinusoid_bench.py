"""The sinusoid benchmark program and its ``metahpo-bench maml-sinusoid`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from metahpo_bench.cli import app
from metahpo_bench.maml_sinusoid import (
    METHODS,
    QUICK,
    SinusoidSettings,
    run,
    sample_sinusoid_tasks,
    train,
)


def test_task_distribution_matches_the_paper():
    stacked, amplitude, phase = sample_sinusoid_tasks(np.random.default_rng(0), 2000, 10, 5)
    x = stacked.support[0].numpy()
    assert stacked.support[0].shape == (2000, 10, 1) and stacked.query[0].shape == (2000, 5, 1)
    assert amplitude.min() >= 0.1 and amplitude.max() <= 5.0
    assert phase.min() >= 0.0 and phase.max() <= math.pi
    assert x.min() >= -5.0 and x.max() <= 5.0
    expected = amplitude[:, None] * np.sin(x[..., 0] - phase[:, None])
    np.testing.assert_allclose(stacked.support[1].numpy()[..., 0], expected, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
def test_training_is_deterministic(method):
    settings = SinusoidSettings(meta_iterations=2, meta_batch=3)

    def params(entropy: int):
        trained, _ = train(method, settings, np.random.SeedSequence(entropy), init_seed=7)
        return np.concatenate([v.numpy().ravel() for v in trained.values()])

    np.testing.assert_array_equal(params(1), params(1))
    assert not np.array_equal(params(1), params(2))


def test_cli_writes_a_summary_with_every_method(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["maml-sinusoid", "--iterations", "3", "--test-tasks", "20", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == set(METHODS)
    for method in METHODS:
        assert set(summary["methods"][method]["mse"]) == {"0", "1", "10"}
        assert len(summary["methods"][method]["curve_mean"]) == 11
    assert summary["command"].startswith("metahpo-bench maml-sinusoid")
    for name in ("results.md", "results.csv", "adaptation.png", "maml.safetensors"):
        assert (out / name).is_file()


def test_quick_run_beats_the_pretrained_baseline(tmp_path):
    summary = run(QUICK, tmp_path, make_plot=False)
    maml, pretrained = summary["methods"]["maml"]["mse"], summary["methods"]["pretrained"]["mse"]
    assert maml["1"] < pretrained["1"]
    assert maml["10"] < pretrained["10"]
