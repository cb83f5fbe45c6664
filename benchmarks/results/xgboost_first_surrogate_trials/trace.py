"""Each trial of the lifelong benchmark's ``bundle-alone`` way, with its config and why:

    PYTHONPATH=src:benchmarks/src .venv/bin/python benchmarks/results/xgboost_first_surrogate_trials/trace.py xgboost-classifier 0 20 OUT.json

(preset, ordering, number of studies, output). Each study: the preset with the dataset's
task descriptor, defaults, 20 trials, 3-fold CV, at most 1,000 rows, a storage of its own.
"""

import json
import sys
import tempfile
from pathlib import Path

import metahpo as mh
from metahpo_bench.keel import keel_held_out, load_keel_xy


def main() -> None:
    preset_name, ordering, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    preset = mh.presets.get(preset_name)
    order = keel_held_out({t.name for t in preset.knowledge()}, 20, ordering)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for k, name in enumerate(order[:n]):
            X, y = load_keel_xy(name, 1000)
            study = mh.create_study(name=name, preset=preset.name, task=mh.Task.from_data(X, y),
                                    storage=f"sqlite:///{folder}/s{k}.db", seed=1000 * ordering + k)
            study.optimize(preset.objective(X, y, cv=3), n_trials=20, show_progress=False)
            for t in study.trials:
                why = t.user_attrs.get("why", {})
                rows.append({"dataset": name, "k": k, "number": t.number, "value": t.value, "config": t.config,
                             "source": why.get("source"), "model": why.get("model"),
                             "rank": why.get("portfolio_rank"), "prior_weight": why.get("prior_weight")})
            print(name, [round(t.value, 4) for t in study.trials], flush=True)
    out.write_text(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()
