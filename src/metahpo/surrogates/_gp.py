"""An exact Gaussian process with a Matérn-5/2 ARD kernel, fitted by maximum a posteriori."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

from metahpo._validation import check_int, describe, is_real_number
from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates._fit_rows import fit_index
from metahpo.surrogates._kernels import matern52
from metahpo.surrogates._threads import torch_threads
from metahpo.surrogates._transforms import AUTO_CANDIDATES, OutputTransform

__all__ = ["NOISE_PRIORS", "ExactGP", "GPHyperparameters"]

logger = logging.getLogger(__name__)

_DTYPE = torch.float64
_SQRT5 = math.sqrt(5.0)
# Relative decrease of the negative log posterior at which fitting stops: hyperparameters
# need no more precision than this, and each iteration costs a Cholesky decomposition.
_FTOL = 1e-6
# Bounds of the log hyperparameters during fitting (inputs live in the unit cube and
# outputs are standardised, so these bracket every sensible value).
_LOG_LENGTHSCALE_BOUNDS = (math.log(1e-3), math.log(1e2))
_LOG_OUTPUTSCALE_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-10), math.log(2.0))
NOISE_PRIORS = ("gamma", "lognormal")
# Gamma(concentration, rate) on the noise variance: mean 0.037 on standardised losses.
_NOISE_GAMMA = (1.1, 30.0)
# Location and scale of the log-normal noise prior (the "lognormal" choice).
_NOISE_LOGNORMAL = (-4.0, 1.0)


@dataclass(frozen=True)
class GPHyperparameters:
    """Kernel and likelihood hyperparameters, JSON-able through :meth:`to_dict`."""

    lengthscales: tuple[float, ...]
    outputscale: float
    noise: float

    def __post_init__(self) -> None:
        # Each is a variance or a scale: zero or less has no kernel (and a zero noise left
        # the Cholesky retry loop multiplying zero forever).
        for name, value in (("outputscale", self.outputscale), ("noise", self.noise),
                            *((f"lengthscales[{i}]", v) for i, v in enumerate(self.lengthscales))):
            if not (math.isfinite(value) and value > 0):
                raise InvalidParameterError(
                    f"The {name!r} of GPHyperparameters must be a finite number > 0. Got {describe(value)} instead."
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lengthscales": [float(v) for v in self.lengthscales],
            "outputscale": float(self.outputscale),
            "noise": float(self.noise),
        }

    @classmethod
    def from_dict(cls, data: Any) -> GPHyperparameters:
        if not isinstance(data, dict) or not {"lengthscales", "outputscale", "noise"} <= set(data):
            raise InvalidParameterError(
                "GP hyperparameters must be a dict with 'lengthscales', 'outputscale' and 'noise'. "
                f"Got {describe(data)} instead."
            )
        return cls(
            tuple(float(v) for v in data["lengthscales"]),
            float(data["outputscale"]),
            float(data["noise"]),
        )


class ExactGP:
    """A zero-mean GP on standardised losses with a Matérn-5/2 ARD kernel, in float64.

    Hyperparameters (one lengthscale per input column, an output scale and the noise
    variance) maximise the log marginal likelihood plus log priors:

    * lengthscales: log-normal with median 1 (the width of the unit cube) and scale
      ``√3``, weak enough for the data to choose between short and long. (The
      dimension-scaled location ``√2 + log(d) / 2`` of Hvarfner, Hellsten & Nardi,
      2024, pulled fits on Hartmann-6 to the "everything is noise" optimum and lost
      to this prior on 3 of 4 seeds; see ``docs/gpbo.md``.)
    * output scale: log-normal around 1 (the outputs are standardised);
    * noise variance (``noise_prior``): ``"gamma"`` (default) is the Gamma(1.1, 30)
      density of the variance, evaluated at the variance while its logarithm is
      optimised (no Jacobian), as Optuna's GPSampler does. It leaves small variances
      almost free (from ``1e-6`` to ``1e-2`` the log prior changes by 0.6 nats) and
      pulls down variances above about 0.03, so deterministic losses are
      interpolated. ``"lognormal"`` (location ``-4``, scale ``1`` on the log excess
      variance) was the earlier default; it charges 48 nats for ``1e-6`` and keeps
      the variance near ``0.02``, which smooths away the fine structure late in a
      run. Either way the variance is floored at ``min_noise``, which also serves as
      the Cholesky jitter.

    With ``output_transform="auto"`` the model is fitted under each of
    :data:`~metahpo.surrogates.AUTO_CANDIDATES` (``"standardize"`` and ``"log"``) and
    keeps the one with the largest log posterior *of the raw losses*: the log marginal
    likelihood and log priors on the model scale plus the transform's log-Jacobian
    (:meth:`OutputTransform.log_jacobian`). The scores are kept in ``transform_scores_``.

    Fitting runs L-BFGS-B from the first ``n_restarts`` of: the previous fit
    (``warm_start``), short lengthscales, the prior's mode, prior draws; the best
    posterior wins. Beyond ``MAX_FIT_ROWS`` (256) observations the hyperparameters (and
    the transform) are chosen on the 128 best and 128 random others
    (:func:`~metahpo.surrogates._fit_rows.fit_rows`, drawn with ``seed``); the posterior
    conditions on every observation.

    Args:
        output_transform: ``"standardize"``, ``"log"``, ``"rank"``, ``"none"`` (see
            :class:`OutputTransform`) or ``"auto"``.
        n_restarts: how many starts are optimised (at least 1).
        max_iter: L-BFGS-B iterations per start.
        min_noise: the smallest noise variance (numerical jitter).
        warm_start: hyperparameters to start from, e.g. the previous fit's.
        fit_hyperparameters: ``False`` keeps ``warm_start`` as given (it is required).
        seed: seeds the prior draws of the restarts.
        noise_prior: ``"gamma"`` or ``"lognormal"`` (see above).

    Example:
        >>> import numpy as np, torch
        >>> X = np.linspace(0, 1, 8)[:, None]
        >>> gp = ExactGP(seed=0).fit(X, np.sin(6 * X[:, 0]))
        >>> mean, std = gp.predict(torch.tensor([[0.5]], dtype=torch.float64))
        >>> bool(std.item() < 0.5)
        True
    """

    def __init__(
        self,
        output_transform: str = "standardize",
        n_restarts: int = 2,
        max_iter: int = 60,
        min_noise: float = 1e-6,
        warm_start: GPHyperparameters | None = None,
        fit_hyperparameters: bool = True,
        seed: int = 0,
        noise_prior: str = "gamma",
    ) -> None:
        if isinstance(min_noise, bool) or not is_real_number(min_noise) or not (
            math.isfinite(min_noise) and min_noise > 0
        ):
            raise InvalidParameterError(
                f"The 'min_noise' parameter of ExactGP must be a finite number > 0. Got {describe(min_noise)} instead."
            )
        self.output_transform = output_transform
        self.n_restarts = check_int(n_restarts, "n_restarts", "ExactGP", minimum=0)
        self.max_iter = check_int(max_iter, "max_iter", "ExactGP", minimum=0)
        self.min_noise = float(min_noise)
        if not isinstance(fit_hyperparameters, bool):  # "no" would be read as True
            raise InvalidParameterError(
                "The 'fit_hyperparameters' parameter of ExactGP must be True or False. "
                f"Got {describe(fit_hyperparameters)} instead."
            )
        self.warm_start = warm_start
        self.fit_hyperparameters = fit_hyperparameters
        self.seed = check_int(seed, "seed", "ExactGP", minimum=0)  # NumPy's seeds are >= 0
        self.noise_prior = noise_prior

    # Fitting ------------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray) -> ExactGP:
        """Fit the output transform, the hyperparameters and the posterior cache.

        Runs on one thread (see :func:`torch_threads`): faster for these small problems.
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(X) != len(y) or len(y) == 0:
            raise InvalidParameterError(
                f"The 'X' and 'y' parameters of ExactGP.fit must have the same number (> 0) of rows. "
                f"Got {len(X)} and {len(y)} instead."
            )
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("The 'X' and 'y' parameters of ExactGP.fit must be finite.")
        n_restarts = check_int(self.n_restarts, "n_restarts", "ExactGP", minimum=1)
        if self.noise_prior not in NOISE_PRIORS:
            raise InvalidParameterError(
                f"The 'noise_prior' parameter of ExactGP must be one of {list(NOISE_PRIORS)}. "
                f"Got {describe(self.noise_prior)} instead."
            )
        with torch_threads(1):
            return self._fit(X, y, n_restarts)

    def _fit(self, X: np.ndarray, y: np.ndarray, n_restarts: int) -> ExactGP:
        dims = X.shape[1]
        if not self.fit_hyperparameters and (
            self.warm_start is None or len(self.warm_start.lengthscales) != dims
        ):
            raise InvalidParameterError(
                f"The 'warm_start' parameter of ExactGP must hold {dims} lengthscales when "
                f"fit_hyperparameters=False. Got {describe(self.warm_start)} instead."
            )
        X_t = torch.as_tensor(X, dtype=_DTYPE)
        pick = fit_index(y, self.seed)
        X_fit = X_t[pick]
        kinds = AUTO_CANDIDATES if self.output_transform == "auto" else (self.output_transform,)
        best: tuple[float, OutputTransform, torch.Tensor, GPHyperparameters] | None = None
        self.transform_scores_: dict[str, float] = {}
        for kind in kinds:
            transform = OutputTransform(kind).fit(y)
            y_t = torch.as_tensor(transform.transform(y), dtype=_DTYPE)
            y_fit = y_t[pick]
            if self.fit_hyperparameters:
                hyperparameters, value = self._optimize(X_fit, y_fit, dims, n_restarts)
            else:
                hyperparameters = self.warm_start  # type: ignore[assignment]
                value = self._objective(self._to_raw(hyperparameters), X_fit, y_fit, dims)[0]
            if len(kinds) == 1:
                best = (0.0, transform, y_t, hyperparameters)
                break
            # Log posterior of the raw losses: of the model-scale values, plus log |dz/dy|
            # (both on the rows fitted).
            score = -value + transform.log_jacobian(y[pick])
            self.transform_scores_[kind] = score
            logger.debug("ExactGP: output transform %s scores %.4g", kind, score)
            if best is None or score > best[0]:
                best = (score, transform, y_t, hyperparameters)
        assert best is not None
        _, self.transform_, y_t, self.hyperparameters_ = best
        self._set_posterior(X_t, y_t)
        return self

    def condition(self, X: np.ndarray, y_model: np.ndarray) -> ExactGP:
        """A copy with extra observations (on the model scale) and the same hyperparameters.

        Used for fantasies: pending evaluations enter as "constant liars".
        """
        other = ExactGP(
            output_transform=self.transform_.kind,
            n_restarts=self.n_restarts,
            max_iter=self.max_iter,
            min_noise=self.min_noise,
            warm_start=self.hyperparameters_,
            fit_hyperparameters=False,
            seed=self.seed,
            noise_prior=self.noise_prior,
        )
        train = self._check_rows(np.atleast_2d(np.asarray(X, dtype=float)), "condition")
        X_new = torch.as_tensor(np.atleast_2d(np.asarray(X, dtype=float)), dtype=_DTYPE)
        y_new = torch.as_tensor(np.asarray(y_model, dtype=float).reshape(-1), dtype=_DTYPE)
        if len(X_new) != len(y_new) or not (bool(torch.isfinite(X_new).all()) and bool(torch.isfinite(y_new).all())):
            raise InvalidParameterError(
                "The 'X' and 'y_model' parameters of ExactGP.condition must be finite and have the same "
                f"number of rows. Got {len(X_new)} rows of {train.shape[1]} columns and {len(y_new)} values instead."
            )
        other.transform_ = self.transform_
        other.hyperparameters_ = self.hyperparameters_
        other._set_posterior(torch.cat([self.X_train_, X_new]), torch.cat([self.y_train_, y_new]))
        return other

    def transform_losses(self, y: np.ndarray) -> np.ndarray:
        """Raw losses on the model scale (that of :meth:`predict`)."""
        return self.transform_.transform(y)

    def _prior_mode(self, dims: int) -> np.ndarray:
        # Log lengthscales, log output scale, log noise variance.
        return np.concatenate([np.zeros(dims), [0.0, _NOISE_LOGNORMAL[0]]])

    def _optimize(
        self, X: torch.Tensor, y: torch.Tensor, dims: int, n_restarts: int
    ) -> tuple[GPHyperparameters, float]:
        """The best MAP hyperparameters over the starts and their negative log posterior."""
        rng = np.random.default_rng(self.seed)
        mode = self._prior_mode(dims)
        # Starts in order of preference: the previous fit, short lengthscales (from long
        # ones L-BFGS-B often stops in the "everything is noise" optimum), the prior's
        # mode, then prior draws.
        short = np.concatenate([np.full(dims, math.log(0.5)), [0.0, math.log(1e-3)]])
        starts = [short, mode]
        if self.warm_start is not None and len(self.warm_start.lengthscales) == dims:
            starts.insert(0, self._to_raw(self.warm_start))
        scales = np.concatenate([np.full(dims, math.sqrt(3.0)), [1.0, 1.0]])
        while len(starts) < n_restarts:
            starts.append(mode + scales * rng.standard_normal(dims + 2))
        bounds = self._bounds(dims)
        low, high = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
        best_raw, best_value = np.clip(starts[0], low, high), math.inf
        for start in starts[:n_restarts]:
            result = minimize(
                self._objective,
                np.clip(start, low, high),
                args=(X, y, dims),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": self.max_iter, "ftol": _FTOL},
            )
            if np.isfinite(result.fun) and result.fun < best_value:
                best_raw, best_value = result.x, float(result.fun)
        if not math.isfinite(best_value):
            best_value = self._objective(best_raw, X, y, dims)[0]
        return self._from_raw(best_raw, dims), best_value

    def _bounds(self, dims: int) -> list[tuple[float, float]]:
        return [_LOG_LENGTHSCALE_BOUNDS] * dims + [_LOG_OUTPUTSCALE_BOUNDS, _LOG_NOISE_BOUNDS]

    def _to_raw(self, hp: GPHyperparameters) -> np.ndarray:
        noise = max(hp.noise - self.min_noise, 1e-10)
        return np.log(np.concatenate([hp.lengthscales, [hp.outputscale, noise]]))

    def _from_raw(self, raw: np.ndarray, dims: int) -> GPHyperparameters:
        values = np.exp(raw)
        return GPHyperparameters(
            tuple(float(v) for v in values[:dims]),
            float(values[dims]),
            float(values[dims + 1] + self.min_noise),
        )

    def _objective(
        self, raw: np.ndarray, X: torch.Tensor, y: torch.Tensor, dims: int
    ) -> tuple[float, np.ndarray]:
        """The negative log posterior of the log hyperparameters and its gradient.

        The gradient is in closed form (Rasmussen & Williams, 2006, eq. 5.9):
        ``∂(-log p(y|θ))/∂θ = ½ tr((K⁻¹ - ααᵀ) ∂K/∂θ)`` with ``α = K⁻¹y``; for the
        Matérn-5/2 kernel ``∂k/∂log ℓ_d = (5/3) s (1 + √5 r) e^{-√5 r} (Δ_d / ℓ_d)²``.
        Backpropagating through the Cholesky factor instead costs several times more.
        """
        with torch.no_grad():
            theta = torch.as_tensor(raw, dtype=_DTYPE)
            lengthscales = torch.exp(theta[:dims])
            outputscale = torch.exp(theta[dims])
            noise_excess = torch.exp(theta[dims + 1])
            scaled = X / lengthscales
            norms = (scaled * scaled).sum(-1)
            squared = (norms[:, None] - 2.0 * scaled @ scaled.T + norms[None, :]).clamp_min(0.0)
            r = torch.sqrt(squared)
            decay = torch.exp(-_SQRT5 * r)
            kernel = outputscale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * squared) * decay
            K = kernel + (noise_excess + self.min_noise) * torch.eye(len(y), dtype=_DTYPE)
            L, info = torch.linalg.cholesky_ex(K)
            if int(info) != 0:
                return 1e10, np.zeros_like(raw)
            alpha = torch.cholesky_solve(y[:, None], L)[:, 0]
            value = (
                0.5 * float(y @ alpha)
                + float(torch.log(torch.diagonal(L)).sum())
                + 0.5 * len(y) * math.log(2 * math.pi)
            )
            W = torch.cholesky_inverse(L) - torch.outer(alpha, alpha)
            P = W * ((5.0 / 3.0) * outputscale * (1.0 + _SQRT5 * r) * decay)
            gradient = torch.empty(dims + 2, dtype=_DTYPE)
            gradient[:dims] = (scaled * scaled).T @ P.sum(1) - (scaled * (P @ scaled)).sum(0)
            gradient[dims] = 0.5 * (W * kernel).sum()
            gradient[dims + 1] = 0.5 * noise_excess * torch.diagonal(W).sum()
            # Log-normal priors on the lengthscales and output scale (and the noise if chosen).
            n_lognormal = dims + 1 if self.noise_prior == "gamma" else dims + 2
            mode = torch.as_tensor(self._prior_mode(dims)[:n_lognormal], dtype=_DTYPE)
            widths = torch.tensor(
                [math.sqrt(3.0)] * dims + [1.0, _NOISE_LOGNORMAL[1]], dtype=_DTYPE
            )[:n_lognormal]
            deviation = theta[:n_lognormal] - mode
            value += 0.5 * float(((deviation / widths) ** 2).sum())
            gradient[:n_lognormal] += deviation / widths**2
            if self.noise_prior == "gamma":
                # -log Gamma(x; a, b) up to a constant, x the noise variance, x = e^θ + min_noise.
                a, b = _NOISE_GAMMA
                variance = float(noise_excess) + self.min_noise
                value += -(a - 1.0) * math.log(variance) + b * variance
                gradient[dims + 1] += (-(a - 1.0) / variance + b) * noise_excess
        if not math.isfinite(value):
            return 1e10, np.zeros_like(raw)
        return value, gradient.numpy()

    # Posterior ----------------------------------------------------------------------------
    def _set_posterior(self, X: torch.Tensor, y: torch.Tensor) -> None:
        hp = self.hyperparameters_
        self.lengthscales_ = torch.tensor(hp.lengthscales, dtype=_DTYPE)
        self.outputscale_ = torch.tensor(hp.outputscale, dtype=_DTYPE)
        K = matern52(X, X, self.lengthscales_, self.outputscale_)
        eye = torch.eye(len(y), dtype=_DTYPE)
        jitter = hp.noise
        L, info = torch.linalg.cholesky_ex(K + jitter * eye)
        while int(info) != 0 and jitter < 1.0:
            jitter *= 10.0
            logger.debug("Cholesky failed; retrying with jitter %.3g", jitter)
            L, info = torch.linalg.cholesky_ex(K + jitter * eye)
        self.X_train_, self.y_train_ = X, y
        self.noise_used_ = jitter
        # L⁻¹ once, so a prediction is two matrix products (fast and differentiable).
        self.cholesky_inverse_ = torch.linalg.solve_triangular(L, eye, upper=False)
        self.alpha_ = self.cholesky_inverse_.T @ (self.cholesky_inverse_ @ y)

    def predict(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and standard deviation of the latent function at ``(batch, d)`` rows.

        Differentiable in ``X``; on the model scale (see :meth:`transform_losses`).
        """
        train = self._check_rows(X, "predict")
        cross = matern52(X, train, self.lengthscales_, self.outputscale_)
        mean = cross @ self.alpha_
        v = cross @ self.cholesky_inverse_.T
        variance = (self.outputscale_ - (v * v).sum(-1)).clamp_min(1e-20)
        return mean, torch.sqrt(variance)

    def _check_rows(self, X: Any, method: str) -> torch.Tensor:
        """The training inputs, once ``X`` is known to be rows of as many columns (a shape check:
        prediction runs in the acquisition optimiser's loop)."""
        train = getattr(self, "X_train_", None)
        if train is None or X.shape[-1] != train.shape[1]:
            raise InvalidParameterError(
                f"ExactGP.{method} needs a fitted GP (call fit first) and rows of its "
                f"{'?' if train is None else train.shape[1]} input columns. Got "
                f"{'an unfitted GP' if train is None else f'rows of shape {tuple(X.shape)}'} instead."
            )
        return train

    def predict_with_grad(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean, standard deviation and their gradients in ``X`` (each ``(batch, d)``), in closed form.

        The same values as :meth:`predict` and autograd, without building a graph: for the
        Matérn-5/2 kernel ``∂k/∂x_d = -(5/3) s (1 + √5 r) e^{-√5 r} (x_d - x'_d) / ℓ_d²``,
        so the mean's gradient is a weighted sum over training rows and the variance's
        uses ``K⁻¹ k(x)`` the same way. The acquisition optimiser calls this every
        iteration; skipping the autograd graph makes a suggestion markedly faster.
        """
        self._check_rows(X, "predict_with_grad")
        with torch.no_grad():
            lengthscales, scale = self.lengthscales_, self.outputscale_
            a = X / lengthscales
            b = self.X_train_ / lengthscales
            squared = ((a * a).sum(-1, keepdim=True) - 2.0 * a @ b.T + (b * b).sum(-1)).clamp_min(
                0.0
            )
            r = torch.sqrt(squared + 1e-30)
            decay = torch.exp(-_SQRT5 * r)
            cross = scale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * squared) * decay
            slope = (
                -(5.0 / 3.0) * scale * (1.0 + _SQRT5 * r) * decay
            )  # (∂k/∂x_d) ℓ_d² / (x_d - x'_d)
            inverse_sq = 1.0 / (lengthscales * lengthscales)
            mean = cross @ self.alpha_
            weighted = slope * self.alpha_
            mean_grad = (X * weighted.sum(-1, keepdim=True) - weighted @ self.X_train_) * inverse_sq
            v = cross @ self.cholesky_inverse_.T
            raw_variance = scale - (v * v).sum(-1)
            w = v @ self.cholesky_inverse_  # K(x, X) K⁻¹
            weighted = slope * w
            variance_grad = (
                -2.0 * (X * weighted.sum(-1, keepdim=True) - weighted @ self.X_train_) * inverse_sq
            )
            clamped = raw_variance <= 1e-20
            variance = raw_variance.clamp_min(1e-20)
            std = torch.sqrt(variance)
            std_grad = torch.where(clamped[:, None], 0.0, variance_grad / (2.0 * std[:, None]))
        return mean, std, mean_grad, std_grad

    def log_marginal_likelihood(self) -> float:
        """The log marginal likelihood of the training data at the fitted hyperparameters."""
        y = self.y_train_
        log_det = -2.0 * torch.log(torch.diagonal(self.cholesky_inverse_)).sum()
        return float(
            -0.5 * (y @ self.alpha_) - 0.5 * log_det - 0.5 * len(y) * math.log(2 * math.pi)
        )
