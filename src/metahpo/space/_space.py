"""A search space: named parameters, sampling, the unit-cube encoding, JSON and a fingerprint."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space._params import Categorical, Float, Int, Param, param_from_dict

Config = dict[str, Any]


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

    def __init__(self, params: Mapping[str, Param]) -> None:
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

    # Mapping protocol -------------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    @property
    def names(self) -> list[str]:
        return list(self._params)

    # Validation -------------------------------------------------------------------------
    def contains(self, config: Any) -> bool:
        """Whether ``config`` has exactly this space's keys and every value is in range."""
        if not isinstance(config, Mapping) or set(config) != set(self._params):
            return False
        return all(param.contains(config[name]) for name, param in self._params.items())

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
        missing = [k for k in self._params if k not in config]
        if missing:
            raise InvalidParameterError(f"The {name!r} parameter is missing the keys {missing}.")
        out: Config = {}
        for key, param in self._params.items():
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
        generator = np.random.default_rng(rng)
        return self.from_unit(generator.random((n, len(self))))

    def sobol(self, n: int, seed: int | None = None, skip: int = 0) -> list[Config]:
        """Points ``skip .. skip + n - 1`` of a scrambled Sobol sequence seeded by ``seed``."""
        from scipy.stats import qmc  # scipy.stats is slow to import; only Sobol needs it.

        engine = qmc.Sobol(d=len(self), scramble=True, seed=seed)
        if skip:
            engine.fast_forward(skip)
        with warnings.catch_warnings():
            # Studies draw one point at a time; the power-of-two advice does not apply.
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            return self.from_unit(engine.random(n))

    # Encoding ---------------------------------------------------------------------------
    def to_unit(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode configurations as rows of an ``(n, d)`` array in ``[0, 1]``."""
        out = np.empty((len(configs), len(self)), dtype=float)
        for i, config in enumerate(configs):
            for j, (key, param) in enumerate(self._params.items()):
                out[i, j] = param.to_unit(config[key])
        return out

    def from_unit(self, points: np.ndarray | Sequence[Sequence[float]]) -> list[Config]:
        """Decode rows of the unit cube into configurations (values clipped into range)."""
        array = np.atleast_2d(np.asarray(points, dtype=float))
        if array.shape[1] != len(self):
            raise InvalidParameterError(
                f"The 'points' parameter must have {len(self)} columns. Got shape {array.shape} instead."
            )
        params = list(self._params.items())
        return [
            {key: param.from_unit(u) for (key, param), u in zip(params, row, strict=True)}
            for row in array
        ]

    # Serialisation ----------------------------------------------------------------------
    def config_keys(self, configs: Sequence[Mapping[str, Any]]) -> list[tuple[float, ...]]:
        """The identity of each config: its unit-cube row rounded by :func:`round_unit`.

        Two configs are the same config exactly when their keys are equal: integers and
        categoricals are compared after encoding, floats to 9 decimals of the unit cube.
        This is metahpo's one definition of config identity (duplicates, portfolios,
        shared configs between tasks).
        """
        if not configs:
            return []
        return [tuple(row) for row in round_unit(self.to_unit(configs))]

    def config_key(self, config: Mapping[str, Any]) -> tuple[float, ...]:
        """The identity of one config (see :meth:`config_keys`)."""
        return self.config_keys([config])[0]

    def to_dict(self) -> dict[str, Any]:
        return {name: param.to_dict() for name, param in self._params.items()}

    @classmethod
    def from_dict(cls, data: Any) -> Space:
        if not isinstance(data, Mapping):
            raise InvalidParameterError(
                f"A space description must be a dict of name -> parameter. Got {describe(data)} instead."
            )
        return cls({name: param_from_dict(param) for name, param in data.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Space:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(f"A space description must be valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """A SHA-256 hex digest of the canonical JSON; the same in every process and version.

        Parameter order does not change it: two studies with the same parameters match.
        """
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _describe_param(param: Param) -> str:
    if isinstance(param, Categorical):
        return f"the choices {list(param.choices)!r}"
    kind = "integers" if isinstance(param, Int) else "reals"
    scale = ", log scale" if param.log else ""
    return f"the {kind} [{param.low!r}, {param.high!r}]{scale}"


def _native(param: Param, value: Any) -> Any:
    if isinstance(param, Int):
        return int(value)
    if isinstance(param, Float):
        return float(value)
    return param.choices[param.index(value)]


# Unit-cube coordinates closer than this are the same config (see Space.config_keys).
UNIT_KEY_DECIMALS = 9


def round_unit(unit: np.ndarray) -> np.ndarray:
    """Unit-cube rows rounded to config identity: equal rows are the same config."""
    return np.round(np.asarray(unit, dtype=float), UNIT_KEY_DECIMALS)
