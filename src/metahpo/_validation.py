"""Small checks shared by the public entry points, with scikit-learn style messages."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from metahpo.exceptions import InvalidParameterError


def describe(value: Any) -> str:
    """A short repr of a user value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_ordered_collection(value: Any) -> bool:
    """Whether ``value`` lists its items in an order of its own: a list, tuple, range, NumPy
    array or pandas Series, but not a str, a set, a dict or an iterator. A set iterates in
    an order that changes from one process to the next (``PYTHONHASHSEED``), so what is
    built from it (a space's fingerprint, a seed's draws) would too."""
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, Sequence):
        return True
    # Arrays and pandas objects are no Sequence, but keep their order; a 0-d array has none.
    return hasattr(value, "__array__") and hasattr(value, "__iter__") and getattr(value, "ndim", 1) >= 1


def is_real_number(value: Any) -> bool:
    """A real number, NumPy's scalars included (``np.float32(0.1)``), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def check_finite_number(value: Any, name: str, owner: str) -> float:
    """Return ``value`` as a float or raise naming the parameter."""
    if not is_real_number(value):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a finite number. "
            f"Got {describe(value)} instead."
        )
    if not math.isfinite(value):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a finite number. Got {value!r} instead."
        )
    return float(value)


def check_int(
    value: Any, name: str, owner: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int (no bools, no floats) or raise naming the parameter."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
        value = int(value)  # a NumPy integer: what arithmetic on arrays hands users
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            expected = "an int" if minimum is None else f"an int >= {minimum}"
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be {expected}. "
                f"Got {describe(value)} instead."
            )
    if minimum is not None and value < minimum:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead."
        )
    if maximum is not None and value > maximum:
        low = "" if minimum is None else f">= {minimum} and "
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int {low}<= {maximum}. Got {value!r} instead."
        )
    return int(value)


def numpy_generator(seed: Any, name: str, owner: str) -> Any:
    """NumPy's generator for ``seed`` (a generator, a non-negative int or None), or an error
    naming the parameter instead of NumPy's."""
    import numpy as np

    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a non-negative integer, a NumPy "
            f"Generator or None. Got {describe(seed)} instead."
        ) from None


def count_missing(values: Any) -> int:
    """How many entries of a 1-D array are missing: NaN, or None in an object array."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind == "f":
        return int(np.isnan(array).sum())
    if array.dtype.kind == "O":
        import pandas as pd  # its isna knows pd.NA and NaT as well as None and NaN

        return int(pd.isna(array).sum())
    return 0


def numeric_matrix(X: Any, owner: str) -> Any:
    """``X`` as a float array, its missing values (None, NaN, pandas' ``NA`` in nullable
    ``Int64``/``Float64`` columns) as NaN. A sparse matrix, or text and categories, are
    refused naming the columns that are not numbers."""
    import numpy as np

    if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # a scipy sparse matrix: numeric, but not dense
        raise InvalidParameterError(
            f"The 'X' parameter of {owner} must be a dense array. Got a sparse "
            f"{type(X).__name__} of shape {X.shape} instead; pass X.toarray() (or a sample of its rows)."
        )
    try:
        if hasattr(X, "to_numpy"):
            try:  # pandas: its NA is not a number NumPy can convert
                return X.to_numpy(dtype=float, na_value=np.nan)
            except TypeError:  # another library's to_numpy (pyarrow, polars) takes no such arguments
                pass
        return np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The 'X' parameter of {owner} must be numeric (encode categorical or text columns "
            f"first, e.g. with sklearn's OrdinalEncoder). Got {_non_numeric(X)} instead."
        ) from None


def _non_numeric(X: Any) -> str:
    """What is not numeric in ``X``: a DataFrame's columns by name, else ``X`` itself."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):
        named = [str(name) for name, dtype in dtypes.items() if getattr(dtype, "kind", "O") not in "biuf"]
        if named:
            return f"the non-numeric columns {named}"
    return describe(X)


def class_labels(target: Any, owner: str) -> Any:
    """The classes of ``target`` and each row's index among them (``np.unique``), or a
    clear error when its labels mix types that do not sort together (text and numbers)."""
    import numpy as np

    try:
        return np.unique(target, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in np.asarray(target).tolist()})
        raise InvalidParameterError(
            f"The 'y' parameter of {owner} must hold labels of one type (all text or all "
            f"numbers). Got a mix of {kinds}; convert them first, e.g. with y.astype(str)."
        ) from None


def init_params(obj: Any) -> dict[str, Any]:
    """The constructor arguments of ``obj``, read back from attributes of the same names
    (scikit-learn's ``get_params`` convention: ``__init__`` stores its arguments as is)."""
    import inspect

    signature = inspect.signature(type(obj).__init__)
    names = [
        p.name for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return {name: getattr(obj, name) for name in names}


def check_string_keys(value: Any, name: str, owner: str | None = None) -> None:
    """Refuse a dict key that is no str at any depth of ``value`` (dicts in lists too),
    naming the parameter and the key's place. JSON stores every key as a string, so
    ``{1: 2}`` would come back as ``{"1": 2}``, which reading back by the key given misses."""
    pending: list[tuple[Any, str]] = [(value, name)]
    seen: set[int] = set()  # a cyclic value is not walked forever (json.dumps refuses it)
    while pending:
        item, path = pending.pop()
        if not isinstance(item, (dict, list, tuple)) or id(item) in seen:
            continue
        seen.add(id(item))
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            if isinstance(item, dict) and not isinstance(key, str):
                of_owner = f" of {owner}" if owner else ""
                raise InvalidParameterError(
                    f"The {name!r} parameter{of_owner} must be JSON whose objects have string keys "
                    f"at every depth (JSON stores any other key as a string, and reading back by "
                    f"the key given then misses). Got the key {describe(key)} in {path} instead."
                )
            pending.append((child, f"{path}[{key!r}]"))
