"""The learned optimizer as a ``torch.optim.Optimizer``, for a module's parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import check_params
from metahpo.metalearn._l2l_lstm import LearnedOptimizer, LSTMState
from metahpo.metalearn._types import Params

__all__ = ["LearnedTorchOptimizer"]


class LearnedTorchOptimizer(torch.optim.Optimizer):
    """Step a model's parameters with a trained :class:`LearnedOptimizer`.

    The usual loop applies: ``zero_grad()``, ``loss.backward()``, ``step()``. Each
    parameter tensor keeps its own LSTM state (one row per scalar weight) in
    ``self.state``, so ``state_dict()`` holds plain tensors.

    Args:
        params: The parameters to optimise, e.g. ``model.parameters()``.
        optimizer: The LSTM.
        weights: Its parameters, e.g. ``train_learned_optimizer(...).params``; the
            module's own when ``None``.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import LearnedOptimizer
        >>> model = torch.nn.Linear(3, 1)
        >>> stepper = LearnedTorchOptimizer(model.parameters(), LearnedOptimizer())
        >>> loss = model(torch.ones(4, 3)).pow(2).mean()
        >>> loss.backward(); stepper.step()
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        optimizer: LearnedOptimizer,
        weights: Params | None = None,
    ) -> None:
        owner = "LearnedTorchOptimizer"
        if not isinstance(optimizer, LearnedOptimizer):
            raise InvalidParameterError(
                f"The 'optimizer' parameter of {owner} must be a LearnedOptimizer. "
                f"Got {describe(optimizer)} instead."
            )
        own = {name: value.detach() for name, value in optimizer.named_parameters()}
        if weights is None:
            weights = own
        weights = check_params(weights, owner)
        if set(weights) != set(own):
            raise InvalidParameterError(
                f"The 'weights' parameter of {owner} must hold exactly the optimizer's "
                f"parameters {sorted(own)}. Got {sorted(weights)} instead."
            )
        super().__init__(params, {})
        self._learned = optimizer
        self._weights = {name: value.detach() for name, value in weights.items()}

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Take one learned step on every parameter that has a gradient.

        Args:
            closure: Re-evaluates the model and returns the loss (optional).

        Returns:
            The closure's loss, or ``None``.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is None:
                    continue
                state = self.state[parameter]
                dtype = self._weights["head.weight"].dtype
                if not state:
                    initial = self._learned.initial_state(
                        parameter.numel(), dtype=dtype, device=parameter.device
                    )
                    state["hidden"], state["cell"] = initial.hidden, initial.cell
                # load_state_dict casts floating state to the parameter's dtype (float64 for
                # a double model); the LSTM runs in its own.
                hidden, cell = state["hidden"].to(dtype), state["cell"].to(dtype)
                update, new_state = functional_call(
                    self._learned, self._weights, (parameter.grad, LSTMState(hidden, cell))
                )
                parameter.add_(update)
                state["hidden"], state["cell"] = new_state.hidden, new_state.cell
        return loss
