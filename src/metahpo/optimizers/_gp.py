"""GP-BO: Bayesian optimisation with an exact GP, the cold start without prior knowledge."""

from __future__ import annotations

from typing import Any, ClassVar

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers._base import BaseOptimizer, Suggestion
from metahpo.optimizers._bo import (
    ACQUISITIONS,
    GPFitState,
    fit_exact_gp,
    propose,
    replay_trust_radius,
    state_from_dict,
)
from metahpo.space import Config
from metahpo.surrogates import OUTPUT_TRANSFORMS, SpaceEncoding, torch_threads

__all__ = ["GPBO"]


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
    ) -> None:
        self.n_initial = n_initial
        self.acquisition = acquisition
        self.beta = beta
        self.output_transform = output_transform
        self.n_restarts = n_restarts
        self.trust_region = trust_region
        self.proximal_penalty = proximal_penalty
        self._check_params()
        # What the last fit leaves for the next (a warm start; the transform "auto" chose).
        self._fit_state = GPFitState()

    def _check_params(self) -> None:
        if self.n_initial is not None:
            self.n_initial = check_int(self.n_initial, "n_initial", "GPBO", minimum=1)
        if self.acquisition not in ACQUISITIONS:
            raise InvalidParameterError(
                f"The 'acquisition' parameter of GPBO must be one of {list(ACQUISITIONS)}. "
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
        self.n_restarts = check_int(self.n_restarts, "n_restarts", "GPBO", minimum=1)
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
        """The last fitted GP hyperparameters (for warm starts) and the output transform
        the last fit used (kept by warm fits under ``"auto"``)."""
        return self._fit_state.to_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise InvalidParameterError(
                f"The 'state' of GPBO must be a dict. Got {describe(state)} instead."
            )
        transform = state.get("output_transform")
        # The transform a fit used: "auto" chooses one, it is never the one used.
        fitted = [kind for kind in OUTPUT_TRANSFORMS if kind != "auto"]
        if transform is not None and transform not in fitted:
            raise InvalidParameterError(
                f"The 'output_transform' entry of a GPBO state must be one of {fitted} or "
                f"None. Got {describe(transform)} instead."
            )
        self._fit_state = state_from_dict(state)

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        return [s.config for s in self.suggest_explained(history, n)]

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        """The configs of :meth:`suggest`, each with ``{"source": "sobol"}`` (the initial
        design) or ``{"source": "gpbo"}`` (the GP's proposal)."""
        n = check_int(n, "n", "GPBO.suggest", minimum=1)
        space = history.space
        n_initial = len(space) + 1 if self.n_initial is None else self.n_initial
        started = history.new_config_count()
        losses = history.observations()[2]
        n_design = max(0, min(n, n_initial - started))
        if len(losses) < 2:
            n_design = n
        configs = space.sobol(n_design, seed=history.seed, skip=started) if n_design else []
        design = [Suggestion(c, {"source": "sobol"}) for c in configs]
        if n_design == n:
            return design
        with torch_threads(1):
            proposed = self._model_based(history, n - n_design)
        return design + [Suggestion(c, {"source": "gpbo"}) for c in proposed]

    def _model_based(self, history: History, n: int) -> list[Config]:
        encoding = SpaceEncoding(history.space, history.min_budget, history.max_budget)
        x_unit, budgets, losses = history.observations()
        gp, self._fit_state = fit_exact_gp(
            history, encoding, encoding.inputs(x_unit, budgets), losses,
            self.output_transform, self.n_restarts, self._fit_state,
        )
        radius = replay_trust_radius(history) if self.trust_region else None
        return propose(history, encoding, gp, n, self.acquisition, self.beta, radius,
                       self.proximal_penalty, thorough=True)
