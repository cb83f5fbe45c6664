"""Meta-learning as pure functions over parameter dicts (``torch.func``).

MAML (second- and first-order), Meta-SGD's learnable per-parameter inner learning
rates, and Reptile, for any ``nn.Module`` and any ``loss_fn(model, params, batch)``.
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
from metahpo.metalearn._losses import cross_entropy_loss, mse_loss
from metahpo.metalearn._maml import MetaGradient, maml_loss, meta_gradient, task_losses
from metahpo.metalearn._params import clone_params, inner_lr_like
from metahpo.metalearn._reptile import reptile_gradient, reptile_step
from metahpo.metalearn._types import Batch, InnerLR, LossFn, Params, Task, stack_tasks

__all__ = [
    "Batch",
    "Checkpoint",
    "InnerLR",
    "LossFn",
    "MetaGradient",
    "Params",
    "Task",
    "adapt",
    "clone_params",
    "cross_entropy_loss",
    "inner_lr_like",
    "load_checkpoint",
    "maml_loss",
    "meta_gradient",
    "mse_loss",
    "reptile_gradient",
    "reptile_step",
    "save_checkpoint",
    "stack_tasks",
    "task_losses",
]
