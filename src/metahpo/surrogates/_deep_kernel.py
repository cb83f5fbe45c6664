"""A deep-kernel GP whose parameters are an initialisation meant to be adapted per task.

The model is a small MLP feature extractor φ followed by a GP with a Matérn-5/2 ARD
kernel on φ(x) (Wilson et al., 2016, "Deep kernel learning"), optionally plus a rank-one
trend term ``m(x) m(x')`` from a linear head on φ (see :class:`DeepKernelNet`). Across tasks, its
parameters θ (network weights, log lengthscales, log output scale, log noise) are
meta-trained (see :mod:`metahpo.knowledge`); on a new task they are adapted in a few
gradient steps on the negative log marginal likelihood of the task's observations
(the MAML inner loop), then the GP posterior conditions on those observations.
Everything is written as pure functions of a parameter dict for ``torch.func``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates._fit_rows import fit_index
from metahpo.surrogates._kernels import matern52
from metahpo.surrogates._loo import mean_loo_nll
from metahpo.surrogates._transforms import OutputTransform

__all__ = [
    "DeepKernelGP",
    "DeepKernelNet",
    "covariance",
    "loo_nll",
    "marginal_nll",
    "predictive_nll",
    "prior_variance",
    "trend_weight",
]

_DTYPE = torch.float64
_MIN_NOISE = 1e-4
_LOG_2PI = math.log(2.0 * math.pi)


class DeepKernelNet(nn.Module):
    """φ: encoded config (and log budget) → ``n_outputs`` features, plus the GP's own parameters.

    With ``trend``, a linear head ``m(x) = w·φ(x) + b`` adds ``m(x) m(x')`` to the kernel: a
    Bayesian linear term on a meta-learned direction, which is how the GP learns "where
    configs are good on most tasks". A zero-mean GP predicts the mean of the observations
    far from them; with the trend it predicts the scaled m(x) there instead, the scale
    fitted to the task's observations by the posterior (as a basis function with a
    Gaussian prior on its weight; Rasmussen & Williams, 2006, section 2.7).
    """

    def __init__(self, n_features: int, hidden: int = 32, n_outputs: int = 8, trend: bool = False) -> None:
        super().__init__()
        self.n_features, self.hidden, self.n_outputs, self.trend = n_features, hidden, n_outputs, trend
        self.body = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, n_outputs),
        ).to(_DTYPE)
        # The kernel sees the raw inputs beside the learned features, so the model can
        # always fall back to a plain ARD GP where the features do not transfer.
        self.log_lengthscales = nn.Parameter(
            torch.cat([torch.full((n_features,), math.log(0.5)), torch.zeros(n_outputs)]).to(_DTYPE)
        )
        self.log_outputscale = nn.Parameter(torch.zeros((), dtype=_DTYPE))
        self.log_noise = nn.Parameter(torch.tensor(math.log(1e-2), dtype=_DTYPE))
        if trend:
            self.trend_head = nn.Linear(n_outputs, 1).to(_DTYPE)

    def forward(self, x: Tensor) -> Tensor:
        """The kernel's inputs ``[x, φ(x)]``, with ``m(x)`` as a last column under ``trend``."""
        learned = self.body(x)
        if self.trend:
            return torch.cat([x, learned, self.trend_head(learned)], dim=-1)
        return torch.cat([x, learned], dim=-1)

    def config(self) -> dict[str, int | bool]:
        return {"n_features": self.n_features, "hidden": self.hidden, "n_outputs": self.n_outputs,
                "trend": self.trend}


def covariance(model: nn.Module, a: Tensor, b: Tensor, lengthscales: Tensor, outputscale: Tensor) -> Tensor:
    """The kernel matrix between forward outputs ``a`` and ``b`` of ``model``."""
    if not getattr(model, "trend", False):
        return matern52(a, b, lengthscales, outputscale)
    return matern52(a[..., :-1], b[..., :-1], lengthscales, outputscale) + a[..., -1:] @ b[..., -1:].transpose(-1, -2)


def prior_variance(model: nn.Module, features: Tensor, outputscale: Tensor) -> Tensor:
    """``k(x, x)`` for each row of forward outputs ``features``."""
    if not getattr(model, "trend", False):
        return outputscale.expand(features.shape[:-1])
    return outputscale + features[..., -1] ** 2


