"""The meta-learned model's prediction for each study's trials 4-8, conditioned on its first
three trials (the warm start), beside its spread over 1,024 random configs.

    PYTHONPATH=src:benchmarks/src .venv/bin/python benchmarks/results/xgboost_first_surrogate_trials/diagnose.py TRACE.json [--clamp]

``--clamp`` first applies ``clamp_patch.py`` (the trend clamped to its range over the
knowledge's designs).
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

if "--clamp" in sys.argv:
    sys.path.insert(0, str(Path(__file__).parent))
    import clamp_patch  # noqa: F401

import metahpo as mh
from metahpo.optimizers._metabo import _of_study_type
from metahpo.surrogates import SpaceEncoding, torch_threads

rows = json.loads(Path(sys.argv[1]).read_text())
for k in range(4):
    runs = [r for r in rows if r["k"] == k]
    study = mh.create_study(preset="xgboost-classifier", seed=0)
    for r in runs[:3]:
        study.enqueue(r["config"])
        study.tell(study.ask(), r["value"])
    optimizer = study.optimizer
    history = study.history()
    kb = _of_study_type(optimizer.knowledge, history)
    encoding = SpaceEncoding(history.space, history.min_budget, history.max_budget)
    with torch_threads(1):
        _, meta, checked = optimizer._fit(kb, history, encoding, ())
    picked = encoding.inputs(history.space.to_unit([r["config"] for r in runs[3:8]]), None)
    random = encoding.inputs(np.random.default_rng(0).random((1024, len(history.space))), None)
    with torch.no_grad():
        mean, std = meta.predict(torch.as_tensor(picked))
        rmean, rstd = meta.predict(torch.as_tensor(random))
    print(k, checked, "losses", [round(r["value"], 3) for r in runs[:8]])
    print("  trials 4-8: mean", np.round(mean.numpy(), 2), "std", np.round(std.numpy(), 2))
    print("  random configs, 5/50/95%: mean", np.round(np.quantile(rmean.numpy(), [0.05, 0.5, 0.95]), 2),
          "std", np.round(np.quantile(rstd.numpy(), [0.05, 0.5, 0.95]), 2))
