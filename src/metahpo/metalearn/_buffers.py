"""A module's buffers (batch norm's running statistics) as copies the loss may update.

``loss_fn`` calls the module through :func:`torch.func.functional_call` with the
parameter dict it is given; the module's buffers would be its own tensors, and a forward
pass that updates them in place (batch norm in training mode) would change the module and,
under ``torch.func.grad``, fail: a transform may not mutate a tensor it captured
(pytorch/pytorch#85533). Each call gets fresh copies instead, made inside the transform.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._types import Batch, LossFn, Params

__all__ = ["loop_over_training_buffers", "with_buffer_copies"]


def with_buffer_copies(model: nn.Module, loss_fn: LossFn) -> LossFn:
    """``loss_fn`` with copies of ``model``'s buffers beside the parameters it is given.

    The updates a forward pass makes land in the copies and are dropped: the module's
    buffers keep their values. A module without buffers gets ``loss_fn`` itself.
    """
    buffers = dict(model.named_buffers())
    if not buffers:
        return loss_fn

    def loss(module: nn.Module, params: Params, batch: Batch) -> Tensor:
        copies = {name: value.clone() for name, value in buffers.items() if name not in params}
        return loss_fn(module, {**params, **copies}, batch)

    return loss


def _training_buffers(model: nn.Module) -> list[str]:
    """Buffers of submodules in training mode: those a forward pass may update."""
    return [
        f"{prefix}.{name}" if prefix else name
        for prefix, module in model.named_modules()
        if module.training
        for name, _ in module.named_buffers(recurse=False)
    ]


def _misbatched_layers(model: nn.Module) -> list[str]:
    """Layers whose second derivatives ``vmap`` gets wrong (pytorch/functorch#534): batch
    norm in training mode, and layer norm with its affine weights. Measured against plain
    autograd, both are off by 1e-5 to 1e-2 in float64; group norm and RMS norm are exact."""
    return [
        prefix or type(module).__name__
        for prefix, module in model.named_modules()
        if (isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training)
        or (isinstance(module, nn.LayerNorm) and module.elementwise_affine)
    ]


def loop_over_training_buffers(model: nn.Module, vectorize: Any, owner: str) -> bool | None:
    """``vectorize``, or ``False`` when ``model`` cannot run its tasks under ``vmap``.

    ``vmap`` cannot batch an in-place update of an unbatched buffer (batch norm's running
    statistics), and its batching rules for batch norm's and layer norm's backward give
    wrong second derivatives (pytorch/functorch#534), so such modules loop over the tasks;
    ``vectorize=True`` is refused for them.
    """
    if vectorize is False:
        return False
    names = _training_buffers(model)
    layers = _misbatched_layers(model)
    if not names and not layers:
        return vectorize
    if vectorize is True:
        what = (f"buffers in training mode ({names[:3]}), which its forward pass may update (batch norm) "
                "and vmap cannot batch" if names else
                f"layers whose second derivatives vmap computes wrongly ({layers[:3]}, pytorch/functorch#534)")
        raise InvalidParameterError(
            f"The 'vectorize' parameter of {owner} is True but the model has {what}. "
            "Pass vectorize=None or False to loop over the tasks."
        )
    return False