def _prior_mean_features(model: nn.Module, features: Tensor, trend_prior: tuple[float, float]) -> tuple[Tensor, Tensor]:
    """The forward outputs as the posterior uses them under the trend weight's prior
    ``N(w0, s²)``: the trend column scaled by ``s`` (the kernel's rank-one term becomes
    ``s² m m'``), and the prior mean ``w0 m(x)`` of each row (zeros without a trend)."""
    if not getattr(model, "trend", False):
        return features, torch.zeros(features.shape[:-1], dtype=features.dtype)
    mean, std = trend_prior
    scaled = torch.cat([features[..., :-1], std * features[..., -1:]], dim=-1)
    return scaled, mean * features[..., -1]


def trend_weight(
    model: nn.Module, params: Mapping[str, Tensor], x: Tensor, y: Tensor
) -> tuple[float, float]:
    """Posterior mean and variance of the trend's weight ``w`` (prior ``N(0, 1)``) given ``(x, y)``.

    With ``K`` the kernel without the rank-one term, plus noise: mean
    ``mᵀ K⁻¹ y / (1 + mᵀ K⁻¹ m)``, variance ``1 / (1 + mᵀ K⁻¹ m)``. ``(nan, nan)`` when
    ``K`` is not positive definite.
    """
    features, lengthscales, outputscale, noise = _kernel_parts(model, params, x)
    trend, rest = features[..., -1], features[..., :-1]
    K = matern52(rest, rest, lengthscales, outputscale) + noise * torch.eye(len(y), dtype=x.dtype)
    L, info = torch.linalg.cholesky_ex(K)
    if int(info) != 0:
        return math.nan, math.nan
    solved = torch.cholesky_solve(torch.stack([trend, y], -1), L)
    precision = 1.0 + float(trend @ solved[:, 0])
    return float(trend @ solved[:, 1]) / precision, 1.0 / precision


def _kernel_parts(
    model: nn.Module, params: Mapping[str, Tensor], x: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    features = functional_call(model, dict(params), (x,))
    lengthscales = torch.exp(params["log_lengthscales"])
    outputscale = torch.exp(params["log_outputscale"])
    noise = torch.exp(params["log_noise"]) + _MIN_NOISE
    return features, lengthscales, outputscale, noise


def marginal_nll(
    model: nn.Module, params: Mapping[str, Tensor], batch: tuple[Tensor, ...]
) -> Tensor:
    """−log p(y | X, θ) / n: the inner-loop loss on a support set ``(X, y)``."""
    x, y = batch[0], batch[1]
    features, lengthscales, outputscale, noise = _kernel_parts(model, params, x)
    n = y.shape[-1]
    K = covariance(model, features, features, lengthscales, outputscale) + noise * torch.eye(
        n, dtype=x.dtype
    )
    L = torch.linalg.cholesky(K)
    alpha = torch.cholesky_solve(y.unsqueeze(-1), L).squeeze(-1)
    nll = 0.5 * (y * alpha).sum() + torch.log(torch.diagonal(L)).sum() + 0.5 * n * _LOG_2PI
    return nll / n


def predictive_nll(
    model: nn.Module,
    params: Mapping[str, Tensor],
    batch: tuple[Tensor, ...],
    trend_prior: tuple[float, float] = (0.0, 1.0),
) -> Tensor:
    """−mean log p(y_q | X_q, X_s, y_s, θ): the query loss of ``(X_s, y_s, X_q, y_q)``.

    Each query point is scored under its posterior predictive (latent variance plus
    noise) given the support set: how well the adapted model predicts unseen configs.
    ``trend_prior`` is the trend weight's prior, as in :class:`DeepKernelGP`; the default
    ``N(0, 1)`` is the one meta-training uses.
    """
    xs, ys, xq, yq = batch
    features, lengthscales, outputscale, noise = _kernel_parts(model, params, torch.cat([xs, xq]))
    features, prior_mean = _prior_mean_features(model, features, trend_prior)
    n = ys.shape[-1]
    fs, fq = features[:n], features[n:]
    K = covariance(model, fs, fs, lengthscales, outputscale) + noise * torch.eye(n, dtype=xs.dtype)
    L = torch.linalg.cholesky(K)
    cross = covariance(model, fq, fs, lengthscales, outputscale)
    residual = (ys - prior_mean[:n]).unsqueeze(-1)
    mean = prior_mean[n:] + cross @ torch.cholesky_solve(residual, L).squeeze(-1)
    v = torch.linalg.solve_triangular(L, cross.transpose(-1, -2), upper=False)
    variance = (prior_variance(model, fq, outputscale) - (v * v).sum(-2)).clamp_min(1e-9) + noise
    return 0.5 * (((yq - mean) ** 2) / variance + torch.log(variance) + _LOG_2PI).mean()


def loo_nll(
    model: nn.Module,
    params: Mapping[str, Tensor],
    batch: tuple[Tensor, ...],
    trend_prior: tuple[float, float] = (0.0, 1.0),
) -> Tensor:
    """Mean leave-one-out predictive NLL of ``(X, y)``, in closed form.

    With ``A = K⁻¹`` each point's held-out predictive mean is ``y_i − [A y]_i / A_ii`` and
    its variance ``1 / A_ii`` (Rasmussen & Williams, 2006, eq. 5.12): a validation score
    of the parameters that costs one inverse, not n refits. ``trend_prior`` is the trend
    weight's prior, as in :class:`DeepKernelGP` (``y`` is then scored about its prior mean).
    """
    x, y = batch[0], batch[1]
    features, lengthscales, outputscale, noise = _kernel_parts(model, params, x)
    features, mean = _prior_mean_features(model, features, trend_prior)
    y = y - mean
    n = y.shape[-1]
    K = covariance(model, features, features, lengthscales, outputscale) + noise * torch.eye(
        n, dtype=x.dtype
    )
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(K))
    return mean_loo_nll(torch.diagonal(inverse), inverse @ y)


