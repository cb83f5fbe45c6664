"""Meta-learning as pure functions over parameter dicts (``torch.func``).

MAML (second- and first-order), Meta-SGD's learnable per-parameter inner learning
rates, Reptile, and MAML for reinforcement learning (a vectorised 2-D navigation
environment, a Gaussian MLP policy, policy-gradient losses); the learned LSTM optimizer of
"Learning to learn by gradient descent by gradient descent"; and the first-order methods
they and the acquisition optimizer build on: Frank–Wolfe, proximal gradient (ISTA,
FISTA) and the Barzilai–Borwein step.
The meta-learners take any ``nn.Module`` and any ``loss_fn(model, params, batch)``.
Nothing here holds state: parameters go in, parameters (or gradients) come out.

Example:
    >>> import torch
    >>> from metahpo.metalearn import Task, maml_loss, mse_loss
    >>> model = torch.nn.Sequential(torch.nn.Linear(1, 40), torch.nn.ReLU(), torch.nn.Linear(40, 1))
    >>> params = dict(model.named_parameters())
    >>> optimizer = torch.optim.Adam(params.values(), lr=1e-3)
    >>> x = torch.linspace(-5, 5, 20).unsqueeze(1)
    >>> tasks = [Task((x[::2], a * torch.sin(x[::2])), (x[1::2], a * torch.sin(x[1::2]))) for a in (1.0, 2.0)]
    >>> loss = maml_loss(model, params, tasks, mse_loss, inner_steps=1, inner_lr=0.01)
    >>> optimizer.zero_grad(); loss.backward(); optimizer.step()
"""

from metahpo.metalearn._adapt import adapt
from metahpo.metalearn._checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from metahpo.metalearn._frank_wolfe import FrankWolfeResult, frank_wolfe
from metahpo.metalearn._l2l import (
    LearnedOptimizerRun,
    LearnedOptimizerTraining,
    learned_optimizer_run,
    train_learned_optimizer,
)
from metahpo.metalearn._l2l_lstm import LearnedOptimizer, LSTMState, preprocess_gradients
from metahpo.metalearn._l2l_problems import OptimizeeBatch, quadratic_loss, random_quadratics
from metahpo.metalearn._l2l_torch import LearnedTorchOptimizer
from metahpo.metalearn._lmo import BoxLMO, L1BallLMO, NuclearNormBallLMO, SimplexLMO
from metahpo.metalearn._losses import cross_entropy_loss, mse_loss
from metahpo.metalearn._maml import MetaGradient, maml_loss, meta_gradient, task_losses
from metahpo.metalearn._maml_rl import fine_tune_returns, sample_maml_rl_tasks
from metahpo.metalearn._params import clone_params, inner_lr_like
from metahpo.metalearn._point_env import PointNavigation
from metahpo.metalearn._policy import GaussianMLPPolicy, gaussian_log_prob
from metahpo.metalearn._policy_gradient import (
    clipped_surrogate_loss,
    discounted_returns,
    linear_feature_baseline,
    policy_gradient_batch,
    reinforce_loss,
)
from metahpo.metalearn._prox_operators import (
    BoxIndicator,
    GroupLassoPenalty,
    L1Penalty,
    MCPPenalty,
    Penalty,
    ZeroPenalty,
)
from metahpo.metalearn._proximal import (
    ProximalGradientResult,
    gradient_mapping_norm,
    proximal_gradient,
)
from metahpo.metalearn._reptile import reptile_gradient, reptile_step
from metahpo.metalearn._rollout import Trajectories, rollout
from metahpo.metalearn._step_rules import barzilai_borwein_step, nonmonotone_accept
from metahpo.metalearn._types import Batch, InnerLR, LossFn, Params, Task, stack_tasks

__all__ = [
    "Batch",
    "BoxIndicator",
    "BoxLMO",
    "Checkpoint",
    "FrankWolfeResult",
    "GaussianMLPPolicy",
    "GroupLassoPenalty",
    "InnerLR",
    "L1BallLMO",
    "L1Penalty",
    "LSTMState",
    "LearnedOptimizer",
    "LearnedOptimizerRun",
    "LearnedOptimizerTraining",
    "LearnedTorchOptimizer",
    "LossFn",
    "MCPPenalty",
    "MetaGradient",
    "NuclearNormBallLMO",
    "OptimizeeBatch",
    "Params",
    "Penalty",
    "PointNavigation",
    "ProximalGradientResult",
    "SimplexLMO",
    "Task",
    "Trajectories",
    "ZeroPenalty",
    "adapt",
    "barzilai_borwein_step",
    "clipped_surrogate_loss",
    "clone_params",
    "cross_entropy_loss",
    "discounted_returns",
    "fine_tune_returns",
    "frank_wolfe",
    "gaussian_log_prob",
    "gradient_mapping_norm",
    "inner_lr_like",
    "learned_optimizer_run",
    "linear_feature_baseline",
    "load_checkpoint",
    "maml_loss",
    "meta_gradient",
    "mse_loss",
    "nonmonotone_accept",
    "policy_gradient_batch",
    "preprocess_gradients",
    "proximal_gradient",
    "quadratic_loss",
    "random_quadratics",
    "reinforce_loss",
    "reptile_gradient",
    "reptile_step",
    "rollout",
    "sample_maml_rl_tasks",
    "save_checkpoint",
    "stack_tasks",
    "task_losses",
    "train_learned_optimizer",
]
