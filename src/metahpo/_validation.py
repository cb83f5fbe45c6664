"""Small checks shared by the public entry points, with scikit-learn style messages."""

from __future__ import annotations

import math
import numbers
from typing import Any

from metahpo.exceptions import InvalidParameterError


def describe(value: Any) -> str:
    """A short repr of a user value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
