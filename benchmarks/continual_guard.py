"""The continual update's guard on real studies: which updates it keeps, and what they do.

For a preset, ``--studies`` KEEL datasets held out of its bundle are tuned (GP-BO, the
preset's objective), then the bundle's ready-trained meta-model is updated on them one
after another, as finished studies would update it: each update replays the stored
tasks and is kept only if the guard allows it (``MetaModelProvider`` docs). The table
gives each update's decision, the guard's meta-test losses, and the meta-test loss of the
resulting model on ``--held-out`` further held-out datasets (does what is kept predict
unseen studies better?) and on every task of the bundle (does it forget them?).

    .venv/bin/python benchmarks/continual_guard.py --preset random-forest-classifier --studies 10 --held-out 6 --out benchmarks/results/continual_guard

Two variants of the update, for experiments: ``--interpolate A`` keeps θ + A (θ' − θ)
of an update from θ to θ' (weight-space interpolation between the model and its
fine-tuned version, Wortsman et al., 2022), ``--proximal L`` adds (L / 2) ||θ' − θ||² to
every meta-batch loss of the update (a pull toward the parameters it starts from, as
L2-SP, Li et al., 2018, and EWC with a flat Fisher do), and ``--no-guard`` keeps every
update.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import metahpo as mh
import metahpo.surrogates.meta._provider as provider_module
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaModelProvider, meta_test_loss
from metahpo.surrogates.meta._train import tasks_to_data
from metahpo_bench.keel import keel_held_out, load_keel_xy
from metahpo_bench.options import out_directory


def tuned_tasks(preset: mh.presets.Preset, names: list[str], trials: int, cv: int, max_rows: int) -> list[mh.Task]:
    tasks = []
    for k, name in enumerate(names):
        X, y = load_keel_xy(name, max_rows)
        study = mh.create_study(space=preset.space, optimizer="gpbo", seed=k)
        study.optimize(preset.objective(X, y, cv=cv), n_trials=trials, show_progress=False)
        tasks.append(mh.Task.from_history(study.history(), name=name))
    return tasks


def updates_setup(preset_name: str, n_studies: int, trials: int, cv: int, max_rows: int) -> tuple:
    """What both guard benchmarks start from: the preset, its bundle, ``n_studies`` GP-BO
    studies of held-out KEEL datasets as tasks, the encoding, a provider starting from the
    bundle's ready-trained meta-model, and that model."""
    preset = mh.presets.get(preset_name)
    knowledge = preset.knowledge()
    names = keel_held_out({t.name for t in knowledge}, n_studies, 0)
    tasks = tuned_tasks(preset, names, trials, cv, max_rows)
    encoding = SpaceEncoding(preset.space, None, None)
    provider = MetaModelProvider(initial=preset.meta_model())
    return preset, knowledge, tasks, encoding, provider, provider.model(knowledge, encoding)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="random-forest-classifier")
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--held-out", type=int, default=6)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--out", type=out_directory, default="benchmarks/results/continual_guard")
    parser.add_argument("--interpolate", type=float, default=1.0)
    parser.add_argument("--proximal", type=float, default=0.0)
    parser.add_argument("--no-guard", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    _vary_update(args.interpolate, args.no_guard, args.proximal)
    preset, knowledge, tasks, encoding, provider, model = updates_setup(
        args.preset, args.studies + args.held_out, args.trials, args.cv, args.max_rows)
    held_out = tasks_to_data(tasks[args.studies:], encoding)
    bundle = tasks_to_data(list(knowledge.tasks(preset.space)), encoding)

    def unseen(m: object) -> float:
        return meta_test_loss(m, held_out, repeats=3)  # type: ignore[arg-type]

    def forgotten(m: object) -> float:  # every bundle task: what the updates may forget
        return meta_test_loss(m, bundle, repeats=1)  # type: ignore[arg-type]

    lines = [
        f"# The continual update's guard: {args.preset}",
        "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`",
        "",
        f"The bundle's ready-trained meta-model, updated on {args.studies} studies of KEEL datasets "
        f"held out of the bundle ({args.trials} GP-BO trials each, {args.cv}-fold validation log-loss), "
        f"one after another. Meta-test loss: predictive NLL of query configs after adapting on 10 "
        f"support configs per task, under each model's trend prior (lower is better). Unseen: "
        f"{args.held_out} further held-out datasets' studies, never used for an update.",
        "",
        f"Update: interpolation {args.interpolate:g}; proximal weight {args.proximal:g}; "
        f"guard {'off' if args.no_guard else 'on'}.",
        "",
        "| study | kept | old tasks before → after | new task before → after | unseen tasks after | bundle tasks after |",
        "|---|---|---|---|---:|---:|",
        f"| (bundle's model) | | | | {unseen(model):.4f} | {forgotten(model):.4f} |",
    ]
    old = list(knowledge.tasks(preset.space))
    kept = 0
    for task in tasks[: args.studies]:
        model, summary = provider._grow(model, [task], old, encoding, seed=len(old))
        old.append(task)
        kept += bool(summary["kept"])
        lines.append(
            f"| {task.name} | {'yes' if summary['kept'] else 'no'} | "
            f"{summary['old_tasks_meta_test_loss_before']:.4f} → {summary['old_tasks_meta_test_loss_after']:.4f} | "
            f"{summary['new_tasks_meta_test_loss_before']:.4f} → {summary['new_tasks_meta_test_loss_after']:.4f} | "
            f"{unseen(model):.4f} | {forgotten(model):.4f} |"
        )
    write_report(lines, args.out, f"{args.preset}.md", started, f"Kept {kept} of {args.studies} updates. ")


def _vary_update(alpha: float, no_guard: bool, proximal: float = 0.0) -> None:
    """The experiment's variants, set on the provider module the update is made in."""
    if proximal:
        _pull_toward_start(proximal)
    if alpha != 1.0:
        fine_tune = provider_module.continual_update

        def interpolated(model, new, old, **kwargs):  # type: ignore[no-untyped-def]
            tuned = fine_tune(model, new, old, **kwargs)
            params = {k: v + alpha * (tuned.params[k] - v) for k, v in model.params.items()}
            return replace(tuned, params=params)

        provider_module.continual_update = interpolated  # type: ignore[assignment]
    if no_guard:
        provider_module._verdict = lambda *scores: None  # type: ignore[assignment]


def _pull_toward_start(weight: float) -> None:
    """Add (weight / 2) ||θ' − θ||² to every meta-batch loss of an update from θ; meta-training
    anew is left as it is."""
    import metahpo.metalearn as metalearn

    meta_batch_loss = metalearn.maml_loss
    start: dict = {}  # θ while an update runs, else empty

    def pulled(model, params, *args, **kwargs):  # type: ignore[no-untyped-def]
        loss = meta_batch_loss(model, params, *args, **kwargs)
        if not start:
            return loss
        return loss + 0.5 * weight * sum(((params[k] - v) ** 2).sum() for k, v in start.items())

    update = provider_module.continual_update

    def anchored(model, new, old, **kwargs):  # type: ignore[no-untyped-def]
        start.update({k: v.detach().clone() for k, v in model.params.items()})
        try:
            return update(model, new, old, **kwargs)
        finally:
            start.clear()

    # meta_train imports maml_loss when it runs, so the module attribute is what it calls.
    metalearn.maml_loss = pulled  # type: ignore[assignment]
    provider_module.continual_update = anchored  # type: ignore[assignment]


def write_report(lines: list[str], out: Path, filename: str, started: float, summary: str = "") -> None:
    """Print the report's lines, then ``summary`` and the run time, and write them to ``out/filename``."""
    lines = [*lines, "", f"{summary}Run time {(time.perf_counter() - started) / 60:.1f} min."]
    text = "\n".join(lines) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / filename).write_text(text)


if __name__ == "__main__":
    main()
