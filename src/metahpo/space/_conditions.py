"""Conditions that make a parameter active only when other parameters take given values.

A condition is attached to a child parameter through ``Space(..., conditions=...)``.
It reads the values of its parents: :class:`Equals` (one value), :class:`In` (a set of
values), :class:`Range` (a numeric interval, bounds included), and :class:`AllOf` /
:class:`AnyOf` to combine them. A parent may itself be conditional, to any depth; a
child is active only when every parent its condition reads is active.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metahpo._validation import describe, is_ordered_collection
from metahpo.exceptions import InvalidParameterError
from metahpo.space._params import is_json_scalar, python_scalar

__all__ = ["AllOf", "AnyOf", "Condition", "Equals", "In", "Range", "condition_from_dict"]


def _check_parent(parent: Any, owner: str) -> str:
    if not isinstance(parent, str) or not parent:
        raise InvalidParameterError(
            f"The 'parent' parameter of {owner} must be a parameter name (a non-empty string). "
            f"Got {describe(parent)} instead."
        )
    return parent


def _condition_value(value: Any, owner: str, name: str) -> Any:
    """A value a condition compares with: stored as JSON, so a JSON scalar."""
    value = python_scalar(value)
    if is_json_scalar(value):
        return value
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must hold a string, number, bool or None (what a "
        f"parameter's value can be). Got {describe(value)} instead."
    )


def _same(a: Any, b: Any) -> bool:
    # JSON keeps True and 1 apart, so do conditions (as Categorical does).
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


@dataclass(frozen=True)
class Equals:
    """Active when ``parent`` equals ``value``.

    Example:
        >>> Equals("booster", "dart").holds({"booster": "dart"})
        True
    """

    parent: str
    value: Any

    def __post_init__(self) -> None:
        _check_parent(self.parent, "Equals")
        object.__setattr__(self, "value", _condition_value(self.value, "Equals", "value"))

    def parents(self) -> tuple[str, ...]:
        return (self.parent,)

    def holds(self, config: Mapping[str, Any]) -> bool:
        return self.parent in config and _same(python_scalar(config[self.parent]), self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "equals", "parent": self.parent, "value": self.value}

    def describe(self) -> str:
        return f"{self.parent} == {self.value!r}"


@dataclass(frozen=True)
class In:
    """Active when ``parent`` takes one of ``values``.

    Example:
        >>> In("booster", ["gbtree", "dart"]).holds({"booster": "gblinear"})
        False
    """

    parent: str
    values: tuple[Any, ...]

    def __init__(self, parent: str, values: Iterable[Any]) -> None:
        _check_parent(parent, "In")
        if not is_ordered_collection(values):
            # A set's order changes with the process's hash seed, and so would the space's
            # fingerprint, which covers conditions.
            raise InvalidParameterError(
                "The 'values' parameter of In must be a list or tuple of values (for a set, "
                f"sorted(...) of it). Got {describe(values)} instead."
            )
        items = tuple(_condition_value(value, "In", "values") for value in values)
        if not items:
            raise InvalidParameterError("The 'values' parameter of In must not be empty. Got [] instead.")
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "values", items)

    def parents(self) -> tuple[str, ...]:
        return (self.parent,)

    def holds(self, config: Mapping[str, Any]) -> bool:
        if self.parent not in config:
            return False
        value = python_scalar(config[self.parent])
        return any(_same(value, v) for v in self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "in", "parent": self.parent, "values": list(self.values)}

    def describe(self) -> str:
        return f"{self.parent} in {list(self.values)!r}"


@dataclass(frozen=True)
class Range:
    """Active when the numeric ``parent`` lies in ``[low, high]`` (a missing bound is open).

    Example:
        >>> Range("layers", low=2).holds({"layers": 3})
        True
    """

    parent: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _check_parent(self.parent, "Range")
        for name in ("low", "high"):
            value = python_scalar(getattr(self, name))
            object.__setattr__(self, name, value)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of Range must be a finite number or None. Got {describe(value)} instead."
                )
        if self.low is None and self.high is None:
            raise InvalidParameterError("Range needs 'low', 'high' or both. Got neither.")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InvalidParameterError(
                f"The 'low' parameter of Range must be <= 'high'. Got low={self.low!r}, high={self.high!r} instead."
            )

    def parents(self) -> tuple[str, ...]:
        return (self.parent,)

    def holds(self, config: Mapping[str, Any]) -> bool:
        if self.parent not in config:
            return False
        value = python_scalar(config[self.parent])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "range", "parent": self.parent, "low": self.low, "high": self.high}

    def describe(self) -> str:
        low = "-inf" if self.low is None else repr(self.low)
        high = "inf" if self.high is None else repr(self.high)
        return f"{self.parent} in [{low}, {high}]"


@dataclass(frozen=True)
class AllOf:
    """Active when every one of ``conditions`` holds."""

    conditions: tuple[Condition, ...]

    def __init__(self, *conditions: Condition) -> None:
        object.__setattr__(self, "conditions", _check_parts(conditions, "AllOf"))

    def parents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for c in self.conditions for p in c.parents()))

    def holds(self, config: Mapping[str, Any]) -> bool:
        return all(c.holds(config) for c in self.conditions)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "all", "conditions": [c.to_dict() for c in self.conditions]}

    def describe(self) -> str:
        return " and ".join(f"({c.describe()})" for c in self.conditions)


@dataclass(frozen=True)
class AnyOf:
    """Active when at least one of ``conditions`` holds (its parents active)."""

    conditions: tuple[Condition, ...]

    def __init__(self, *conditions: Condition) -> None:
        object.__setattr__(self, "conditions", _check_parts(conditions, "AnyOf"))

    def parents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for c in self.conditions for p in c.parents()))

    def holds(self, config: Mapping[str, Any]) -> bool:
        return any(c.holds(config) for c in self.conditions)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any", "conditions": [c.to_dict() for c in self.conditions]}

    def describe(self) -> str:
        return " or ".join(f"({c.describe()})" for c in self.conditions)


Condition = Equals | In | Range | AllOf | AnyOf
CONDITION_TYPES = (Equals, In, Range, AllOf, AnyOf)


def _check_parts(conditions: tuple[Any, ...], owner: str) -> tuple[Condition, ...]:
    if len(conditions) < 2:
        raise InvalidParameterError(
            f"{owner} needs at least two conditions. Got {len(conditions)} instead."
        )
    for condition in conditions:
        if not isinstance(condition, CONDITION_TYPES):
            raise InvalidParameterError(
                f"The conditions of {owner} must be Equals, In, Range, AllOf or AnyOf. "
                f"Got {describe(condition)} instead."
            )
    return tuple(conditions)


_FORMS = ("one of 'equals' ({type: equals, parent: P, value: V}), 'in' (values: [...]), "
          "'range' (low:, high:), 'all' or 'any' (conditions: [...])")


_KEYS = {
    "equals": {"type", "parent", "value"},
    "in": {"type", "parent", "values"},
    "range": {"type", "parent", "low", "high"},
    "all": {"type", "conditions"},
    "any": {"type", "conditions"},
}


def condition_from_dict(data: Any) -> Condition:
    """Rebuild a condition from its :meth:`to_dict` output."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise InvalidParameterError(
            f"A condition description must be a dict with a 'type' key, {_FORMS}. "
            f"Got {describe(data)} instead."
        )
    kind = data["type"]
    allowed = _KEYS.get(kind, set()) if isinstance(kind, str) else set()
    unknown = sorted(str(key) for key in data if allowed and key not in allowed)
    if unknown:
        # A misspelt bound ("hgh") would leave the range open without a word.
        raise InvalidParameterError(
            f"A {kind!r} condition description takes the keys {sorted(allowed)}. Got the unknown "
            f"key(s) {unknown} in {describe(data)} instead."
        )
    try:
        if kind == "equals":
            return Equals(data["parent"], data["value"])
        if kind == "in":
            return In(data["parent"], data["values"])
        if kind == "range":
            return Range(data["parent"], data.get("low"), data.get("high"))
        if kind in ("all", "any"):
            parts = [condition_from_dict(part) for part in data["conditions"]]
            return AllOf(*parts) if kind == "all" else AnyOf(*parts)
    except KeyError as exc:
        raise InvalidParameterError(
            f"A {kind!r} condition description needs the key {exc.args[0]!r} ({_FORMS}). "
            f"Got {describe(data)} instead."
        ) from None
    except TypeError as exc:
        raise InvalidParameterError(f"Malformed {kind!r} condition description {describe(data)}: {exc!r}") from exc
    raise InvalidParameterError(
        "The 'type' of a condition must be one of 'equals', 'in', 'range', 'all', 'any'. "
        f"Got {describe(kind)} instead."
    )
