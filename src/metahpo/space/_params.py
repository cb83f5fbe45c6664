"""The three kinds of hyperparameter and their encoding to the unit interval.

Each parameter maps its values to ``[0, 1]`` and back. Integers and categoricals
map to the centre of their cell, so decoding is an exact round trip and a
uniform draw on ``[0, 1]`` gives every value the same (or log-scaled) mass.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import InitVar, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from metahpo._validation import check_finite_number, describe, is_ordered_collection, is_real_number
from metahpo.exceptions import InvalidParameterError

JSONScalar = str | int | float | bool | None
_MAX_EXACT_INT = 2**53
# Past this many values, or this far from zero, the float arithmetic of an Int's cell
# formula can err by half a cell: such an Int encodes and decodes with exact fractions.
_FLOAT_CELLS_EXACT_UP_TO = 2**50
# How far outside [0, 1] a unit-cube coordinate may lie and still be taken for its bound:
# a value computed a rounding error past its range (a relative 1e-9 of the range), or a
# point an optimiser's arithmetic left a hair outside the cube. Farther out is refused.
UNIT_TOLERANCE = 1e-9
_UNIT_LOW, _UNIT_HIGH = -UNIT_TOLERANCE, 1.0 + UNIT_TOLERANCE


def outside_unit_interval(values: np.ndarray) -> np.ndarray:
    """Which of ``values`` lie outside ``[0, 1]`` by more than :data:`UNIT_TOLERANCE`, NaN
    included: the array form of the check :func:`unit_coordinate` makes."""
    # Written so that NaN, which fails every comparison, counts as outside.
    return ~((values >= _UNIT_LOW) & (values <= _UNIT_HIGH))


def unit_coordinate(u: Any, owner: Param) -> float:
    """``u`` as a coordinate of the unit interval, for ``owner.from_unit``: a real number
    in ``[0, 1]``, or past a bound by no more than :data:`UNIT_TOLERANCE` (then the
    bound). Anything else (NaN and infinities included) raises naming ``owner``."""
    # The same bounds as outside_unit_interval, compared without NumPy; a float (NumPy's
    # float64 included) skips the slower general check. Space.from_unit checks whole
    # arrays with outside_unit_interval and does not come through here.
    if (isinstance(u, float) or is_real_number(u)) and _UNIT_LOW <= u <= _UNIT_HIGH:
        return min(max(float(u), 0.0), 1.0)
    raise InvalidParameterError(
        f"The 'u' parameter of {describe(owner)}.from_unit must be a finite number in [0, 1], "
        f"the unit interval. Got {describe(u)} instead."
    )


@dataclass(frozen=True)
class Float:
    """A real-valued hyperparameter on ``[low, high]``, optionally log-scaled.

    Example:
        >>> import metahpo as mh
        >>> round(mh.Float(1e-4, 1.0, log=True).from_unit(0.5), 12)
        0.01
    """

    low: float
    high: float
    log: bool = False
    default: float | None = None

    def __post_init__(self) -> None:
        low = check_finite_number(self.low, "low", "Float")
        high = check_finite_number(self.high, "high", "Float")
        _check_bool(self.log, "log", "Float")
        if low >= high:
            raise InvalidParameterError(
                f"The 'low' parameter of Float must be smaller than 'high'. Got low={low!r}, high={high!r} instead."
            )
        if self.log and low <= 0:
            raise InvalidParameterError(
                f"The 'low' parameter of Float must be > 0 when log=True. Got {low!r} instead."
            )
        if not math.isfinite(high - low):
            # The encoding divides by the width: an infinite width breaks every model.
            raise InvalidParameterError(
                "The range of Float must have a finite width: 'high' - 'low' must be a finite "
                f"number. Got low={low!r}, high={high!r} instead."
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        if self.default is not None:
            if not self.contains(self.default):
                raise InvalidParameterError(
                    f"The 'default' parameter of Float must be in [{low!r}, {high!r}]. Got {describe(self.default)} instead."
                )
            object.__setattr__(self, "default", float(self.default))

    def contains(self, value: Any) -> bool:
        if not is_real_number(value):
            return False
        return math.isfinite(value) and self.low <= value <= self.high

    def to_unit(self, value: Any) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        """The value at ``u`` in ``[0, 1]`` (see :func:`unit_coordinate` for what is refused)."""
        return self._value_at(unit_coordinate(u, self))

    def _value_at(self, u: float) -> float:
        """:meth:`from_unit` of a coordinate already checked to lie in ``[0, 1]``."""
        if self.log:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + u * (self.high - self.low)
        # Rounding in exp/log can step a hair outside the bounds.
        return min(max(value, self.low), self.high)

    def to_dict(self) -> dict[str, Any]:
        return _with_default({"type": "float", "low": self.low, "high": self.high, "log": self.log}, self.default)


@dataclass(frozen=True)
class Int:
    """An integer hyperparameter on ``[low, high]`` (both included), optionally log-scaled.

    Every value round-trips through the unit interval when the range is at most 2**53
    wide; a wider one, or a log-scaled one past about 2**47, has neighbouring values that
    share a float coordinate. Config identity compares values, so they stay different configs.

    Example:
        >>> import metahpo as mh
        >>> mh.Int(1, 10).from_unit(0.99)
        10
    """

    low: int
    high: int
    log: bool = False
    default: int | None = None

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of Int must be an int. Got {describe(value)} instead."
                )
            object.__setattr__(self, name, int(value))
        _check_bool(self.log, "log", "Int")
        for name in ("low", "high"):
            if abs(getattr(self, name)) > _MAX_EXACT_INT:
                raise InvalidParameterError(
                    f"The {name!r} parameter of Int must be between -2**53 and 2**53 (integers a "
                    f"float holds exactly). Got {getattr(self, name)!r} instead."
                )
        if self.low >= self.high:
            raise InvalidParameterError(
                f"The 'low' parameter of Int must be smaller than 'high'. Got low={self.low!r}, high={self.high!r} instead."
            )
        if self.log and self.low <= 0:
            raise InvalidParameterError(
                f"The 'low' parameter of Int must be >= 1 when log=True. Got {self.low!r} instead."
            )
        if self.default is not None:
            if not self.contains(self.default):
                raise InvalidParameterError(
                    f"The 'default' parameter of Int must be an int in [{self.low!r}, {self.high!r}]. Got {describe(self.default)} instead."
                )
            object.__setattr__(self, "default", int(self.default))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            return False
        return bool(self.low <= value <= self.high)

    def _edges(self) -> tuple[float, float]:
        # Cells of width one around each integer, in log space when log=True.
        if self.log:
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low - 0.5, self.high + 0.5

    def to_unit(self, value: Any) -> float:
        if self._exact_cells:
            return self._exact_unit(value)
        lo, hi = self._edges()
        x = math.log(value) if self.log else float(value)
        return (x - lo) / (hi - lo)

    @functools.cached_property
    def _exact_cells(self) -> bool:  # cached: every encoding and decoding asks
        return not self.log and max(self.high - self.low + 1, abs(self.low), abs(self.high)) > _FLOAT_CELLS_EXACT_UP_TO

    def _exact_unit(self, value: Any) -> float:
        """The centre of ``value``'s cell, correctly rounded; for an integer in range, the
        float inside its cell nearest the centre. A cell may be barely one float wide (2**53
        values), and the float nearest its centre may then lie in the next one."""
        cells = self.high - self.low + 1
        # Exact for a float and for an int past 2**53 (which float() would round).
        exact = Fraction(int(value)) if isinstance(value, (int, np.integer)) else Fraction(float(value))
        u = float((exact - self.low + Fraction(1, 2)) / cells)
        if exact.denominator != 1 or not self.low <= exact <= self.high:
            return u
        decoded = self._exact_value_at(u)
        if decoded != exact:
            u = math.nextafter(u, 0.0 if decoded > exact else 1.0)
        return u

    def _exact_value_at(self, u: float) -> int:
        # The cell holding u, by integer arithmetic on u's exact binary fraction.
        numerator, denominator = u.as_integer_ratio()
        cells = self.high - self.low + 1
        return self.low + min(numerator * cells // denominator, cells - 1)

    def from_unit(self, u: float) -> int:
        """The value at ``u`` in ``[0, 1]`` (see :func:`unit_coordinate` for what is refused)."""
        return self._value_at(unit_coordinate(u, self))

    def _value_at(self, u: float) -> int:
        """:meth:`from_unit` of a coordinate already checked to lie in ``[0, 1]``."""
        if self._exact_cells:
            return self._exact_value_at(u)
        lo, hi = self._edges()
        x = lo + u * (hi - lo)
        value = round(math.exp(x)) if self.log else round(x)
        return int(min(max(value, self.low), self.high))

    def to_dict(self) -> dict[str, Any]:
        return _with_default({"type": "int", "low": self.low, "high": self.high, "log": self.log}, self.default)


class _NoDefault:
    """What a :class:`Categorical` built without a ``default`` receives (``None`` can be a
    choice, and the default)."""

    def __repr__(self) -> str:
        return "<no default>"


_NO_DEFAULT = _NoDefault()


@dataclass(frozen=True)
class Categorical:
    """A choice among JSON scalars (str, int, float, bool or None).

    ``ordered=True`` marks an ordinal: the choices are listed in their order (the unit
    cube keeps it; ConfigSpace's ``OrdinalHyperparameter`` maps here).

    Leave ``default`` out for no default. ``default=None`` names the ``None`` choice when
    ``None`` is one of the choices (scikit-learn's ``class_weight=None``, say), and is no
    default otherwise. A copy by ``dataclasses.replace`` keeps "no default" unless given
    another ``default`` than ``None`` (for the ``None`` choice, build a new Categorical).

    Example:
        >>> import metahpo as mh
        >>> mh.Categorical(["relu", "tanh"]).from_unit(0.9)
        'tanh'
        >>> mh.Categorical(["balanced", None], default=None).to_dict()
        {'type': 'categorical', 'choices': ['balanced', None], 'default': None}
    """

    choices: tuple[JSONScalar, ...]
    ordered: bool = False
    default: JSONScalar = None
    # Set per instance in __init__. An InitVar, so no field (and no JSON key), that
    # dataclasses.replace hands back to __init__: there "default" reads None both without a
    # default and for the None choice, and a copy must keep "no default". Keyword-only: it
    # is no argument of the user's.
    _has_default: InitVar[bool | None] = field(default=None, kw_only=True)

    def __init__(
        self,
        choices: Any,
        ordered: bool = False,
        default: JSONScalar | _NoDefault = _NO_DEFAULT,
        *,
        _has_default: bool | None = None,
    ) -> None:
        default = python_scalar(default)
        if not is_ordered_collection(choices):
            # A set or a dict's keys would give the choices (and the space's fingerprint, and
            # the configs a seed draws) an order that changes with the process's hash seed.
            raise InvalidParameterError(
                "The 'choices' parameter of Categorical must be a list or tuple of JSON scalars, "
                "in the order to keep (for a set, sorted(...) of it). Got "
                f"{describe(choices)} instead."
            )
        # NumPy scalars (np.array([16, 32, 64]), a DataFrame column's values) stand for the
        # Python ones and are stored as them, so the space serialises.
        values = tuple(python_scalar(v) for v in choices)
        if not values:
            raise InvalidParameterError(
                "The 'choices' parameter of Categorical must not be empty. Got [] instead."
            )
        seen: set[tuple[str, Any]] = set()
        for value in values:
            if not is_json_scalar(value):
                raise InvalidParameterError(
                    f"The 'choices' parameter of Categorical must hold JSON scalars (str, int, float, bool, None). Got {describe(value)} instead."
                )
            key = _choice_key(value)
            if key in seen:
                raise InvalidParameterError(
                    f"The 'choices' parameter of Categorical must not repeat a value. Got {describe(value)} twice."
                )
            seen.add(key)
        object.__setattr__(self, "choices", values)
        _check_bool(ordered, "ordered", "Categorical")
        object.__setattr__(self, "ordered", ordered)
        # A default of None with _has_default=False comes from dataclasses.replace of a
        # Categorical without a default (with or without default=None): it keeps none.
        if isinstance(default, _NoDefault) or (default is None and _has_default is False):
            has_default, default = False, None
        else:
            # An explicit None that is no choice stays "no default", as it always was.
            has_default = default is not None or self.contains(None)
            if has_default and not self.contains(default):
                raise InvalidParameterError(
                    f"The 'default' parameter of Categorical must be one of the choices {list(values)!r}. Got {describe(default)} instead."
                )
        object.__setattr__(self, "default", default)
        # Not a field: "default" is None both without a default and for the None choice.
        object.__setattr__(self, "_has_default", has_default)

    @property
    def _default_given(self) -> bool:
        # The instance's _has_default (mypy reads no instance attribute of an InitVar).
        return bool(vars(self)["_has_default"])

    def __repr__(self) -> str:
        # Without a default, no "default=None": that would name the None choice.
        default = f", default={self.default!r}" if self._default_given else ""
        return f"Categorical(choices={self.choices!r}, ordered={self.ordered!r}{default})"

    def __eq__(self, other: object) -> bool:
        # Choices compare as JSON keeps them (True is not 1), as contains() reads them.
        return isinstance(other, Categorical) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _identity(self) -> tuple[Any, ...]:
        return (tuple(map(_choice_key, self.choices)), self.ordered, self._default_given, _choice_key(self.default))

    def index(self, value: Any) -> int:
        key = _choice_key(value)
        for i, choice in enumerate(self.choices):
            if _choice_key(choice) == key:
                return i
        raise InvalidParameterError(
            f"Value {describe(value)} is not one of the choices {list(self.choices)!r}."
        )

    def contains(self, value: Any) -> bool:
        # A NumPy scalar (a cell of a DataFrame row, an array element) stands for the
        # Python one, as it does for Float and Int.
        value = python_scalar(value)
        if not is_json_scalar(value):
            return False
        key = _choice_key(value)
        return any(_choice_key(choice) == key for choice in self.choices)

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> JSONScalar:
        """The value at ``u`` in ``[0, 1]`` (see :func:`unit_coordinate` for what is refused)."""
        return self._value_at(unit_coordinate(u, self))

    def _value_at(self, u: float) -> JSONScalar:
        """:meth:`from_unit` of a coordinate already checked to lie in ``[0, 1]``."""
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.ordered:
            data["ordered"] = True
        if self._default_given:
            data["default"] = self.default  # None too, when the None choice is the default
        return data


Param = Float | Int | Categorical


_KINDS: dict[str, type[Float] | type[Int] | type[Categorical]] = {
    "float": Float, "int": Int, "categorical": Categorical,
}


def param_from_dict(data: Any) -> Param:
    """Rebuild a parameter from :meth:`to_dict` output."""
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidParameterError(
            f"A parameter description must be a dict with a 'type' key. Got {describe(data)} instead."
        )
    kind = data["type"]
    if not isinstance(kind, str) or kind not in _KINDS:
        raise InvalidParameterError(
            f"The 'type' of a parameter must be one of 'float', 'int', 'categorical'. Got {describe(kind)} instead."
        )
    check_param_keys(data, f"A {kind!r} parameter description")
    return _KINDS[kind](**{k: v for k, v in data.items() if k != "type"})


def check_param_keys(data: dict[Any, Any], owner: str, extra: tuple[str, ...] = ()) -> None:
    """Refuse a description with a key its type does not take, or without one it needs,
    naming the keys: the constructor's own TypeError ("unexpected keyword argument") does
    not say which keys there are. ``data["type"]`` must be a known type; ``extra`` are keys
    the caller takes itself (a space's ``"condition"``)."""
    fields = dataclasses.fields(_KINDS[data["type"]])
    allowed = ["type", *(f.name for f in fields), *extra]
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise InvalidParameterError(
            f"{owner} must use only the keys {allowed}. Got the unknown key {unknown[0]!r} instead."
        )
    missing = [f.name for f in fields
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in data]
    if missing:
        raise InvalidParameterError(
            f"{owner} must have the key {missing[0]!r}. Got {describe(data)} instead."
        )


def _with_default(data: dict[str, Any], default: Any) -> dict[str, Any]:
    # Only a parameter with a default carries the key, so older descriptions (and their
    # fingerprints) are unchanged.
    if default is not None:
        data["default"] = default
    return data


def _check_bool(value: Any, name: str, owner: str) -> None:
    if not isinstance(value, bool):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a bool. Got {describe(value)} instead."
        )


def python_scalar(value: Any) -> Any:
    """A NumPy scalar (an array element, a DataFrame cell) as the Python value it stands
    for; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def is_json_scalar(value: Any) -> bool:
    """Whether ``value`` is what a parameter's value can be: str, int, bool, None or a finite float."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _choice_key(value: Any) -> tuple[str, Any]:
    # True == 1 and 1 == 1.0 in Python; JSON keeps them apart, so do we.
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, (int, np.integer)):
        return ("number", float(value))
    if isinstance(value, (float, np.floating)):
        return ("number", float(value))
    if isinstance(value, str):  # numpy's str_ (ConfigSpace returns it) is the same text
        return ("str", str(value))
    return (type(value).__name__, value)
