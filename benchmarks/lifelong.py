"""The lifelong benchmark: does tuning get better from study to study?

For each preset, ``--studies`` datasets held out of the preset's bundled knowledge are tuned
one after another, as a user would: defaults, ``study.optimize``, one SQLite storage per
run. Four ways, on the same datasets in the same order (``--orderings`` random orders):

* ``metabo+bundle``: ``create_study(preset=NAME, task=Task.from_data(X, y))`` — ``"auto"``
  with the preset's bundled knowledge and ready-trained meta-model, plus the storage;
* ``metabo-empty``: ``create_study(space=preset.space, knowledge=<the storage>)`` — ``"auto"``
  learning only from the user's own earlier studies (GP-BO until three exist);
* ``gpbo``: metahpo's cold start;
* ``optuna``: Optuna's default sampler (TPE), on the same objective;
* ``bundle-alone``: as ``metabo+bundle``, but each study in a storage of its own, so it
  never sees the user's earlier studies: what the bundle alone gives. Paired with
  ``metabo+bundle`` on the same dataset at the same k, the difference is what the user's
  own earlier studies add, free of how hard the k-th dataset happens to be.

``--datasets shifted`` tunes a generated family of related datasets instead
(:mod:`metahpo_bench.shifted`): data unlike the bundle's KEEL tasks, where what a user's
own earlier studies add on top of the bundle can show.

Regret of a run after n trials: its best loss minus the best loss any way found on that
dataset. The report gives the median regret at 5 / 10 / 20 trials of study k (k in blocks),
each way's ratio to GP-BO and Optuna paired on the same datasets, and a plot of the regret
at 10 trials against k.

    .venv/bin/python benchmarks/lifelong.py --presets hgb-classifier,logistic-regression,random-forest-classifier --studies 20 --trials 20 --out benchmarks/results/lifelong
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import metahpo as mh
from metahpo_bench.keel import keel_held_out, load_keel_xy
from metahpo_bench.options import out_directory
from metahpo_bench.shifted import is_shifted, load_shifted_xy, shifted_family

WAYS = ("metabo+bundle", "metabo-empty", "gpbo", "optuna", "bundle-alone")
CHECKPOINTS = (5, 10, 20)


def run_metahpo(way: str, preset: Any, order: list[str], args: argparse.Namespace, seed: int) -> list[list[float]]:
    curves = []
    with tempfile.TemporaryDirectory() as folder:
        for k, name in enumerate(order):
            # One storage for the whole sequence, except for the bundle alone.
            url = f"sqlite:///{folder}/{f'study{k}' if way == 'bundle-alone' else 'lifelong'}.db"
            X, y = load_xy(name, args.max_rows)
            task = mh.Task.from_data(X, y)
            if way in ("metabo+bundle", "bundle-alone"):
                study = mh.create_study(name=name, preset=preset.name, task=task, storage=url, seed=seed + k)
            elif way == "metabo-empty":
                study = mh.create_study(name=name, space=preset.space, task=task, storage=url,
                                        knowledge=url, seed=seed + k)
            else:
                study = mh.create_study(name=name, space=preset.space, task=task, storage=url,
                                        optimizer="gpbo", seed=seed + k)
            study.optimize(preset.objective(X, y, cv=args.cv), n_trials=args.trials, show_progress=False)
            curves.append(best_so_far([t.value for t in study.trials]))
            logging.info("%s %s study %d (%s): best %.4f", preset.name, way, k + 1, name, curves[-1][-1])
    return curves


def run_optuna(preset: Any, order: list[str], args: argparse.Namespace, seed: int) -> list[list[float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    curves = []
    for k, name in enumerate(order):
        X, y = load_xy(name, args.max_rows)
        objective = preset.objective(X, y, cv=args.cv)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed + k))
        study.optimize(lambda trial, f=objective: f(_Config(_suggest(trial, preset.space))), n_trials=args.trials)
        curves.append(best_so_far([t.value for t in study.trials]))
    return curves


def load_xy(name: str, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    return load_shifted_xy(name, max_rows) if is_shifted(name) else load_keel_xy(name, max_rows)


class _Config:
    """What a metahpo objective reads of a trial, for a config Optuna chose."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config, self.budget, self.number = config, None, 0

    def report(self, step: float, value: float) -> None:
        del step, value

    def should_stop(self) -> bool:
        return False