class DeepKernelGP:
    """The :class:`~metahpo.surrogates.Surrogate` of a (meta-trained) deep-kernel GP.

    ``fit`` adapts the meta-parameters to the observations with ``adapt_steps`` steps of
    gradient descent on the marginal NLL (the MAML inner loop, ``adapt_steps=0`` keeps
    them as they are), then conditions the GP on the observations.

    Args:
        net: the network (its architecture; its own parameters are not used).
        meta_params: the meta-trained parameters θ.
        adapt_steps: inner-loop steps on the new task's observations.
        inner_lr: their step size: a float, or one tensor per parameter (learned, Meta-SGD).
        output_transform: how losses are scaled before modelling (fitted per task).
        validate: keep the number of steps (0 to ``adapt_steps``) whose parameters have
            the lowest leave-one-out NLL on the observations, instead of always all of them.
            With fewer than three observations there is too little to validate on, and
            all steps are kept.
        trend_prior: ``(w0, s)``, the prior of the trend's weight, ``N(w0, s²)``: the GP's
            prior mean is ``w0 m(x)`` and its rank-one term ``s² m(x) m(x')`` (see
            :mod:`metahpo.surrogates.meta._trend`). ``(0, 1)`` is the prior of meta-training.

    Attributes:
        params_: the parameters the posterior uses (θ after the kept steps).
        adapted_steps_: how many inner-loop steps ``params_`` took: ``adapt_steps``, fewer
            when ``validate`` kept an earlier step, 0 when there was nothing to adapt
            (``adapt_steps=0``, a single observation) or the adaptation diverged.
    """

    def __init__(
        self,
        net: DeepKernelNet,
        meta_params: Mapping[str, Tensor],
        adapt_steps: int = 5,
        inner_lr: float | dict[str, Tensor] = 0.01,
        output_transform: str = "standardize",
        validate: bool = False,
        trend_prior: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        owner = "DeepKernelGP"
        if not isinstance(net, nn.Module) or not isinstance(getattr(net, "n_features", None), int):
            raise InvalidParameterError(
                f"The 'net' parameter of {owner} must be a DeepKernelNet. Got {describe(net)} instead."
            )
        _check_meta_params(net, meta_params)
        if not isinstance(validate, bool):
            raise InvalidParameterError(
                f"The 'validate' parameter of {owner} must be True or False. Got {describe(validate)} instead."
            )
        self.net = net
        self.validate = validate
        self.trend_prior = (float(trend_prior[0]), float(trend_prior[1]))
        self.meta_params = meta_params
        self.adapt_steps = check_int(adapt_steps, "adapt_steps", owner, minimum=0)
        self.inner_lr = inner_lr
        self.output_transform = output_transform

    def fit(self, X: np.ndarray, y: np.ndarray) -> DeepKernelGP:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(X) != len(y) or len(y) == 0 or X.shape[1] != self.net.n_features:
            raise InvalidParameterError(
                f"DeepKernelGP.fit needs X of shape (n, {self.net.n_features}) and n > 0 losses. "
                f"Got X {X.shape} and {len(y)} losses instead."
            )
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise InvalidParameterError("The 'X' and 'y' parameters of DeepKernelGP.fit must be finite.")
        self.transform_ = OutputTransform(self.output_transform).fit(y)
        x_t = torch.as_tensor(X, dtype=_DTYPE)
        y_t = torch.as_tensor(self.transform_.transform(y), dtype=_DTYPE)
        start = {k: v.detach() for k, v in self.meta_params.items()}
        self.adapted_steps_, self.params_ = 0, start
        if self.adapt_steps > 0 and len(y) >= 2:
            # Adapted on at most MAX_FIT_ROWS of the observations, conditioned on all.
            pick = fit_index(y, seed=0)
            self.adapted_steps_, self.params_ = self._adapt(start, x_t[pick], y_t[pick])
        self._set_posterior(x_t, y_t)
        return self

    def _adapt(
        self, start: dict[str, Tensor], x: Tensor, y: Tensor
    ) -> tuple[int, dict[str, Tensor]]:
        """The inner loop on the observations; with ``validate``, the step count that predicts best.

        Each step lowers the marginal NLL of the points it is fitted on, which on a few
        points can mean overfitting them. With ``validate`` the parameters after 0, 1, ...,
        ``adapt_steps`` steps are scored by their leave-one-out NLL and the best are kept:
        the meta-trained initialisation stays unless the task's own data say otherwise.
        Returns the number of steps kept and the parameters after them.
        """
        from metahpo.metalearn import adapt

        candidates = [(0, start)]
        steps = 1 if self.validate else self.adapt_steps
        with torch.enable_grad():
            current = start
            for _ in range(self.adapt_steps if self.validate else 1):
                try:
                    current = adapt(self.net, current, marginal_nll, (x, y), steps=steps,
                                    inner_lr=self.inner_lr, first_order=True)
                except torch.linalg.LinAlgError:
                    break  # Diverged within the steps: its kernel matrix lost definiteness.
                current = {k: v.detach() for k, v in current.items()}
                if not all(torch.isfinite(v).all() for v in current.values()):
                    break  # A diverged adaptation must not poison the suggestion.
                candidates.append((candidates[-1][0] + steps, current))
        if not self.validate or len(y) < 3:
            return candidates[-1]
        with torch.no_grad():
            scores = [_safe_score(self.net, c, x, y, self.trend_prior) for _, c in candidates]
        return candidates[int(np.argmin(scores))]

    def condition(self, X: np.ndarray, y_model: np.ndarray) -> DeepKernelGP:
        """A copy with extra observations on the model scale (pending "constant liars")."""
        other = DeepKernelGP(
            self.net, self.meta_params, self.adapt_steps, self.inner_lr, self.output_transform,
            self.validate, self.trend_prior,
        )
        other.transform_, other.params_ = self.transform_, self.params_
        other.adapted_steps_ = self.adapted_steps_
        x_new = torch.as_tensor(np.atleast_2d(X), dtype=_DTYPE)
        y_new = torch.as_tensor(np.asarray(y_model, dtype=float).reshape(-1), dtype=_DTYPE)
        other._set_posterior(torch.cat([self.x_train_, x_new]), torch.cat([self.y_train_, y_new]))
        return other

    def transform_losses(self, y: np.ndarray) -> np.ndarray:
        return self.transform_.transform(y)

    def _bind(self) -> nn.Module:
        # Prediction runs many times per suggestion: a private copy of the network holding the
        # adapted parameters avoids functional_call's re-binding on every call.
        bound = copy.deepcopy(self.net)
        with torch.no_grad():
            for name, value in bound.named_parameters():
                value.copy_(self.params_[name])
                value.requires_grad_(False)
        return bound

    def _set_posterior(self, x: Tensor, y: Tensor) -> None:
        self.bound_ = self._bind()
        with torch.no_grad():
            features, lengthscales, outputscale, noise = _kernel_parts(self.net, self.params_, x)
            features, mean = _prior_mean_features(self.net, features, self.trend_prior)
            eye = torch.eye(len(y), dtype=_DTYPE)
            K = covariance(self.net, features, features, lengthscales, outputscale)
            jitter = float(noise)
            L, info = torch.linalg.cholesky_ex(K + jitter * eye)
            while int(info) != 0 and jitter < 1.0:
                jitter *= 10.0
                L, info = torch.linalg.cholesky_ex(K + jitter * eye)
            inverse = torch.linalg.solve_triangular(L, eye, upper=False)
        self.x_train_, self.y_train_ = x, y
        self.features_train_ = features
        self.lengthscales_, self.outputscale_ = lengthscales, outputscale
        self.cholesky_inverse_ = inverse
        # alpha = K⁻¹ (y - prior mean): also what the leave-one-out scores read.
        self.alpha_ = inverse.T @ (inverse @ (y - mean))

    def predict(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Posterior mean and std at ``(batch, d)`` rows, differentiable in ``X``."""
        # Shape and dtype only: prediction runs in the acquisition optimiser's loop.
        if getattr(self, "bound_", None) is None or X.shape[-1] != self.net.n_features or X.dtype != _DTYPE:
            raise InvalidParameterError(
                f"DeepKernelGP.predict needs a fitted model (call fit first) and {_DTYPE} rows of its "
                f"{self.net.n_features} input columns. Got "
                f"{'an unfitted model' if getattr(self, 'bound_', None) is None else _describe_rows(X)} instead."
            )
        features, prior = _prior_mean_features(self.net, self.bound_(X), self.trend_prior)
        cross = covariance(self.net, features, self.features_train_, self.lengthscales_, self.outputscale_)
        mean = prior + cross @ self.alpha_
        v = cross @ self.cholesky_inverse_.T
        variance = (prior_variance(self.net, features, self.outputscale_) - (v * v).sum(-1)).clamp_min(1e-20)
        return mean, torch.sqrt(variance)


def _describe_rows(X: object) -> str:
    if isinstance(X, Tensor):
        return f"{X.dtype} rows of shape {tuple(X.shape)}"
    return describe(X)


def _check_meta_params(net: nn.Module, meta_params: object) -> None:
    """Every parameter of ``net`` as a tensor of its shape: the posterior reads them by name."""
    expected = {name: tuple(value.shape) for name, value in net.named_parameters()}
    if not isinstance(meta_params, Mapping) or not all(isinstance(v, Tensor) for v in meta_params.values()):
        raise InvalidParameterError(
            "The 'meta_params' parameter of DeepKernelGP must be a dict of the network's parameters "
            f"(name to tensor). Got {describe(meta_params)} instead."
        )
    missing = sorted(set(expected) - set(meta_params))
    shared = expected.keys() & meta_params.keys()
    wrong = sorted(name for name in shared if tuple(meta_params[name].shape) != expected[name])
    if missing or wrong:
        raise InvalidParameterError(
            "The 'meta_params' parameter of DeepKernelGP must hold every parameter of the network in "
            f"its shape. Got {'none for ' + repr(missing[:5]) if missing else 'other shapes for ' + repr(wrong[:5])} "
            "instead."
        )


def _safe_score(
    model: nn.Module, params: Mapping[str, Tensor], x: Tensor, y: Tensor, trend_prior: tuple[float, float]
) -> float:
    try:
        value = float(loo_nll(model, params, (x, y), trend_prior))
    except torch.linalg.LinAlgError:
        return math.inf
    return value if math.isfinite(value) else math.inf
