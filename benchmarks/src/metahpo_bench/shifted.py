"""A family of related datasets unlike the bundled knowledge's: a user's own kind of data.

The lifelong benchmark's KEEL datasets resemble the ones the presets' bundles were built
from, so the bundle already covers them. These are generated instead (scikit-learn's
``make_classification``): every dataset of the family is drawn from one recipe — many
noisy, redundant features, label noise, overlapping classes of unequal size — with its
own seed and a varying size and width, so what works on one tends to work on the next
while the bundle's KEEL tasks say little about them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_shifted", "load_shifted_xy", "shifted_family"]

_PREFIX = "shifted-"


def shifted_family(count: int, ordering: int = 0) -> list[str]:
    """``count`` dataset names of the family; ``ordering`` picks another set of seeds."""
    return [f"{_PREFIX}{1000 * ordering + i}" for i in range(count)]


def load_shifted_xy(name: str, max_rows: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """The dataset ``name`` (from :func:`shifted_family`) as ``(X, y)``, at most ``max_rows`` rows."""
    from sklearn.datasets import make_classification

    seed = int(name.removeprefix(_PREFIX))
    rng = np.random.default_rng(seed)
    n_features = int(rng.integers(20, 41))
    X, y = make_classification(
        n_samples=min(max_rows, int(rng.integers(500, 1001))),
        n_features=n_features,
        n_informative=int(rng.integers(4, 8)),
        n_redundant=int(rng.integers(4, 10)),
        n_clusters_per_class=3,
        flip_y=float(rng.uniform(0.1, 0.2)),
        class_sep=float(rng.uniform(0.5, 0.8)),
        weights=[float(rng.uniform(0.6, 0.8))],
        random_state=seed,
    )
    return X.astype(float), y


def is_shifted(name: str) -> bool:
    return name.startswith(_PREFIX)
