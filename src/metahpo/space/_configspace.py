"""ConfigSpace import and export (the optional ``configspace`` extra).

What maps, both ways:

* ``UniformFloatHyperparameter`` <-> :class:`Float` and ``UniformIntegerHyperparameter``
  <-> :class:`Int`, with ranges, log scales and defaults;
* ``CategoricalHyperparameter`` <-> :class:`Categorical` (uniform weights only; a ``None``
  choice can be the default);
* ``OrdinalHyperparameter`` <-> ``Categorical(sequence, ordered=True)``;
* ``Constant`` -> a one-choice :class:`Categorical` (exported back as a categorical);
* ``EqualsCondition`` <-> :class:`Equals`, ``InCondition`` <-> :class:`In`,
  ``NotEqualsCondition`` -> :class:`In` over the other choices,
  ``GreaterThanCondition`` / ``LessThanCondition`` <-> :class:`Range` (an integer bound
  is exact; ConfigSpace's strict comparison on a real parent is read as an inclusive
  ``Range``, so it differs at the bound itself, and a real ``Range`` bound is written as
  "equal to the bound, or greater (less) than it", which reads back as the ``Range``; a
  ``Range`` with both bounds is an ``AndConjunction`` of its two sides, read back as the
  one ``Range``),
  ``AndConjunction`` / ``OrConjunction`` <-> :class:`AllOf` /
  :class:`AnyOf` (an OR over several parents of which one is conditional is refused both
  ways: ConfigSpace and metahpo read it differently).

Forbidden clauses have no counterpart in a metahpo space: ``forbidden="raise"`` (the
default) refuses a space that has them, ``forbidden="ignore"`` drops them with a warning.
Non-uniform distributions (normal, beta, weighted categoricals) are refused.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space._conditions import AllOf, AnyOf, Condition, Equals, In, Range
from metahpo.space._params import Categorical, Float, Int, Param
from metahpo.space._space import Space

__all__ = ["from_configspace", "to_configspace"]


def _import_configspace() -> Any:
    try:
        import ConfigSpace
    except ImportError as exc:
        raise ImportError(
            "ConfigSpace import and export need the ConfigSpace package: install the "
            "'configspace' extra (pip install 'metahpo[configspace]')."
        ) from exc
    return ConfigSpace


def from_configspace(configspace: Any, forbidden: str = "raise") -> Space:
    """A metahpo :class:`Space` equivalent to a ConfigSpace ``ConfigurationSpace``.

    Example:
        >>> import ConfigSpace as CS
        >>> cs = CS.ConfigurationSpace({"booster": ["gbtree", "gblinear"], "depth": (1, 10)})
        >>> cs.add(CS.EqualsCondition(cs["depth"], cs["booster"], "gbtree"))  # doctest: +ELLIPSIS
        ...
        >>> space = Space.from_configspace(cs)
        >>> space.conditions["depth"]
        Equals(parent='booster', value='gbtree')
    """
    cs = _import_configspace()
    if not isinstance(configspace, cs.ConfigurationSpace):
        raise InvalidParameterError(
            "The 'configspace' parameter of from_configspace must be a ConfigSpace "
            f"ConfigurationSpace. Got {describe(configspace)} instead."
        )
    if forbidden not in ("raise", "ignore"):
        raise InvalidParameterError(
            f"The 'forbidden' parameter of from_configspace must be 'raise' or 'ignore'. Got {describe(forbidden)} instead."
        )
    if configspace.forbidden_clauses:
        if forbidden == "raise":
            raise InvalidParameterError(
                f"The ConfigSpace has forbidden clauses {list(map(str, configspace.forbidden_clauses))}, "
                "which a metahpo Space cannot express. Pass forbidden='ignore' to drop them."
            )
        warnings.warn(
            f"Dropped {len(configspace.forbidden_clauses)} forbidden clauses of the ConfigSpace: "
            "a metahpo Space cannot express them.",
            UserWarning,
            stacklevel=2,
        )
    params = {name: _param_from(cs, hp) for name, hp in configspace.items()}
    conditions = {
        condition.child.name: _condition_from(cs, condition, params)
        for condition in configspace.conditions
    }
    for child, condition in conditions.items():
        _check_any_of(child, condition, set(conditions))
    return Space(params, conditions)


def _check_any_of(child: str, condition: Condition, conditional: set[str]) -> None:
    """Refuse an OR over several parents of which one is conditional itself: ConfigSpace
    makes ``child`` active when any part holds, metahpo only when every parent it reads is
    active too, so the same clause would describe two different spaces."""
    if isinstance(condition, AnyOf) and len(condition.parents()) > 1:
        inactive = [p for p in condition.parents() if p in conditional]
        if inactive:
            raise InvalidParameterError(
                f"The condition of {child!r} is an OR over the parents {list(condition.parents())}, "
                f"and {inactive[0]!r} has a condition of its own: ConfigSpace makes {child!r} "
                "active when any part holds, metahpo only when every parent it reads is "
                "active, so the two would not describe the same space. Write it with one "
                "parent per OR, or split the parameter."
            )
    if isinstance(condition, (AllOf, AnyOf)):
        for part in condition.conditions:
            _check_any_of(child, part, conditional)


def _param_from(cs: Any, hp: Any) -> Param:
    if isinstance(hp, cs.UniformFloatHyperparameter):
        return Float(float(hp.lower), float(hp.upper), log=bool(hp.log), default=float(hp.default_value))
    if isinstance(hp, cs.UniformIntegerHyperparameter):
        return Int(int(hp.lower), int(hp.upper), log=bool(hp.log), default=int(hp.default_value))
    if isinstance(hp, cs.CategoricalHyperparameter):
        weights = hp.weights
        if weights is not None and len(set(weights)) > 1:
            raise InvalidParameterError(
                f"The categorical {hp.name!r} has non-uniform weights {list(weights)}; a metahpo "
                "Categorical draws its choices uniformly."
            )
        return Categorical([_plain(c) for c in hp.choices], default=_plain(hp.default_value))
    if isinstance(hp, cs.OrdinalHyperparameter):
        return Categorical(
            [_plain(c) for c in hp.sequence], ordered=True, default=_plain(hp.default_value)
        )
    if isinstance(hp, cs.Constant):
        return Categorical([_plain(hp.value)], default=_plain(hp.value))
    raise InvalidParameterError(
        f"The hyperparameter {hp.name!r} is a {type(hp).__name__}; metahpo maps uniform "
        "floats and integers, categoricals, ordinals and constants."
    )


def _condition_from(cs: Any, condition: Any, params: dict[str, Param]) -> Condition:
    inclusive = _inclusive_range_from(cs, condition, params)
    if inclusive is not None:
        return inclusive
    if isinstance(condition, (cs.AndConjunction, cs.OrConjunction)):
        parts = [_condition_from(cs, c, params) for c in condition.components]
        if isinstance(condition, cs.OrConjunction):
            return AnyOf(*parts)
        return _two_sided_range(parts) or AllOf(*parts)
    parent = condition.parent.name
    if isinstance(condition, cs.EqualsCondition):
        return Equals(parent, _plain(condition.value))
    if isinstance(condition, cs.InCondition):
        return In(parent, [_plain(v) for v in condition.values])
    if isinstance(condition, cs.NotEqualsCondition):
        param = params[parent]
        if not isinstance(param, Categorical):
            raise InvalidParameterError(
                f"The condition {condition} is a 'not equal' on the numeric {parent!r}; metahpo "
                "maps 'not equal' only on a categorical parent."
            )
        excluded = _plain(condition.value)
        return In(parent, [c for c in param.choices if c != excluded])
    if isinstance(condition, (cs.GreaterThanCondition, cs.LessThanCondition)):
        value = _plain(condition.value)
        param = params[parent]
        if isinstance(param, Categorical):  # an ordinal: the choices after (before) the value
            at = param.index(value)
            later = isinstance(condition, cs.GreaterThanCondition)
            return In(parent, param.choices[at + 1:] if later else param.choices[:at])
        step = 1 if isinstance(param, Int) else 0
        if isinstance(condition, cs.GreaterThanCondition):
            return Range(parent, low=value + step)
        return Range(parent, high=value - step)
    raise InvalidParameterError(f"The condition {condition} of type {type(condition).__name__} cannot be mapped.")


def _inclusive_range_from(cs: Any, condition: Any, params: dict[str, Param]) -> Range | None:
    """The ``Range`` of a numeric parent's "equal to v, or greater (less) than v", the form
    :func:`_inclusive` writes; ``None`` for any other condition."""
    if not isinstance(condition, cs.OrConjunction) or len(condition.components) != 2:
        return None
    equal = [c for c in condition.components if isinstance(c, cs.EqualsCondition)]
    strict = [c for c in condition.components if isinstance(c, (cs.GreaterThanCondition, cs.LessThanCondition))]
    if len(equal) != 1 or len(strict) != 1:
        return None
    parent, value = equal[0].parent.name, _plain(equal[0].value)
    if strict[0].parent.name != parent or _plain(strict[0].value) != value or isinstance(params[parent], Categorical):
        return None
    return Range(parent, low=value) if isinstance(strict[0], cs.GreaterThanCondition) else Range(parent, high=value)


def _two_sided_range(parts: list[Condition]) -> Range | None:
    """The ``Range`` of "parent >= low and parent <= high" on one parent, the form
    :func:`_range_to` writes for a range with both bounds; ``None`` for any other conjunction."""
    lower = [p for p in parts if isinstance(p, Range) and p.high is None]
    upper = [p for p in parts if isinstance(p, Range) and p.low is None]
    if len(parts) != 2 or len(lower) != 1 or len(upper) != 1 or lower[0].parent != upper[0].parent:
        return None
    low, high = lower[0].low, upper[0].high
    if low is None or high is None or low > high:  # an empty range stays the conjunction it is
        return None
    return Range(lower[0].parent, low=low, high=high)


def to_configspace(space: Space, seed: int | None = None) -> Any:
    """``space`` as a ConfigSpace ``ConfigurationSpace`` (see the module docstring)."""
    cs = _import_configspace()
    out = cs.ConfigurationSpace(seed=seed)
    for child, condition in space.conditions.items():
        _check_any_of(child, condition, set(space.conditions))
    hyperparameters = {name: _param_to(cs, name, param) for name, param in space.items()}
    out.add(list(hyperparameters.values()))
    conditions = [
        _condition_to(cs, hyperparameters[child], condition, hyperparameters, space)
        for child, condition in space.conditions.items()
    ]
    if conditions:
        out.add(conditions)
    return out


def _param_to(cs: Any, name: str, param: Param) -> Any:
    if isinstance(param, Float):
        return cs.UniformFloatHyperparameter(name, param.low, param.high, default_value=param.default, log=param.log)
    if isinstance(param, Int):
        return cs.UniformIntegerHyperparameter(name, param.low, param.high, default_value=param.default, log=param.log)
    # A categorical without a default takes ConfigSpace's (the first choice); None can be
    # a choice and the default, which to_dict tells apart.
    options = {"default_value": param.default} if "default" in param.to_dict() else {}
    if param.ordered:
        return cs.OrdinalHyperparameter(name, list(param.choices), **options)
    return cs.CategoricalHyperparameter(name, list(param.choices), **options)


def _condition_to(cs: Any, child: Any, condition: Condition, hps: dict[str, Any], space: Space) -> Any:
    if isinstance(condition, (AllOf, AnyOf)):
        parts = [_condition_to(cs, child, c, hps, space) for c in condition.conditions]
        return cs.AndConjunction(*parts) if isinstance(condition, AllOf) else cs.OrConjunction(*parts)
    parent = hps[condition.parent]
    if isinstance(condition, Equals):
        return cs.EqualsCondition(child, parent, condition.value)
    if isinstance(condition, In):
        return cs.InCondition(child, parent, list(condition.values))
    return _range_to(cs, child, parent, condition, space[condition.parent])


def _range_to(cs: Any, child: Any, parent: Any, condition: Range, param: Param) -> Any:
    """``Range`` (bounds included) with ConfigSpace's strict greater/less-than conditions,
    whose values must be legal values of the parent: a bound at or past the parent's own
    is no bound, an integer bound moves one step out, and a real bound is included by
    :func:`_inclusive`."""
    assert not isinstance(param, Categorical)  # Space refuses a Range on a categorical
    is_int = isinstance(param, Int)
    parts = []
    if condition.low is not None:
        low = math.ceil(condition.low) if is_int else condition.low
        if low > param.low:
            parts.append(cs.GreaterThanCondition(child, parent, low - 1) if is_int
                         else _inclusive(cs, cs.GreaterThanCondition, child, parent, low))
    if condition.high is not None:
        high = math.floor(condition.high) if is_int else condition.high
        if high < param.high:
            parts.append(cs.LessThanCondition(child, parent, high + 1) if is_int
                         else _inclusive(cs, cs.LessThanCondition, child, parent, high))
    if len(parts) == 2:
        return cs.AndConjunction(*parts)
    if parts:
        return parts[0]
    # The range holds the parent's whole range: active whenever the parent is, which
    # ConfigSpace says as "at its low end, or above it".
    low_end = int(param.low) if is_int else param.low
    return _inclusive(cs, cs.GreaterThanCondition, child, parent, low_end)


def _inclusive(cs: Any, strict: Any, child: Any, parent: Any, bound: Any) -> Any:
    """``parent >= bound`` (``<=`` for ``LessThanCondition``): ConfigSpace compares only
    strictly, and a real bound has no next value to move to (the next float may encode to
    the same point in ConfigSpace's vector form, where it evaluates conditions)."""
    return cs.OrConjunction(cs.EqualsCondition(child, parent, bound), strict(child, parent, bound))


def _plain(value: Any) -> Any:
    """A ConfigSpace value (often a numpy scalar) as a plain JSON scalar."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