def _suggest(trial: Any, space: mh.Space) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, mh.Float):
            config[name] = trial.suggest_float(name, param.low, param.high, log=param.log)
        elif isinstance(param, mh.Int):
            config[name] = trial.suggest_int(name, param.low, param.high, log=param.log)
        else:
            config[name] = trial.suggest_categorical(name, list(param.choices))
    return config


def best_so_far(values: list[float | None]) -> list[float]:
    out, best = [], np.inf
    for value in values:
        if value is not None and np.isfinite(value):
            best = min(best, float(value))
        out.append(best)
    return out


def report(results: dict[str, Any], args: argparse.Namespace, seconds: float) -> str:
    lines = ["# Lifelong tuning: regret of study k after n trials", "",
             f"Command: `.venv/bin/python benchmarks/lifelong.py --presets {args.presets} --studies {args.studies} "
             f"--trials {args.trials} --orderings {args.orderings} --cv {args.cv} --datasets {args.datasets} --max-rows {args.max_rows} --out {args.out}`  ",
             f"Run time of this invocation {seconds / 60:.1f} min (runs it resumed are not counted). Regret: the run's best loss minus the best loss any way found on the "
             "dataset (validation loss of the preset's objective). Medians over datasets and orderings.", ""]
    checkpoints = [n for n in CHECKPOINTS if n <= args.trials]
    edges = sorted({0, *range(5, args.studies, 5), args.studies})
    blocks = [*itertools.pairwise(edges), (0, args.studies)]
    for preset, by_order in results.items():
        regrets = regret_table(by_order)
        lines += [f"## {preset}", "", "| way | studies | " + " | ".join(f"n={n}" for n in checkpoints) + " |",
                  "|---|---|" + "---:|" * len(checkpoints)]
        for way in WAYS:
            for lo, hi in blocks:
                cells = [np.median(regrets[way][:, lo:hi, n - 1]) for n in checkpoints]
                lines.append(f"| {way} | {lo + 1}-{hi} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
        n = min(10, args.trials)
        lines += ["", f"Median over all studies of the paired ratio of regrets at {n} trials (ties at 0 excluded):", ""]
        for way in ("metabo+bundle", "metabo-empty"):
            for ref in ("gpbo", "optuna"):
                lines.append(f"- {way} / {ref}: {paired_ratio(regrets[way], regrets[ref], n):.2f}")
        lines += ["", *target_lines(regrets, n), ""]
    return "\n".join(lines)


def target_lines(regrets: dict[str, np.ndarray], n: int) -> list[str]:
    """The benchmark's targets at ``n`` trials, each with the figures it is judged on."""
    from scipy.stats import spearmanr

    def median(way: str, first: int = 1) -> float:
        return float(np.median(regrets[way][:, first - 1 :, n - 1]))

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else ("0/0" if a == 0 else "inf")

    late = 10 if regrets["gpbo"].shape[1] >= 10 else 1
    rows = [
        ("with the bundle, median regret <= 0.5x GP-BO's", median("metabo+bundle"), median("gpbo"), 0.5),
        ("with the bundle, median regret <= 0.5x Optuna's", median("metabo+bundle"), median("optuna"), 0.5),
        (f"from empty, studies {late}+: median regret <= 0.7x GP-BO's", median("metabo-empty", late),
         median("gpbo", late), 0.7),
        (f"from empty, studies {late}+: within 1.2x of the bundled run", median("metabo-empty", late),
         median("metabo+bundle", late), 1.2),
    ]
    lines = [f"Targets at {n} trials (median regrets over the same datasets):", "",
             "| target | way | reference | ratio | met |", "|---|---:|---:|---:|---|"]
    for text, a, b, limit in rows:
        # Log-losses closer than 1e-4 are within the noise of a 3-fold estimate: a tie, not a ratio.
        met = "tie (both < 1e-4)" if max(a, b) < 1e-4 else ("yes" if a <= limit * b else "no")
        lines.append(f"| {text} | {a:.4f} | {b:.4f} | {ratio(a, b)} | {met} |")
    k = np.tile(np.arange(1, regrets["gpbo"].shape[1] + 1), regrets["gpbo"].shape[0])
    lines += ["", f"Learning with k, at {n} trials: the gain of a way over its reference on the same dataset at "
              "the same k (the reference's regret minus the way's), its Spearman correlation with k "
              "(positive: the gain grows with k) and its mean over studies 1-9 and from 10 on:", ""]
    for way, ref in (("metabo+bundle", "bundle-alone"), ("metabo-empty", "gpbo"), ("metabo+bundle", "gpbo")):
        gain = regrets[ref][:, :, n - 1] - regrets[way][:, :, n - 1]
        rho, p = spearmanr(k, gain.ravel())
        lines.append(f"- {way} over {ref}: rho = {rho:.2f} (p = {p:.2f}); mean gain {gain[:, :late - 1].mean():.4f} "
                     f"(studies 1-{late - 1}), {gain[:, late - 1:].mean():.4f} (studies {late}+)")
    lines += ["", *own_studies_lines(regrets, n)]
    return lines


def own_studies_lines(regrets: dict[str, np.ndarray], n: int) -> list[str]:
    """What the user's own earlier studies add to the bundle: ``metabo+bundle`` against the
    bundle alone on the same dataset at the same k, from study 2 on (study 1 has none)."""
    from scipy.stats import wilcoxon

    lines = ["What the user's own earlier studies add to the bundle (bundle-alone's regret minus "
             "metabo+bundle's, paired, studies 2+; positive: they help):", ""]
    for m in [c for c in CHECKPOINTS if c <= regrets["gpbo"].shape[2]]:
        gain = (regrets["bundle-alone"][:, 1:, m - 1] - regrets["metabo+bundle"][:, 1:, m - 1]).ravel()
        moved = gain[gain != 0]
        p = wilcoxon(moved).pvalue if len(moved) else float("nan")
        lines.append(f"- n={m}: mean {gain.mean():.4f} ± {gain.std(ddof=1) / np.sqrt(len(gain)):.4f} (s.e.), "
                     f"better on {int(np.sum(gain > 0))} of {len(moved)} studies that differ, Wilcoxon p = {p:.3g}")
    return lines


def regret_table(by_order: list[dict[str, list[list[float]]]]) -> dict[str, np.ndarray]:
    """(orderings, studies, trials) regrets per way, against the best of every way."""
    out = {}
    for way in WAYS:
        rows = []
        for runs in by_order:
            best = [min(min(runs[w][k]) for w in WAYS) for k in range(len(runs[way]))]
            rows.append([np.subtract(curve, b) for curve, b in zip(runs[way], best, strict=True)])
        out[way] = np.asarray(rows)
    return out


def paired_ratio(a: np.ndarray, b: np.ndarray, n: int) -> float:
    x, y = a[:, :, n - 1].ravel(), b[:, :, n - 1].ravel()
    keep = (x > 0) | (y > 0)
    return float(np.median((x[keep] + 1e-9) / (y[keep] + 1e-9))) if keep.any() else float("nan")


def plot(results: dict[str, Any], out: Path, checkpoints: tuple[int, ...] = (5, 10, 20), block: int = 5) -> Path:
    """Median regret after each checkpoint's trials against k, over blocks of ``block``
    studies (one study's median over the orderings is too noisy to read): a row per
    checkpoint, a column per preset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(checkpoints), len(results), figsize=(4.2 * len(results), 2.9 * len(checkpoints)),
                             squeeze=False, sharex=True)
    for column, (preset, by_order) in enumerate(results.items()):
        regrets = regret_table(by_order)
        for row, n in enumerate(checkpoints):
            ax = axes[row][column]
            for way in WAYS:
                at_n = regrets[way][:, :, min(n, regrets[way].shape[2]) - 1]
                starts = range(0, at_n.shape[1], block)
                curve = [np.median(at_n[:, k : k + block]) for k in starts]
                centres = [k + (min(k + block, at_n.shape[1]) - k + 1) / 2 for k in starts]
                ax.plot(centres, curve, marker="o", ms=4, label=way)
            ax.set_yscale("symlog", linthresh=1e-4)
            ax.set_ylim(bottom=0)
            if row == 0:
                ax.set_title(preset)
            if row == len(checkpoints) - 1:
                ax.set_xlabel(f"study k (medians over blocks of {block})")
            if column == 0:
                ax.set_ylabel(f"regret after {n} trials")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path = out / "lifelong.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def keep_settings(out: Path, settings: dict[str, Any]) -> str | None:
    """Record ``settings`` in ``out/settings.json``; or, if ``out`` holds runs made with other
    settings or unknown ones, leave it as it is and return why those runs cannot be resumed.

    The keys of ``runs.jsonl`` leave out how each study is run (``--datasets``, ``--cv``,
    ``--max-rows``): a resume with other settings would mix their curves under one report.
    """
    settings_file, log = out / "settings.json", out / "runs.jsonl"
    if settings_file.exists():
        recorded = json.loads(settings_file.read_text())
        differ = [f"--{key.replace('_', '-')} {recorded.get(key)!r} (given: {settings.get(key)!r})"
                  for key in sorted({*recorded, *settings}) if recorded.get(key) != settings.get(key)]
        if differ:
            return f"{out} holds runs made with {', '.join(differ)}: give the same settings or another --out."
    elif log.exists():
        # Folders from before settings.json: their runs' settings are not known.
        return (f"{log} has no settings.json beside it, so the settings of its runs are unknown: if they "
                f"are these, write {json.dumps(settings)} to {settings_file}; otherwise give another --out.")
    settings_file.write_text(json.dumps(settings) + "\n")
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default="hgb-classifier,logistic-regression,random-forest-classifier")
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--orderings", type=int, default=1)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--datasets", choices=("keel", "shifted"), default="keel",
                        help="KEEL datasets held out of each bundle, or a generated family unlike them")
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--out", type=out_directory, default="benchmarks/results/lifelong")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    results: dict[str, Any] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    refusal = keep_settings(args.out, {"datasets": args.datasets, "cv": args.cv, "max_rows": args.max_rows})
    if refusal:
        parser.error(refusal)
    done = {}
    if log.exists():
        done = {row["key"]: row["curves"] for row in map(json.loads, log.read_text().splitlines())}
    for preset_name in args.presets.split(","):
        preset = mh.presets.get(preset_name)
        bundled = {task.name for task in preset.knowledge()}
        by_order = []
        for ordering in range(args.orderings):
            order = (shifted_family(args.studies, ordering) if args.datasets == "shifted"
                     else keel_held_out(bundled, args.studies, ordering))
            runs = {}
            for way in WAYS:
                key = f"{preset_name}|{ordering}|{way}|{args.studies}|{args.trials}"
                if key not in done:
                    seed = 1000 * ordering
                    curves = (run_optuna(preset, order, args, seed) if way == "optuna"
                              else run_metahpo(way, preset, order, args, seed))
                    done[key] = curves
                    with log.open("a") as f:  # one line per finished run: a rerun resumes after it
                        f.write(json.dumps({"key": key, "curves": curves}) + "\n")
                runs[way] = done[key]
            by_order.append(runs)
        results[preset_name] = by_order
        (args.out / "curves.json").write_text(json.dumps(results))
    text = report(results, args, time.perf_counter() - started)
    print(text)
    (args.out / "README.md").write_text(text + f"\n![regret after 5, 10 and 20 trials against k]({plot(results, args.out).name})\n")


if __name__ == "__main__":
    main()
