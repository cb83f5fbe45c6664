"""How far trials 4-8 lie from the bundle's design, beside the design's own spacing and
random configs (Euclidean distance to the nearest design config, unit cube).

    PYTHONPATH=src:benchmarks/src .venv/bin/python benchmarks/results/xgboost_first_surrogate_trials/support.py TRACE.json
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

import metahpo as mh

preset = mh.presets.get("xgboost-classifier")
space = preset.space
design = np.unique(np.vstack([np.asarray(t.at_budget(None).unit) for t in preset.knowledge().tasks(space)]), axis=0)
tree = cKDTree(design)
rows = json.loads(Path(sys.argv[1]).read_text())
q = [0.1, 0.5, 0.9, 1.0]
print(f"{len(design)} distinct design configs")
print("design, to its nearest other config:", np.round(np.quantile(tree.query(design, k=2)[0][:, 1], q), 3))
print("trials 4-8:", np.round(np.quantile(tree.query(space.to_unit([r["config"] for r in rows if 3 <= r["number"] <= 7]))[0], q), 3))
corner = [r["config"] for r in rows if 3 <= r["number"] <= 7
          and (r["config"]["learning_rate"] >= 0.95 or r["config"]["learning_rate"] <= 0.0011)]
print(f"the {len(corner)} of them at learning_rate >= 0.95 or <= 0.0011:", np.round(np.quantile(tree.query(space.to_unit(corner))[0], q), 3))
print("2,000 random configs:", np.round(np.quantile(tree.query(np.random.default_rng(0).random((2000, len(space))))[0], q), 3))
