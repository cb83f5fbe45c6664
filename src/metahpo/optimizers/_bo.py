"""The Bayesian-optimisation steps GPBO and MetaBO share: fit a GP, propose from any surrogate.

Both optimizers are thin callers of these functions; they differ only in the surrogate
they fit (an exact GP on the study alone, or a meta-learned deep-kernel GP adapted to it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo.history import History
from metahpo.optimizers._taken import Taken, tie_geometry
from metahpo.space import Config, Space
from metahpo.surrogates import (
    AcquisitionOptimizer,
    Candidates,
    ExactGP,
    GPHyperparameters,
    LogExpectedImprovement,
    LowerConfidenceBound,
    PriorWeighted,
    SpaceEncoding,
    TrustRegion,
)
from metahpo.trial import TrialState

__all__ = ["ACQUISITIONS", "GPFitState", "fit_exact_gp", "propose", "replay_trust_radius"]

logger = logging.getLogger(__name__)

ACQUISITIONS = ("logei", "lcb")
_SALT_FIT, _SALT_ACQUISITION, _SALT_FALLBACK = 11, 12, 13
_FALLBACK_BATCH = 256
_ALWAYS_COLD, _COLD_FIT_EVERY = 30, 10
# A warm fit starts next to its optimum (one trial's observations changed): a few steps suffice.
_COLD_MAX_ITER, _WARM_MAX_ITER = 60, 15
_INITIAL_RADIUS, _MIN_RADIUS, _MAX_RADIUS = 0.2, 1.0 / 64.0, 0.8
# How hard the acquisition is searched. An exact GP's expected improvement late in a study
# is a few narrow peaks that a small search misses (GP-BO's regret after 50 lcbench trials
# was 2.4x Optuna GP's with it, 1.25x with the thorough one); a meta-learned deep kernel's has
# spurious peaks where its features extrapolate, and searching it thoroughly finds those
# (MetaBO's regret on rbv2_xgboost after 10 trials rose by 0.036 ± 0.010).
# benchmarks/results/acquisition_search/ has both measurements.
THOROUGH_SEARCH = {"n_raw": 2048, "max_iter": 100}


@dataclass(frozen=True)
class GPFitState:
    """What one GP fit leaves for the next: its hyperparameters (a warm start) and the
    output transform it used (kept by warm fits under ``"auto"``)."""

    hyperparameters: GPHyperparameters | None = None
    transform: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "hyperparameters": None if self.hyperparameters is None else self.hyperparameters.to_dict(),
            "output_transform": self.transform,
        }


def fit_exact_gp(
    history: History,
    encoding: SpaceEncoding,
    inputs: np.ndarray,
    losses: np.ndarray,
    output_transform: str,
    n_restarts: int,
    previous: GPFitState,
) -> tuple[ExactGP, GPFitState]:
    """An exact GP fitted on the observations, warm-started from ``previous``.

    Warm fits start from the previous hyperparameters only. Cold fits (all of the first
    ones, then every tenth; keyed by the history, so replays agree) can leave an optimum
    the warm start is stuck in, and with ``output_transform="auto"`` they choose the
    transform; warm fits keep the last choice, so they cost one fit, not one per candidate.
    """
    warm = previous.hyperparameters
    if warm is not None and len(warm.lengthscales) != encoding.n_features:
        warm = None
    # Counted in trials: a run seen at several budgets would make the schedule irregular.
    cold = _cold(warm, history.observed_count())
    transform = output_transform
    if transform == "auto" and previous.transform is not None and not cold:
        transform = previous.transform
    gp = ExactGP(
        output_transform=transform,
        n_restarts=n_restarts if cold else 1,
        max_iter=_COLD_MAX_ITER if cold else _WARM_MAX_ITER,
        warm_start=warm,
        seed=int(history.rng(_SALT_FIT).integers(2**31)),
    ).fit(inputs, losses)
    return gp, GPFitState(gp.hyperparameters_, gp.transform_.kind)


def propose(
    history: History,
    encoding: SpaceEncoding,
    surrogate: Any,
    n: int,
    acquisition: str = "logei",
    beta: float = 2.0,
    trust_radius: float | None = None,
    proximal_penalty: float = 0.0,
    thorough: bool = False,
    known_good: Sequence[Config] = (),
    prior: tuple[Any, float] | None = None,
) -> list[Config]:
    """``n`` new configs that minimise the acquisition of ``surrogate`` (fitted on every
    observation of ``history``: COMPLETE trials, and PRUNED ones at the budget they
    reached) at the target budget.

    Pending (RUNNING) configs enter the surrogate as "constant liars" at the worst observed
    loss, so parallel workers are not sent to the same place; a batch of ``n`` is built the
    same way, one liar at a time. Local starts are confined to ``trust_radius`` around the
    incumbent when it is given. Configs already evaluated or pending, or within the
    resolution the objective has shown around them (ties; see :mod:`._taken`), are never
    proposed while the acquisition offers another. ``thorough`` searches the acquisition harder
    (for an exact GP; see ``THOROUGH_SEARCH``). ``known_good`` configs (a portfolio's, good on
    related tasks) compete with the acquisition's optima as they are, by the same acquisition.
    ``prior``, a surrogate fitted on the same observations and a weight, weights log EI
    by that surrogate's probability of improvement (:class:`PriorWeighted`; pending and
    batch configs enter it as liars too).
    """
    space = history.space
    x_unit, budgets, losses = history.observations()
    y_model = surrogate.transform_losses(losses)
    liar = float(np.max(y_model))
    target_feature = 1.0 if encoding.has_budget else None

    # The incumbent and anchors: observations at the largest budget observed.
    budget_column = encoding.budget_feature(budgets)
    at_top = budget_column >= budget_column.max() - 1e-12
    anchors = encoding.features(x_unit[at_top])[np.argsort(y_model[at_top], kind="stable")]
    best = _incumbent(surrogate, history, encoding, x_unit, budget_column, y_model)
    prior_best, prior_liar = 0.0, 0.0
    if prior is not None:
        prior_y = prior[0].transform_losses(losses)
        prior_best = _incumbent(prior[0], history, encoding, x_unit, budget_column, prior_y)
        prior_liar = float(np.max(prior_y))

    pending_rows = _pending_inputs(history, encoding)
    if len(pending_rows):
        surrogate = surrogate.condition(pending_rows, np.full(len(pending_rows), liar))
    if prior is not None and len(pending_rows):
        # The prior sees the liars too, or it would pull every worker to the same place.
        prior = (prior[0].condition(pending_rows, np.full(len(pending_rows), prior_liar)), prior[1])
    trust = None
    if trust_radius is not None and len(anchors):
        trust = TrustRegion(anchors[0], trust_radius, proximal_penalty)

    pending = [dict(t.config) for t in history.pending if t.config]
    # A config whose objective crashed would crash again, and one the objective pruned would
    # be pruned again; the surrogate, which learned nothing from a crash (nor from a pruned
    # trial of a study without budgets), could ask for them again: they are taken too.
    unlearned = (TrialState.FAILED, TrialState.PRUNED)
    stopped = [dict(t.config) for t in history.trials if t.state in unlearned and t.config]
    # Proposals are for the target budget (the largest observed stands for it): what the
    # objective resolves there is what counts.
    radii = np.zeros(len(losses) + len(pending) + len(stopped))
    tied = np.zeros(len(radii), dtype=bool)
    radii[: len(losses)][at_top], tied[: len(losses)][at_top] = tie_geometry(
        space, x_unit[at_top], budgets[at_top], losses[at_top]
    )
    observed = space.from_unit(x_unit)
    taken = Taken(space, [*observed, *pending, *stopped], radii, tied)
    rng = history.rng(_SALT_ACQUISITION)
    optimizer = AcquisitionOptimizer(**THOROUGH_SEARCH) if thorough else AcquisitionOptimizer()
    chosen: list[Config] = []
    for _ in range(n):
        if acquisition == "logei":
            objective: Any = LogExpectedImprovement(surrogate, best, target_feature)
        else:
            objective = LowerConfidenceBound(surrogate, beta, target_feature)
        if prior is not None and acquisition == "logei":
            objective = PriorWeighted(objective, prior[0], prior_best, prior[1], target_feature)
        candidates = optimizer.optimize(objective, encoding, anchors, rng, trust)
        config = _first_new(space, encoding, candidates, taken, history, objective, known_good)
        if config is None and np.any(taken.tied):
            config = _first_new(space, encoding, candidates, taken.without_cells(), history, objective, known_good)
        if config is None and np.any(taken.radii > 0.0):
            config = _first_new(space, encoding, candidates, taken.exact(), history, objective, known_good)
        if config is None:
            # Nothing new is left (a small discrete space, all evaluated): a repeat it is,
            # of a config that completed at the target budget (a noisy objective may tell
            # more on a second look), not pending or chosen for this batch if that leaves
            # one, never one that crashed or was pruned and would again.
            logger.debug("No new config left; repeating a completed config")
            unlearnt = set(space.config_keys(stopped))
            completed = [c for c, key, top in zip(observed, space.config_keys(observed), at_top,
                                                  strict=True) if top and key not in unlearnt]
            busy = Taken(space, [*pending, *chosen])
            again = [c for c in completed if c not in busy] or completed
            config = again[int(np.argmin(_scores(objective, encoding, space, again)))]
        chosen.append(config)
        taken.add(config)
        if len(chosen) < n:
            row = encoding.inputs(space.to_unit([config]), np.array([_target(history)]))
            surrogate = surrogate.condition(row, np.array([liar]))
            if prior is not None:
                prior = (prior[0].condition(row, np.array([prior_liar])), prior[1])
    return chosen


def replay_trust_radius(history: History) -> float:
    """Half-width after replaying the trials: doubled on an improvement, halved otherwise."""
    radius, best = _INITIAL_RADIUS, math.inf
    # Only pruned runs observed so far: nothing to replay.
    top = max(((t.budget or math.inf) for t in history.complete), default=None)
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


def _incumbent(
    surrogate: Any,
    history: History,
    encoding: SpaceEncoding,
    x_unit: np.ndarray,
    budget_column: np.ndarray,
    y_model: np.ndarray,
) -> float:
    """The best loss at the largest budget observed, on ``surrogate``'s scale; before
    anything ran at the target budget, the best loss it predicts there."""
    if encoding.has_budget and budget_column.max() < 1.0 - 1e-12:
        mean, _ = surrogate.predict(_tensor(encoding.inputs(x_unit, np.full(len(x_unit), _target(history)))))
        return float(mean.min())
    return float(y_model[budget_column >= budget_column.max() - 1e-12].min())


def _first_new(
    space: Space,
    encoding: SpaceEncoding,
    candidates: Candidates,
    taken: Taken,
    history: History,
    objective: Any,
    known_good: Sequence[Config] = (),
) -> Config | None:
    # The acquisition's optima not taken, and those inside the resolution the objective has
    # shown (ties) stepped out of it, and the known-good configs not taken: the best of them
    # by the acquisition.
    choices, values = [], []
    for config, value in zip(space.from_unit(encoding.unit(candidates.x)), candidates.value, strict=True):
        if config not in taken:
            choices.append(config)
            values.append(float(value) if np.isfinite(value) else math.inf)
            continue
        stepped = taken.step_out(config)
        if stepped is not None:
            choices.append(stepped)
            values.append(float(_scores(objective, encoding, space, [stepped])[0]))
    fresh = [dict(c) for c in known_good if c not in taken]
    if fresh:
        choices.extend(fresh)
        values.extend(_scores(objective, encoding, space, fresh).tolist())
    if choices:
        return choices[int(np.argmin(values))]
    # Every optimum repeats a config (a small discrete space, or optima inside the resolution
    # the objective has shown): the best new config of a random batch, or None without one.
    rng = history.rng(_SALT_FALLBACK)
    batch = [c for c in space.sample(rng, _FALLBACK_BATCH) if c not in taken]
    if not batch:
        return None
    return batch[int(np.argmin(_scores(objective, encoding, space, batch)))]


def _scores(objective: Any, encoding: SpaceEncoding, space: Space, configs: list[Config]) -> np.ndarray:
    """The acquisition loss of ``configs`` (non-finite values last)."""
    import torch

    with torch.no_grad():
        scores = objective(_tensor(encoding.features(space.to_unit(configs)))).numpy()
    return np.where(np.isfinite(scores), scores, np.inf)


def _pending_inputs(history: History, encoding: SpaceEncoding) -> np.ndarray:
    pending = [t for t in history.pending if t.config]
    if not pending:
        return np.empty((0, encoding.n_features))
    unit = history.space.to_unit([t.config for t in pending])
    budgets = np.array([_target(history) if t.budget is None else t.budget for t in pending])
    return encoding.inputs(unit, budgets)


def _cold(warm: GPHyperparameters | None, n_observed: int) -> bool:
    """Whether this round's fit is a cold one: the first fits, then every tenth."""
    return warm is None or n_observed <= _ALWAYS_COLD or n_observed % _COLD_FIT_EVERY == 0


def _target(history: History) -> float:
    return history.max_budget if history.max_budget is not None else 1.0


def _tensor(array: np.ndarray) -> Any:
    import torch

    return torch.as_tensor(array, dtype=torch.float64)


def state_from_dict(data: Any) -> GPFitState:
    """The :class:`GPFitState` of :meth:`GPFitState.to_dict` (validated by the caller)."""
    hyperparameters = data.get("hyperparameters")
    return GPFitState(
        None if hyperparameters is None else GPHyperparameters.from_dict(hyperparameters),
        data.get("output_transform"),
    )

