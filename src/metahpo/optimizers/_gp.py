"""GP-BO: the cold-start model-based optimizer (an exact GP over config and budget)."""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers._base import BaseOptimizer
from metahpo.space import Config, Space
from metahpo.surrogates import (
    NOISE_PRIORS,
    OUTPUT_TRANSFORMS,
    AcquisitionOptimizer,
    ExactGP,
    GPHyperparameters,
    LogExpectedImprovement,
    LowerConfidenceBound,
    SpaceEncoding,
    TrustRegion,
    torch_threads,
)

__all__ = ["GPBO"]

logger = logging.getLogger(__name__)

_ACQUISITIONS = ("logei", "lcb")
_SALT_FIT, _SALT_ACQUISITION, _SALT_FALLBACK = 11, 12, 13
_ALWAYS_COLD, _COLD_FIT_EVERY = 30, 10
# A warm fit starts next to its optimum (one observation changed): a few steps suffice.
_COLD_MAX_ITER, _WARM_MAX_ITER = 60, 15


class GPBO(BaseOptimizer):
    """Bayesian optimisation with an exact GP: the default without prior knowledge.

    The first ``n_initial`` configs (``d + 1`` by default) are scrambled Sobol points.
    Then every suggestion fits an :class:`~metahpo.surrogates.ExactGP` (Matérn-5/2 ARD,
    categoricals one-hot, the log budget as an extra input, so one model covers every
    fidelity a scheduler runs), and minimises ``-log EI`` (or a lower confidence bound)
    at the maximum budget with the proximal-gradient
    :class:`~metahpo.surrogates.AcquisitionOptimizer`. Local starts are confined to a
    trust region around the incumbent whose half-width doubles after a trial that
    improved the incumbent and halves after one that did not (replayed from the
    history, so it needs no hidden state).

    Pending (RUNNING) configs enter the GP as "constant liars" at the worst observed
    loss, so parallel workers are not sent to the same place; a batch of ``n``
    suggestions is built the same way, one liar at a time.

    Args:
        n_initial: size of the Sobol design; ``None`` means ``d + 1``.
        acquisition: ``"logei"`` or ``"lcb"``.
        beta: the exploration weight of ``"lcb"``.
        output_transform: ``"auto"`` (choose ``"standardize"`` or ``"log"`` by the
            log posterior of the losses on every cold fit), ``"standardize"``, ``"log"``,
            ``"rank"`` or ``"none"``.
        n_restarts: hyperparameter fits optimised on a cold fit (one when warm-started).
        noise_prior: ``"gamma"`` or ``"lognormal"``; see :class:`~metahpo.surrogates.ExactGP`.
        trust_region: whether local starts are confined around the incumbent.
        proximal_penalty: weight of the pull of local starts toward the incumbent.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(-5.0, 5.0), "y": mh.Float(-5.0, 5.0)})
        >>> study = mh.create_study(space=space, optimizer=mh.GPBO(), seed=0)
        >>> study.optimize(lambda t: (t.config["x"] - 1) ** 2 + t.config["y"] ** 2, n_trials=15,
        ...                show_progress=False)
        >>> study.best_value < 0.5
        True
    """

    name: ClassVar[str] = "gpbo"

    def __init__(
        self,
        n_initial: int | None = None,
        acquisition: str = "logei",
        beta: float = 2.0,
        output_transform: str = "auto",
        n_restarts: int = 2,
        trust_region: bool = True,
        proximal_penalty: float = 0.0,
        noise_prior: str = "gamma",
    ) -> None:
        self.n_initial = n_initial
        self.acquisition = acquisition
        self.beta = beta
        self.output_transform = output_transform
        self.n_restarts = n_restarts
        self.trust_region = trust_region
        self.proximal_penalty = proximal_penalty
        self.noise_prior = noise_prior
        self._check_params()
        self._hyperparameters: GPHyperparameters | None = None
        self._trust_radius: float | None = None
        # With output_transform="auto": the transform the last cold fit chose.
        self._transform: str | None = None

    def _check_params(self) -> None:
        if self.n_initial is not None:
            check_int(self.n_initial, "n_initial", "GPBO", minimum=1)
        if self.acquisition not in _ACQUISITIONS:
            raise InvalidParameterError(
                f"The 'acquisition' parameter of GPBO must be one of {list(_ACQUISITIONS)}. "
                f"Got {describe(self.acquisition)} instead."
            )
        if check_finite_number(self.beta, "beta", "GPBO") < 0:
            raise InvalidParameterError(
                f"The 'beta' parameter of GPBO must be >= 0. Got {self.beta!r} instead."
            )
        if self.output_transform not in OUTPUT_TRANSFORMS:
            raise InvalidParameterError(
                f"The 'output_transform' parameter of GPBO must be one of {list(OUTPUT_TRANSFORMS)}. "
                f"Got {describe(self.output_transform)} instead."
            )
        check_int(self.n_restarts, "n_restarts", "GPBO", minimum=1)
        if self.noise_prior not in NOISE_PRIORS:
            raise InvalidParameterError(
                f"The 'noise_prior' parameter of GPBO must be one of {list(NOISE_PRIORS)}. "
                f"Got {describe(self.noise_prior)} instead."
            )
        if not isinstance(self.trust_region, bool):
            raise InvalidParameterError(
                f"The 'trust_region' parameter of GPBO must be a bool. Got {describe(self.trust_region)} instead."
            )
        if check_finite_number(self.proximal_penalty, "proximal_penalty", "GPBO") < 0:
            raise InvalidParameterError(
                f"The 'proximal_penalty' parameter of GPBO must be >= 0. Got {self.proximal_penalty!r} instead."
            )

    # State --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The last fitted GP hyperparameters (for warm starts), the trust-region radius and
        the output transform the last fit used (kept by warm fits under ``"auto"``)."""
        return {
            "hyperparameters": None
            if self._hyperparameters is None
            else self._hyperparameters.to_dict(),
            "trust_radius": self._trust_radius,
            "output_transform": self._transform,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise InvalidParameterError(
                f"The 'state' of GPBO must be a dict. Got {describe(state)} instead."
            )
        data = state.get("hyperparameters")
        self._hyperparameters = None if data is None else GPHyperparameters.from_dict(data)
        radius = state.get("trust_radius")
        self._trust_radius = None if radius is None else float(radius)
        transform = state.get("output_transform")
        # The transform a fit used: "auto" chooses one, it is never the one used.
        fitted = [kind for kind in OUTPUT_TRANSFORMS if kind != "auto"]
        if transform is not None and transform not in fitted:
            raise InvalidParameterError(
                f"The 'output_transform' entry of a GPBO state must be one of {fitted} or "
                f"None. Got {describe(transform)} instead."
            )
        self._transform = transform

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        n = check_int(n, "n", "GPBO.suggest", minimum=1)
        space = history.space
        n_initial = len(space) + 1 if self.n_initial is None else self.n_initial
        started = history.new_config_count()
        x_unit, budgets, losses = history.observations()
        n_design = max(0, min(n, n_initial - started))
        if len(losses) < 2:
            n_design = n
        configs = space.sobol(n_design, seed=history.seed, skip=started) if n_design else []
        if n_design < n:
            with torch_threads(1):
                configs += self._model_based(history, x_unit, budgets, losses, n - n_design)
        return configs

    def _model_based(
        self,
        history: History,
        x_unit: np.ndarray,
        budgets: np.ndarray,
        losses: np.ndarray,
        n: int,
    ) -> list[Config]:
        space = history.space
        encoding = SpaceEncoding(space, history.min_budget, history.max_budget)
        inputs = encoding.inputs(x_unit, budgets)
        warm = self._hyperparameters
        if warm is not None and len(warm.lengthscales) != encoding.n_features:
            warm = None
        # Warm fits start from the previous hyperparameters only. Cold fits (all of the
        # first ones, then every tenth; keyed by the history, so replays agree) can leave
        # an optimum the warm start is stuck in.
        cold = _cold(warm, len(losses))
        # Starts are tried in the order: previous fit, short lengthscales, prior mode, ...
        restarts = self.n_restarts if cold else 1
        gp = self._fit_surrogate(history, encoding, inputs, losses, warm, restarts)
        y_model = gp.transform_losses(losses)
        liar = float(np.max(y_model))
        target_feature = 1.0 if encoding.has_budget else None

        # The incumbent and anchors: observations at the largest budget observed.
        budget_column = encoding.budget_feature(budgets)
        at_top = budget_column >= budget_column.max() - 1e-12
        top_features = encoding.features(x_unit[at_top])
        top_order = np.argsort(y_model[at_top], kind="stable")
        anchors = top_features[top_order]
        if target_feature is not None and budget_column.max() < 1.0 - 1e-12:
            # Nothing ran at the target budget yet: the incumbent is the best predicted one.
            mean, _ = gp.predict(
                _tensor(encoding.inputs(x_unit, np.full(len(x_unit), history.max_budget)))
            )
            best = float(mean.min())
        else:
            best = float(y_model[at_top].min())

        pending_rows = self._pending_inputs(history, encoding)
        if len(pending_rows):
            gp = gp.condition(pending_rows, np.full(len(pending_rows), liar))
        radius = self._replay_trust_radius(history) if self.trust_region else None
        self._trust_radius = radius
        trust = None
        if radius is not None and len(anchors):
            trust = TrustRegion(anchors[0], radius, self.proximal_penalty)

        taken = {_key(c) for c in space.from_unit(x_unit)} | {
            _key(t.config) for t in history.pending if t.config
        }
        rng = history.rng(_SALT_ACQUISITION)
        optimizer = AcquisitionOptimizer()
        chosen: list[Config] = []
        for _ in range(n):
            if self.acquisition == "logei":
                acquisition: Any = LogExpectedImprovement(gp, best, target_feature)
            else:
                acquisition = LowerConfidenceBound(gp, self.beta, target_feature)
            candidates = optimizer.optimize(acquisition, encoding, anchors, rng, trust)
            config = self._first_new(space, encoding, candidates.x, taken, history)
            chosen.append(config)
            taken.add(_key(config))
            if len(chosen) < n:
                row = encoding.inputs(space.to_unit([config]), np.array([_target(history)]))
                gp = gp.condition(row, np.array([liar]))
        return chosen

    def _fit_surrogate(
        self,
        history: History,
        encoding: SpaceEncoding,
        inputs: np.ndarray,
        losses: np.ndarray,
        warm: GPHyperparameters | None = None,
        restarts: int = 1,
    ) -> Any:
        """The surrogate of this round, fitted on the observations (subclasses swap the model).

        With ``output_transform="auto"`` the transform is chosen on cold fits only (see
        :class:`~metahpo.surrogates.ExactGP`); warm fits keep the last choice, so they
        cost one fit, not one per candidate transform.
        """
        transform = self.output_transform
        if transform == "auto" and self._transform is not None and not _cold(warm, len(losses)):
            transform = self._transform
        gp = ExactGP(
            output_transform=transform,
            n_restarts=restarts,
            max_iter=_WARM_MAX_ITER if warm is not None and restarts == 1 else _COLD_MAX_ITER,
            warm_start=warm,
            seed=int(history.rng(_SALT_FIT).integers(2**31)),
            noise_prior=self.noise_prior,
        ).fit(inputs, losses)
        self._hyperparameters = gp.hyperparameters_
        self._transform = gp.transform_.kind
        return gp

    def _first_new(
        self,
        space: Space,
        encoding: SpaceEncoding,
        rows: np.ndarray,
        taken: set[str],
        history: History,
    ) -> Config:
        for config in space.from_unit(encoding.unit(rows)):
            if _key(config) not in taken:
                return config
        # Every optimum is already evaluated or pending (small discrete spaces): explore.
        logger.debug("GPBO: all acquisition optima are taken; drawing a random config")
        return space.sample(history.rng(_SALT_FALLBACK), 1)[0]

    @staticmethod
    def _pending_inputs(history: History, encoding: SpaceEncoding) -> np.ndarray:
        pending = [t for t in history.pending if t.config]
        if not pending:
            return np.empty((0, encoding.n_features))
        unit = history.space.to_unit([t.config for t in pending])
        budgets = np.array([_target(history) if t.budget is None else t.budget for t in pending])
        return encoding.inputs(unit, budgets)

    @staticmethod
    def _replay_trust_radius(history: History) -> float:
        """Half-width after replaying the trials: doubled on an improvement, halved otherwise."""
        radius, best = _INITIAL_RADIUS, math.inf
        top = max((t.budget or math.inf) for t in history.complete)
        for trial in history.complete:
            if (trial.budget or math.inf) != top:
                continue
            loss = history.loss(float(trial.value))  # type: ignore[arg-type]
            if loss < best - 1e-12 * max(1.0, abs(best)) or best == math.inf:
                radius = min(2.0 * radius, _MAX_RADIUS) if best != math.inf else radius
                best = loss
            else:
                radius = max(0.5 * radius, _MIN_RADIUS)
        return radius


_INITIAL_RADIUS, _MIN_RADIUS, _MAX_RADIUS = 0.2, 1.0 / 64.0, 0.8


def _cold(warm: GPHyperparameters | None, n_observations: int) -> bool:
    """Whether this round's fit is a cold one: the first fits, then every tenth."""
    return warm is None or n_observations <= _ALWAYS_COLD or n_observations % _COLD_FIT_EVERY == 0


def _target(history: History) -> float:
    return history.max_budget if history.max_budget is not None else 1.0


def _tensor(array: np.ndarray) -> Any:
    import torch

    return torch.as_tensor(array, dtype=torch.float64)


def _key(config: Any) -> str:
    import json

    return json.dumps(dict(config), sort_keys=True, default=str)
