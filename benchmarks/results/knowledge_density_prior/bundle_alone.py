"""The lifelong benchmark's ``bundle-alone`` way for one ordering, with the library on
``PYTHONPATH``: each held-out KEEL dataset tuned with the preset's bundle and ready-trained
meta-model, defaults, 20 trials, 3-fold CV, a storage of its own. Writes the best-so-far
curves as JSON to ``--out``.

``--prior`` applies this experiment's first version by monkeypatching: MetaBO's log EI in
its meta-learned phase weighted by a kernel density of the best ``--top`` of the ``--k``
nearest tasks' evaluations, each task weighted by its similarity. The version in
``change.diff`` is the library's, run from a checkout with it applied and no ``--prior``.
"""

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks" / "src"))

import metahpo as mh  # noqa: E402
import metahpo.optimizers._bo as bo  # noqa: E402
import metahpo.optimizers._metabo as mb  # noqa: E402
from metahpo.surrogates import LogExpectedImprovement  # noqa: E402
from metahpo_bench.keel import keel_held_out  # noqa: E402

STATE: dict = {}


class Density:
    """The first version's weighted Gaussian kernel density: diagonal bandwidths by Scott's
    rule on the points' unweighted spread (at least 0.05), up to a constant."""

    def __init__(self, points, weights):
        self.points = torch.as_tensor(points, dtype=torch.float64)
        weights = torch.as_tensor(weights, dtype=torch.float64)
        weights = weights / weights.sum()
        n_eff = float(1.0 / (weights**2).sum())
        spread = self.points.std(0).clamp_min(0.05)
        self.bandwidth = spread * n_eff ** (-1.0 / (self.points.shape[1] + 4))
        self.log_weights = torch.log(weights)

    def __call__(self, z):
        scaled = (z[:, None, :] - self.points[None]) / self.bandwidth
        return torch.logsumexp(self.log_weights - 0.5 * (scaled**2).sum(-1), dim=1) - torch.log(self.bandwidth).sum()


class Weighted(LogExpectedImprovement):
    """Log EI minus the weighted log density that ``STATE`` holds for this suggestion."""

    def __call__(self, z):
        value = super().__call__(z)
        density = STATE.get("density")
        return value if density is None else value - STATE["weight"] * density(z)

    def value_and_grad(self, z):
        closed = super().value_and_grad(z)
        density = STATE.get("density")
        if closed is None or density is None:
            return closed
        with torch.enable_grad():
            x = z.detach().requires_grad_(True)
            log_density = density(x)
            (grad,) = torch.autograd.grad(log_density.sum(), x)
        return closed[0] - STATE["weight"] * log_density.detach(), closed[1] - STATE["weight"] * grad


def patch(k: int, top: float) -> None:
    fit = mb.MetaBO._fit

    def fit_and_density(self, kb, history, encoding, own):
        surrogate, meta, checked = fit(self, kb, history, encoding, own)
        STATE["density"] = None
        if checked["model"] == "meta-learned":
            near = kb.nearest(mb._target(history), k=k + len(own), space=history.space)
            rows, weights = [], []
            for task, similarity in [(t, w) for t, w in near if t.name not in own][:k]:
                at_top = task.at_budget(None)
                losses = np.asarray(at_top.losses)
                keep = np.argsort(losses)[: max(1, round(top * len(losses)))]
                rows.append(encoding.features(np.asarray(at_top.unit)[keep]))
                weights += [similarity / len(keep)] * len(keep)
            STATE["density"] = Density(np.vstack(rows), np.maximum(np.array(weights), 1e-12))
            STATE["weight"] = mb.PRIOR_BETA / history.observed_count()
        return surrogate, meta, checked

    mb.MetaBO._fit = fit_and_density
    bo.LogExpectedImprovement = Weighted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prior", action="store_true")
    parser.add_argument("--preset", default="xgboost-classifier")
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--ordering", type=int, default=0)
    parser.add_argument("--top", type=float, default=0.2)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.prior:
        patch(args.k, args.top)
    spec = importlib.util.spec_from_file_location("lifelong", ROOT / "benchmarks" / "lifelong.py")
    lifelong = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lifelong)
    preset = mh.presets.get(args.preset)
    order = keel_held_out({t.name for t in preset.knowledge()}, args.studies, args.ordering)
    started = time.time()
    settings = argparse.Namespace(max_rows=1000, cv=3, trials=20)
    curves = lifelong.run_metahpo("bundle-alone", preset, order, settings, 1000 * args.ordering)
    Path(args.out).write_text(json.dumps({"order": order, "curves": curves,
                                          "seconds": time.time() - started, "args": vars(args)}))


if __name__ == "__main__":
    main()
