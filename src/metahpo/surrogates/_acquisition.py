"""Acquisition functions: log expected improvement, a lower confidence bound, and either
weighted by a second model's belief about where the optimum lies.

Both are written as *losses to minimise* over surrogate inputs, so the proximal
optimiser needs no sign conventions: :class:`LogExpectedImprovement` returns
``-log EI`` and :class:`LowerConfidenceBound` returns ``mean - beta * std``.
They append the fixed budget feature (the target budget) to every row, so a
surrogate of ``g(config, budget)`` is optimised at that budget.
"""

from __future__ import annotations

import math

import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates._protocol import Surrogate

__all__ = [
    "LogExpectedImprovement",
    "LowerConfidenceBound",
    "PriorWeighted",
    "log_expected_improvement",
    "lower_confidence_bound",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(x))`` for ``x < 0`` (Mächler, 2012, "Accurately computing log(1 - exp(-|a|))")."""
    small = x > -math.log(2.0)
    x_small = x.masked_fill(~small, -1.0)
    x_large = x.masked_fill(small, -1.0)
    return torch.where(small, torch.log(-torch.expm1(x_small)), torch.log1p(-torch.exp(x_large)))


def _log_h(z: torch.Tensor) -> torch.Tensor:
    """``log(φ(z) + z Φ(z))``, accurate and differentiable for very negative ``z``.

    For ``z > -1`` the direct formula is safe. Below, ``φ(z) + zΦ(z) = φ(z)(1 - |z| Φ(z)/φ(z))``
    with ``Φ(z)/φ(z) = erfcx(-z/√2) √(π/2)``, which never underflows; for ``z`` below
    ``-1/√eps`` the bracket is ``~1/z²`` (Ament et al., 2023, "Unexpected improvements to
    expected improvement for Bayesian optimization", eq. 9). Masked copies of ``z`` keep
    the unused branch from producing NaN gradients.
    """
    eps = torch.finfo(z.dtype).eps
    asymptotic = -1.0 / math.sqrt(eps)
    upper = z > -1.0
    z_up = z.masked_fill(~upper, -1.0)
    direct = torch.log(
        torch.exp(-0.5 * z_up * z_up - _LOG_SQRT_2PI) + z_up * torch.special.ndtr(z_up)
    )
    z_low = z.masked_fill(upper, -1.0)
    log_phi = -0.5 * z_low * z_low - _LOG_SQRT_2PI
    z_mid = z_low.clamp_min(asymptotic)
    w = torch.log(-z_mid * torch.special.erfcx(-z_mid * _INV_SQRT2) * _SQRT_HALF_PI)
    bracket = torch.where(z_low > asymptotic, _log1mexp(w), -2.0 * torch.log(-z_low))
    return torch.where(upper, direct, log_phi + bracket)


def log_expected_improvement(
    mean: torch.Tensor, std: torch.Tensor, best: float | torch.Tensor
) -> torch.Tensor:
    """``log E[max(best - f, 0)]`` for ``f ~ N(mean, std²)`` (minimisation).

    Finite for every finite input: far from the incumbent it decays like ``-z²/2``
    instead of underflowing to ``-inf``, so its gradient still points somewhere.
    """
    z = (best - mean) / std
    return _log_h(z) + torch.log(std)


def lower_confidence_bound(
    mean: torch.Tensor, std: torch.Tensor, beta: float = 2.0
) -> torch.Tensor:
    """``mean - beta * std``: optimistic loss; smaller is more promising."""
    return mean - beta * std


class _BudgetAcquisition:
    """Shared plumbing: evaluate the surrogate at ``(config features, target budget)``."""

    def __init__(self, surrogate: Surrogate, budget_feature: float | None = None) -> None:
        self.surrogate = surrogate
        self.budget_feature = budget_feature

    def _predict(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.budget_feature is not None:
            column = torch.full((*z.shape[:-1], 1), self.budget_feature, dtype=z.dtype)
            z = torch.cat([z, column], dim=-1)
        return self.surrogate.predict(z)

    def _predict_with_grad(
        self, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
        closed_form = getattr(self.surrogate, "predict_with_grad", None)
        if closed_form is None:
            return None
        if self.budget_feature is not None:
            column = torch.full((*z.shape[:-1], 1), self.budget_feature, dtype=z.dtype)
            mean, std, mean_grad, std_grad = closed_form(torch.cat([z, column], dim=-1))
            # The budget column is fixed: drop its derivative.
            return mean, std, mean_grad[:, :-1], std_grad[:, :-1]
        return closed_form(z)


def _log_ei_and_grad(
    mean: torch.Tensor,
    std: torch.Tensor,
    mean_grad: torch.Tensor,
    std_grad: torch.Tensor,
    best: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``log EI`` and its gradient by the chain rule, from the surrogate's gradients.

    With ``z = (best - mean) / std`` and ``h' = Φ``: ``∂/∂mean = -ρ / std`` and
    ``∂/∂std = (1 - ρ z) / std`` where ``ρ = Φ(z) / h(z)``, computed in log space.
    """
    z = (best - mean) / std
    log_h = _log_h(z)
    ratio = torch.exp(torch.special.log_ndtr(z) - log_h)
    d_mean = -ratio / std
    d_std = (1.0 - ratio * z) / std
    return log_h + torch.log(std), d_mean[:, None] * mean_grad + d_std[:, None] * std_grad


class LogExpectedImprovement(_BudgetAcquisition):
    """``-log EI`` over config features: a loss for the acquisition optimiser.

    Args:
        surrogate: any :class:`Surrogate`.
        best: the incumbent on the surrogate's output scale.
        budget_feature: the budget column appended to each row (``None`` if the
            surrogate has no budget input); 1.0 is the maximum budget.
    """

    def __init__(
        self, surrogate: Surrogate, best: float, budget_feature: float | None = None
    ) -> None:
        super().__init__(surrogate, budget_feature)
        self.best = best

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._predict(z)
        return -log_expected_improvement(mean, std, self.best)

    def value_and_grad(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``-log EI`` and its gradient in closed form, or ``None`` if the surrogate has no
        ``predict_with_grad`` (the optimiser then uses autograd)."""
        moments = self._predict_with_grad(z)
        if moments is None:
            return None
        with torch.no_grad():
            value, grad = _log_ei_and_grad(*moments, self.best)
        return -value, -grad


class LowerConfidenceBound(_BudgetAcquisition):
    """``mean - beta * std`` over config features: a loss for the acquisition optimiser."""

    def __init__(
        self, surrogate: Surrogate, beta: float = 2.0, budget_feature: float | None = None
    ) -> None:
        super().__init__(surrogate, budget_feature)
        self.beta = beta

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._predict(z)
        return lower_confidence_bound(mean, std, self.beta)

    def value_and_grad(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The bound and its gradient in closed form (``None`` without ``predict_with_grad``)."""
        moments = self._predict_with_grad(z)
        if moments is None:
            return None
        mean, std, mean_grad, std_grad = moments
        return mean - self.beta * std, mean_grad - self.beta * std_grad


_PRIOR_Z_FLOOR = -1e6


class PriorWeighted(_BudgetAcquisition):
    """An acquisition loss weighted by a prior over where the optimum lies (πBO).

    πBO (Hvarfner et al., 2022, "πBO: Augmenting acquisition functions with user beliefs
    for Bayesian optimization") maximises ``α(x) π(x)^(β/n)``: the prior ``π`` steers the
    search early and fades as the ``n`` observations take over, which keeps the method's
    convergence. Here ``π(x)`` is a second surrogate's probability that ``x`` improves on
    its incumbent (MetaBO's meta-learned model, conditioned on the study's observations,
    while a GP fitted on the study alone chooses where to look), so the loss is
    ``acquisition(x) - weight · log PI(x)`` with ``weight = β / n``.

    Args:
        acquisition: the loss to weight, a :class:`LogExpectedImprovement` (``-log α``:
            adding ``-weight · log π`` is πBO's product; a loss on another scale, such as
            a confidence bound's, would be swamped by the prior's log).
        prior: the surrogate whose probability of improvement is the prior.
        best: the incumbent on ``prior``'s output scale.
        weight: ``β / n``.
        budget_feature: the budget column appended to each row for ``prior``.
    """

    def __init__(
        self,
        acquisition: LogExpectedImprovement,
        prior: Surrogate,
        best: float,
        weight: float,
        budget_feature: float | None = None,
    ) -> None:
        if not isinstance(acquisition, LogExpectedImprovement):
            raise InvalidParameterError(
                "The 'acquisition' parameter of PriorWeighted must be a LogExpectedImprovement "
                f"(πBO weights log EI). Got {type(acquisition).__name__} instead."
            )
        super().__init__(prior, budget_feature)
        self.acquisition = acquisition
        self.best = best
        self.weight = weight

    def _log_prior(self, z: torch.Tensor) -> torch.Tensor:
        mean, std = self._predict(z)
        # Beyond a million standard deviations log_ndtr's gradient is wrong (inf at 1e10):
        # there the prior is flat, and a start stuck there stays put rather than diverge.
        return torch.special.log_ndtr(((self.best - mean) / std).clamp_min(_PRIOR_Z_FLOOR))

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.acquisition(z) - self.weight * self._log_prior(z)

    def value_and_grad(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The weighted loss and its gradient: the acquisition's in closed form where it has
        one, the prior's by autograd (``None`` when neither part has a closed form)."""
        closed = self.acquisition.value_and_grad(z)
        if closed is None:
            return None
        with torch.enable_grad():
            x = z.detach().requires_grad_(True)
            log_prior = self._log_prior(x)
            (grad,) = torch.autograd.grad(log_prior.sum(), x)
        value, acquisition_grad = closed
        return value - self.weight * log_prior.detach(), acquisition_grad - self.weight * grad
