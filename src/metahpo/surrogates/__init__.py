"""Surrogate models, acquisition functions and the proximal-gradient acquisition optimiser.

A :class:`Surrogate` maps encoded inputs (config features and a log-budget column, see
:class:`SpaceEncoding`) to a posterior mean and standard deviation, differentiably.
:class:`ExactGP` is the cold-start model and :class:`DeepKernelGP` the meta-learned one
(a :class:`DeepKernelNet` whose parameters MetaBO meta-trains); acquisitions (:class:`LogExpectedImprovement`,
:class:`LowerConfidenceBound`, either weighted by a prior as :class:`PriorWeighted`) are losses over config features at a target budget, and
:class:`AcquisitionOptimizer` minimises them with batched :class:`ProximalGradient`
descent from many starts, then rounds integers and categoricals and searches their
neighbourhood.
"""

from metahpo.surrogates._acquisition import (
    LogExpectedImprovement,
    LowerConfidenceBound,
    PriorWeighted,
    log_expected_improvement,
    lower_confidence_bound,
)
from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet
from metahpo.surrogates._encoding import SpaceEncoding
from metahpo.surrogates._gp import NOISE_PRIORS, ExactGP, GPHyperparameters
from metahpo.surrogates._kernels import matern52
from metahpo.surrogates._loo import loo_nll_of_losses
from metahpo.surrogates._multistart import AcquisitionOptimizer, Candidates, TrustRegion
from metahpo.surrogates._protocol import Surrogate
from metahpo.surrogates._proximal import ProximalGradient, ProximalResult, proximal_box
from metahpo.surrogates._threads import torch_threads
from metahpo.surrogates._transforms import AUTO_CANDIDATES, OUTPUT_TRANSFORMS, OutputTransform

__all__ = [
    "AUTO_CANDIDATES",
    "NOISE_PRIORS",
    "OUTPUT_TRANSFORMS",
    "AcquisitionOptimizer",
    "Candidates",
    "DeepKernelGP",
    "DeepKernelNet",
    "ExactGP",
    "GPHyperparameters",
    "LogExpectedImprovement",
    "LowerConfidenceBound",
    "OutputTransform",
    "PriorWeighted",
    "ProximalGradient",
    "ProximalResult",
    "SpaceEncoding",
    "Surrogate",
    "TrustRegion",
    "log_expected_improvement",
    "loo_nll_of_losses",
    "lower_confidence_bound",
    "matern52",
    "proximal_box",
    "torch_threads",
]
