"""A search space: named parameters and their conditions, sampling, the unit-cube encoding,
JSON and a fingerprint.

A conditional parameter is *active* only when its condition holds on its parents'
values (and those parents are active). A config holds exactly its active parameters.
In the unit cube every parameter keeps its column; an inactive one sits at
:data:`INACTIVE_UNIT` (the centre), so two configs that differ only in what they do
not use have the same row and the same identity, and decoding a row drops the
parameters its own values make inactive.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe, is_real_number, numpy_generator
from metahpo.exceptions import InvalidParameterError
from metahpo.space._conditions import CONDITION_TYPES, Condition, condition_from_dict
from metahpo.space._identity import ConfigKey, config_keys
from metahpo.space._params import (
    UNIT_TOLERANCE,
    Categorical,
    Float,
    Int,
    Param,
    check_param_keys,
    outside_unit_interval,
    param_from_dict,
)

Config = dict[str, Any]

logger = logging.getLogger("metahpo.space")

# The unit-cube value of an inactive parameter (see the module docstring).
INACTIVE_UNIT = 0.5


class Space(Mapping[str, Param]):
    """An ordered mapping of parameter names to :class:`Float`, :class:`Int` or :class:`Categorical`.

    The order of the names fixes the columns of the unit-cube encoding.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"lr": mh.Float(1e-3, 1.0, log=True), "depth": mh.Int(1, 8)})
        >>> config = space.sample(np.random.default_rng(0), 1)[0]
        >>> space.contains(config)
        True
        >>> space.from_unit(space.to_unit([config]))[0] == config
        True
    """

    def __init__(
        self, params: Mapping[str, Param], conditions: Mapping[str, Condition] | None = None
    ) -> None:
        self._init(params, conditions, stored=False)

    def _init(
        self, params: Mapping[str, Param], conditions: Mapping[str, Condition] | None, *, stored: bool
    ) -> None:
        # ``stored``: a description read back (see from_dict), which may hold what this
        # version refuses of a new space but an earlier one accepted.
        if not isinstance(params, Mapping):
            raise InvalidParameterError(
                f"The 'params' parameter of Space must be a dict of name -> parameter. Got {describe(params)} instead."
            )
        if not params:
            raise InvalidParameterError(
                "The 'params' parameter of Space must hold at least one parameter. Got {} instead."
            )
        for name, param in params.items():
            if not isinstance(name, str) or not name:
                raise InvalidParameterError(
                    f"Parameter names of Space must be non-empty strings. Got {describe(name)} instead."
                )
            if not isinstance(param, (Float, Int, Categorical)):
                raise InvalidParameterError(
                    f"The parameter {name!r} of Space must be a Float, Int or Categorical. Got {describe(param)} instead."
                )
        self._params: dict[str, Param] = dict(params)
        self._conditions: dict[str, Condition] = _check_conditions(self._params, conditions, stored)
        self._order = _topological_order(self._params, self._conditions)
        self._parents = [n for n in self._order if any(n in c.parents() for c in self._conditions.values())]

    # Mapping protocol -------------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        if self._conditions:
            return f"Space({self._params!r}, conditions={self._conditions!r})"
        return f"Space({self._params!r})"

    def __eq__(self, other: object) -> bool:
        # As JSON, where True and 1 (and 1 and 1.0) differ, as they do in the fingerprint.
        return isinstance(other, Space) and _canonical(self.to_dict()) == _canonical(other.to_dict())

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    @property
    def names(self) -> list[str]:
        return list(self._params)

    @property
    def conditions(self) -> dict[str, Condition]:
        """The condition of each conditional parameter (a copy)."""
        return dict(self._conditions)

    @property
    def is_conditional(self) -> bool:
        return bool(self._conditions)

    def active_names(self, config: Mapping[str, Any]) -> list[str]:
        """The parameters active under ``config``'s values, in space order.

        A parameter without a condition is always active; a conditional one is active
        when every parent its condition reads is active and the condition holds.
        """
        if not self._conditions:
            return list(self._params)
        active: dict[str, Any] = {}
        for name in self._order:
            condition = self._conditions.get(name)
            if condition is None or (
                all(p in active for p in condition.parents()) and condition.holds(active)
            ):
                active[name] = config.get(name)
        return [name for name in self._params if name in active]

    # Validation -------------------------------------------------------------------------
    def contains(self, config: Any) -> bool:
        """Whether ``config`` has exactly the active keys and every value is in range."""
        if not isinstance(config, Mapping):
            return False
        if not self._conditions:
            if set(config) != set(self._params):
                return False
            return all(param.contains(config[name]) for name, param in self._params.items())
        try:
            self.validate(config)
        except InvalidParameterError:
            return False
        return True

    def validate(self, config: Any, name: str = "config") -> Config:
        """Return ``config`` as a plain dict, or raise naming the first problem."""
        if not isinstance(config, Mapping):
            raise InvalidParameterError(
                f"The {name!r} parameter must be a dict of parameter values. Got {describe(config)} instead."
            )
        unknown = sorted(str(k) for k in set(config) - set(self._params))
        if unknown:
            raise InvalidParameterError(
                f"The {name!r} parameter has unknown keys {unknown}; the space has {self.names}."
            )
        # A parent's value decides what else is active: check it first.
        for key in self._parents:
            if key in config and not self._params[key].contains(config[key]):
                raise InvalidParameterError(
                    f"The value of {key!r} in {name!r} must be in {_describe_param(self._params[key])}. "
                    f"Got {describe(config[key])} instead."
                )
        active = self.active_names(config)
        missing = [k for k in active if k not in config]
        if missing:
            raise InvalidParameterError(f"The {name!r} parameter is missing the keys {missing}.")
        inactive = [k for k in self._params if k in config and k not in set(active)]
        if inactive:
            why = "; ".join(f"{k!r} is active only when {self._conditions[k].describe()}" for k in inactive)
            raise InvalidParameterError(
                f"The {name!r} parameter has the inactive keys {inactive}: {why}. "
                "Leave inactive parameters out."
            )
        out: Config = {}
        for key in active:
            param = self._params[key]
            value = config[key]
            if not param.contains(value):
                raise InvalidParameterError(
                    f"The value of {key!r} in {name!r} must be in {_describe_param(param)}. Got {describe(value)} instead."
                )
            out[key] = _native(param, value)
        return out

    # Sampling ---------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None, n: int) -> list[Config]:
        """Draw ``n`` configurations uniformly in the unit cube (log-uniform for log parameters)."""
        n = check_int(n, "n", "Space.sample", minimum=0)
        generator = numpy_generator(rng, "rng", "Space.sample")
        return self.from_unit(generator.random((n, len(self))))

    def sobol(self, n: int, seed: int | None = None, skip: int = 0) -> list[Config]:
        """Points ``skip .. skip + n - 1`` of a scrambled Sobol sequence seeded by ``seed``."""
        from scipy.stats import qmc  # scipy.stats is slow to import; only Sobol needs it.

        n = check_int(n, "n", "Space.sobol", minimum=0)
        skip = check_int(skip, "skip", "Space.sobol", minimum=0)
        numpy_generator(seed, "seed", "Space.sobol")  # checked only: SciPy seeds an int its own way
        engine = qmc.Sobol(d=len(self), scramble=True, seed=seed)
        if skip:
            engine.fast_forward(skip)
        with warnings.catch_warnings():
            # Studies draw one point at a time; the power-of-two advice does not apply.
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            return self.from_unit(engine.random(n))

    # Encoding ---------------------------------------------------------------------------
    def to_unit(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode configurations as rows of an ``(n, d)`` array in ``[0, 1]``.

        A value outside its parameter's range (or not one of its choices), or missing for
        an active parameter, raises :class:`~metahpo.exceptions.InvalidParameterError`
        naming it; a value past a bound by no more than rounding (:data:`UNIT_TOLERANCE` of
        the range) is encoded as the bound.
        """
        if isinstance(configs, Mapping) or not all(isinstance(c, Mapping) for c in configs):
            hint = " (one config: pass [config])" if isinstance(configs, Mapping) else ""
            raise InvalidParameterError(
                f"The 'configs' parameter of Space.to_unit must be a list of configs (dicts){hint}. "
                f"Got {describe(configs)} instead."
            )
        out = np.empty((len(configs), len(self)), dtype=float)
        for i, config in enumerate(configs):
            active = set(self.active_names(config)) if self._conditions else self._params
            for j, (key, param) in enumerate(self._params.items()):
                out[i, j] = _unit_of(param, key, config, i) if key in active else INACTIVE_UNIT
        return out

    def active_mask(self, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Which parameters each unit-cube row makes active: a boolean ``(n, d)`` array.

        ``points`` has one column per parameter (a single row may be given flat). A
        coordinate that decides what is active (an active parent's) must lie in ``[0, 1]``
        as for :meth:`from_unit`; the others are not read.
        """
        array = _unit_rows(points, self.names, "Space.active_mask")
        mask = np.ones(array.shape, dtype=bool)
        if not self._conditions:
            return mask
        column = {name: j for j, name in enumerate(self._params)}
        outside = outside_unit_interval(array)
        for name in self._order:
            condition = self._conditions.get(name)
            if condition is None:
                continue
            parents = condition.parents()
            for i, row in enumerate(array):
                if not all(mask[i, column[p]] for p in parents):
                    mask[i, column[name]] = False
                    continue
                for p in parents:
                    if outside[i, column[p]]:
                        raise _coordinate_error(self.names, array, i, column[p])
                values = {p: self._params[p].from_unit(row[column[p]]) for p in parents}
                mask[i, column[name]] = condition.holds(values)
        return mask

    def impute_inactive(self, points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """Unit-cube rows with inactive parameters moved to :data:`INACTIVE_UNIT`.

        ``points`` is read as by :meth:`active_mask`. An active coordinate must lie in
        ``[0, 1]`` as for :meth:`from_unit` (one past a bound by rounding becomes the
        bound); an inactive one may be anything, NaN included, since it is replaced.
        """
        array = np.array(_unit_rows(points, self.names, "Space.impute_inactive"))
        active = self.active_mask(array)
        _refuse_outside(self.names, array, outside_unit_interval(array) & active)
        array[~active] = INACTIVE_UNIT
        return np.clip(array, 0.0, 1.0)

    def from_unit(self, points: np.ndarray | Sequence[Sequence[float]]) -> list[Config]:
        """Decode rows of the unit cube into configurations.

        A coordinate outside ``[0, 1]`` (NaN included) raises
        :class:`~metahpo.exceptions.InvalidParameterError` naming its parameter; one
        outside by no more than rounding (:data:`UNIT_TOLERANCE`) is taken as the bound.
        """
        array = _unit_rows(points, self.names, "Space.from_unit")
        _refuse_outside(self.names, array, outside_unit_interval(array))
        array = np.clip(array, 0.0, 1.0)
        params = list(self._params.items())
        # Checked and clipped above as a whole: each value is decoded without checking again.
        configs = [
            {key: param._value_at(u) for (key, param), u in zip(params, row, strict=True)}
            for row in array.tolist()  # Python floats: arithmetic on NumPy scalars is slower
        ]
        if not self._conditions:
            return configs
        out = []
        for config in configs:
            active = self.active_names(config)
            out.append({key: config[key] for key in active})
        return out

    # Serialisation ----------------------------------------------------------------------
    def config_keys(self, configs: Sequence[Mapping[str, Any]]) -> list[ConfigKey]:
        """The identity of each config: a tuple with an entry per parameter.

        Two configs are the same config exactly when their keys are equal: integers by
        value, categoricals by choice (both by their cell of the unit cube, an Int of over
        a million values by its value), floats to 9 decimals of the unit cube (see
        :func:`round_unit`), inactive parameters as ``None``. This is metahpo's one
        definition of config identity (duplicates, portfolios, shared configs between
        tasks). Keys live in memory only: nothing stores them.
        """
        if not configs:
            return []
        return config_keys(self, configs, self.to_unit(configs))

    def config_key(self, config: Mapping[str, Any]) -> ConfigKey:
        """The identity of one config (see :meth:`config_keys`)."""
        return self.config_keys([config])[0]

    def to_dict(self) -> dict[str, Any]:
        """Name -> parameter description; a conditional one carries a ``"condition"`` key."""
        out = {}
        for name, param in self._params.items():
            entry = param.to_dict()
            if name in self._conditions:
                entry["condition"] = self._conditions[name].to_dict()
            out[name] = entry
        return out

    @classmethod
    def from_dict(cls, data: Any, *, strict: bool = False) -> Space:
        """The space of a description written by :meth:`to_dict`.

        A description is read as an earlier version wrote it, so that a stored study or
        task still opens: a ``Range`` that holds for none of its parent's values, which
        ``Space(...)`` refuses, is logged instead. ``strict=True`` refuses it too, for a
        description written by hand.
        """
        if not isinstance(data, Mapping):
            raise InvalidParameterError(
                f"A space description must be a dict of name -> parameter. Got {describe(data)} instead."
            )
        params, conditions = {}, {}
        for name, entry in data.items():
            if isinstance(entry, Mapping) and entry.get("type") in ("float", "int", "categorical"):
                check_param_keys(dict(entry), f"The description of parameter {name!r} "
                                 f"(type {entry['type']!r})", extra=("condition",))
            try:
                if isinstance(entry, Mapping) and "condition" in entry:
                    entry = dict(entry)
                    conditions[name] = condition_from_dict(entry.pop("condition"))
                params[name] = param_from_dict(entry)
            except InvalidParameterError as exc:
                # The parameter's own message names its field, not which parameter it is.
                raise InvalidParameterError(f"The description of parameter {name!r} is invalid: {exc}") from exc
        space = cls.__new__(cls)
        space._init(params, conditions, stored=not strict)
        return space

    @classmethod
    def from_configspace(cls, configspace: Any, forbidden: str = "raise") -> Space:
        """The space of a ConfigSpace ``ConfigurationSpace`` (needs the ``configspace`` extra).

        See :func:`metahpo.space.from_configspace` for what maps and how.
        """
        from metahpo.space._configspace import from_configspace

        return from_configspace(configspace, forbidden=forbidden)

    def to_configspace(self, seed: int | None = None) -> Any:
        """This space as a ConfigSpace ``ConfigurationSpace`` (needs the ``configspace`` extra)."""
        from metahpo.space._configspace import to_configspace

        return to_configspace(self, seed=seed)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Space:
        if not isinstance(text, (str, bytes, bytearray)):
            raise InvalidParameterError(f"The 'text' parameter of Space.from_json must be JSON text. Got {describe(text)} instead.")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(f"A space description must be valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """A SHA-256 hex digest of the canonical JSON; the same in every process and version.

        Parameter order does not change it: two studies with the same parameters match.
        Conditions are covered; defaults are not (they do not change what is searched).
        """
        data = {
            name: {k: v for k, v in entry.items() if k != "default"}
            for name, entry in self.to_dict().items()
        }
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_conditions(
    params: Mapping[str, Param], conditions: Mapping[str, Condition] | None, stored: bool = False
) -> dict[str, Condition]:
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise InvalidParameterError(
            "The 'conditions' parameter of Space must be a dict of parameter name -> condition. "
            f"Got {describe(conditions)} instead."
        )
    out: dict[str, Condition] = {}
    for child, condition in conditions.items():
        if child not in params:
            raise InvalidParameterError(
                f"The 'conditions' parameter of Space names {child!r}, which is not a parameter; "
                f"the space has {list(params)}."
            )
        if not isinstance(condition, CONDITION_TYPES):
            raise InvalidParameterError(
                f"The condition of {child!r} must be an Equals, In, Range, AllOf or AnyOf. "
                f"Got {describe(condition)} instead."
            )
        for parent in condition.parents():
            if parent not in params or parent == child:
                raise InvalidParameterError(
                    f"The condition of {child!r} reads {parent!r}, which must be another parameter "
                    f"of the space. The space has {list(params)}."
                )
        _check_condition_values(child, condition, params, stored)
        out[child] = condition
    return out


def _check_condition_values(
    child: str, condition: Condition, params: Mapping[str, Param], stored: bool = False
) -> None:
    from metahpo.space._conditions import AllOf, AnyOf, Equals, Range

    if isinstance(condition, (AllOf, AnyOf)):
        for part in condition.conditions:
            _check_condition_values(child, part, params, stored)
        return
    parent = params[condition.parent]
    if isinstance(condition, Range):
        if isinstance(parent, Categorical):
            raise InvalidParameterError(
                f"The condition of {child!r} is a Range on the categorical {condition.parent!r}; "
                "use Equals or In for a categorical parent."
            )
        low = parent.low if condition.low is None else max(parent.low, condition.low)
        high = parent.high if condition.high is None else min(parent.high, condition.high)
        if isinstance(parent, Int):
            low, high = math.ceil(low), math.floor(high)
        if low > high:  # the child could never be active: a typo in a bound, most likely
            message = (
                f"The condition of {child!r} is a Range on {condition.parent!r} with low={condition.low!r}, "
                f"high={condition.high!r}, which holds for no value in {_describe_param(parent)}."
            )
            if not stored:
                raise InvalidParameterError(message)
            logger.warning("%s %r is never active in this stored space.", message, child)
        return
    values = (condition.value,) if isinstance(condition, Equals) else condition.values
    for value in values:
        if not parent.contains(value):
            raise InvalidParameterError(
                f"The condition of {child!r} compares {condition.parent!r} with {describe(value)}, "
                f"which is not in {_describe_param(parent)}."
            )


def _topological_order(params: Mapping[str, Param], conditions: Mapping[str, Condition]) -> list[str]:
    """Parameter names with every parent before its children; refuses cycles."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name):], name])
            raise InvalidParameterError(f"The conditions of Space form a cycle: {cycle}.")
        state[name] = 1
        condition = conditions.get(name)
        for parent in condition.parents() if condition is not None else ():
            visit(parent, [*path, name])
        state[name] = 2
        order.append(name)

    for name in params:
        visit(name, [])
    return order


def _describe_param(param: Param) -> str:
    if isinstance(param, Categorical):
        return f"the choices {list(param.choices)!r}"
    kind = "integers" if isinstance(param, Int) else "reals"
    scale = ", log scale" if param.log else ""
    return f"the {kind} [{param.low!r}, {param.high!r}]{scale}"


def _unit_rows(points: Any, names: list[str], owner: str) -> np.ndarray:
    """``points`` as an ``(n, d)`` float array with a column for each of ``names`` (a flat
    sequence is one row), or an error naming ``owner``'s argument, the expected shape and
    the shape given. The coordinates are not checked: see :func:`_coordinate_error`."""
    expected = (f"an array of unit-cube rows with {len(names)} columns, one per parameter "
                f"{describe(names)}")
    try:
        given = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The 'points' parameter of {owner} must be {expected}: rows of equal length, "
            f"all numbers. Got {describe(points)} instead."
        ) from exc
    array = np.atleast_2d(given)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise InvalidParameterError(
            f"The 'points' parameter of {owner} must be {expected}. Got shape {given.shape} instead."
        )
    return array


def _refuse_outside(names: list[str], array: np.ndarray, outside: np.ndarray) -> None:
    """Raise :func:`_coordinate_error` for the first coordinate ``outside`` marks, if any."""
    if outside.any():
        row, column = (int(k) for k in np.argwhere(outside)[0])
        raise _coordinate_error(names, array, row, column)


def _coordinate_error(names: list[str], array: np.ndarray, row: int, column: int) -> InvalidParameterError:
    """The error for ``points[row][column]``, which lies outside the unit interval."""
    return InvalidParameterError(
        f"The coordinate of {names[column]!r} (column {column}) in points[{row}] must "
        f"be in [0, 1], the unit interval. Got {describe(float(array[row, column]))} instead."
    )


def _unit_of(param: Param, key: str, config: Mapping[str, Any], row: int) -> float:
    """``param.to_unit(value)`` for the value of ``key`` in ``config``, ``configs[row]``, which
    must be there and lie in the parameter's range up to :data:`UNIT_TOLERANCE` (then clipped
    into it)."""
    if key not in config:
        raise InvalidParameterError(
            f"The value of {key!r} in configs[{row}] must be given: the parameter is active, with "
            f"values in {_describe_param(param)}. Got a config without it (its keys: "
            f"{describe(list(config))}) instead."
        )
    value = config[key]
    if isinstance(param, Categorical):
        try:
            return param.to_unit(value)
        except InvalidParameterError:
            pass  # Refused below, naming the parameter.
    elif is_real_number(value) and not (param.log and value <= 0):
        if isinstance(param, Int):
            # Every value in range lies inside (0, 1): the cells reach half a step past the bounds.
            slack = UNIT_TOLERANCE * (param.high - param.low)
            integral = abs(value - round(value)) <= 1e-9 * max(1.0, abs(value))
            if integral and param.low - slack <= value <= param.high + slack:
                return param.to_unit(value)
        else:
            unit = param.to_unit(value)
            if -UNIT_TOLERANCE <= unit <= 1.0 + UNIT_TOLERANCE:
                return min(max(unit, 0.0), 1.0)
    raise InvalidParameterError(
        f"The value of {key!r} in configs[{row}] must be in {_describe_param(param)}. "
        f"Got {describe(value)} instead."
    )


def _native(param: Param, value: Any) -> Any:
    if isinstance(param, Int):
        return int(value)
    if isinstance(param, Float):
        return float(value)
    return param.choices[param.index(value)]


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, allow_nan=True)
