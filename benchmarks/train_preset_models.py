"""Meta-train the ready-made meta-models shipped beside each preset's bundled knowledge.

For every preset whose bundled knowledge exists (or the ones named on the command line),
meta-trains ``meta_train(tasks_to_data(kb.tasks(space), encoding), MetaTrainingConfig())``
twice, as a study would: over the bundle's full-budget rows without a budget column
(``SpaceEncoding(space)``, for studies without a scheduler), written as
``src/metahpo/knowledge/data/<knowledge>/meta_model.safetensors``, and over all its rows
with the budget column of the bundle's budget range (``SpaceEncoding(space, lowest,
highest)`` of its budgets, e.g. 3 to 81 rounds; for studies under a scheduler over that
range), written as
``meta_model_budgets.safetensors``; ``metahpo.knowledge.bundled_meta_model`` reads them.
Prints one line per model with the training time; run it again after a bundle is
rebuilt. The trend weight's prior (:func:`metahpo.surrogates.meta.trend_prior`) is
measured on the same tasks and stored in the model's info.

Usage:
    PYTHONPATH=src python benchmarks/train_preset_models.py [--budgets-only] [PRESET ...]

``--budgets-only`` leaves the shipped models without a budget column as they are.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from metahpo import presets
from metahpo.knowledge import (
    META_MODEL_BUDGETS_FILE,
    META_MODEL_FILE,
    bundled_knowledge,
    bundled_names,
)
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaTrainingConfig, meta_train, tasks_to_data, trend_prior

DATA = Path(__file__).resolve().parents[1] / "src" / "metahpo" / "knowledge" / "data"


def train(name: str, budgets_only: bool = False) -> None:
    preset = presets.get(name)
    if preset.knowledge_name not in bundled_names():
        print(f"{name}: no bundled knowledge {preset.knowledge_name!r}; skipped")
        return
    kb = bundled_knowledge(preset.knowledge_name)
    budgets = preset.knowledge_size()["budgets"]
    low, high = int(min(budgets)), int(max(budgets))
    for encoding, file in (
        *(() if budgets_only else ((SpaceEncoding(preset.space), META_MODEL_FILE),)),
        (SpaceEncoding(preset.space, low, high), META_MODEL_BUDGETS_FILE),
    ):
        data = tasks_to_data(kb.tasks(preset.space), encoding)
        start = time.perf_counter()
        model = meta_train(data, MetaTrainingConfig())
        seconds = time.perf_counter() - start
        model.info["bundle"] = preset.knowledge_name
        if encoding.has_budget:  # what a study's budget range must be to use it
            model.info["budget_range"] = [low, high]
        # Shipped with the model, so a study's first suggestion does not measure it again.
        mean, std = trend_prior(model, data)
        model.info["trend_prior"] = [round(mean, 6), round(std, 6)]
        (DATA / preset.knowledge_name / file).write_bytes(model.to_bytes())
        print(f"{name} ({file}): {len(data)} tasks, {encoding.n_features} features, "
              f"meta-trained in {seconds:.1f} s")


def main() -> None:
    torch.set_num_threads(1)
    args = [a for a in sys.argv[1:] if a != "--budgets-only"]
    for name in args or presets.names():
        train(name, budgets_only="--budgets-only" in sys.argv[1:])


if __name__ == "__main__":
    main()
