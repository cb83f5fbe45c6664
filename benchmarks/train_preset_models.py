"""Meta-train the ready-made meta-model shipped beside each preset's bundled knowledge.

For every preset whose bundled knowledge exists (or the ones named on the command line),
meta-trains ``meta_train(tasks_to_data(kb.tasks(space), SpaceEncoding(space)),
MetaTrainingConfig())`` over the bundle's full-budget rows (no budget column) and writes
``MetaModel.to_bytes()`` to ``src/metahpo/knowledge/data/<knowledge>/meta_model.safetensors``,
which ``metahpo.knowledge.bundled_meta_model`` reads. Prints one line per preset with the
training time; run it again after a bundle is rebuilt. The trend weight's prior
(:func:`metahpo.surrogates.meta.trend_prior`) is measured on the same tasks and stored in
the model's info.

Usage:
    PYTHONPATH=src python benchmarks/train_preset_models.py [PRESET ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from metahpo import presets
from metahpo.knowledge import META_MODEL_FILE, bundled_knowledge, bundled_names
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaTrainingConfig, meta_train, tasks_to_data, trend_prior

DATA = Path(__file__).resolve().parents[1] / "src" / "metahpo" / "knowledge" / "data"


def train(name: str) -> None:
    preset = presets.get(name)
    if preset.knowledge_name not in bundled_names():
        print(f"{name}: no bundled knowledge {preset.knowledge_name!r}; skipped")
        return
    kb = bundled_knowledge(preset.knowledge_name)
    encoding = SpaceEncoding(preset.space)
    data = tasks_to_data(kb.tasks(preset.space), encoding)
    start = time.perf_counter()
    model = meta_train(data, MetaTrainingConfig())
    seconds = time.perf_counter() - start
    model.info["bundle"] = preset.knowledge_name
    # Shipped with the model, so a study's first suggestion does not measure it again.
    mean, std = trend_prior(model, data)
    model.info["trend_prior"] = [round(mean, 6), round(std, 6)]
    (DATA / preset.knowledge_name / META_MODEL_FILE).write_bytes(model.to_bytes())
    print(
        f"{name}: {len(data)} tasks, {encoding.n_features} features, meta-trained in {seconds:.1f} s"
    )


def main() -> None:
    torch.set_num_threads(1)
    for name in sys.argv[1:] or presets.names():
        train(name)


if __name__ == "__main__":
    main()
