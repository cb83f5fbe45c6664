"""The learned optimizer of Andrychowicz et al. (2016): a coordinatewise two-layer LSTM.

"Learning to learn by gradient descent by gradient descent" (NeurIPS 2016) replaces the
update rule ``θ_{t+1} = θ_t − α ∇f(θ_t)`` by ``θ_{t+1} = θ_t + g_t``, where
``[g_t, h_{t+1}] = m(∇_t, h_t, φ)`` is a recurrent network with parameters ``φ``. The
network is *coordinatewise* (Section 2.1): its weights are shared across the coordinates
of ``θ`` and each coordinate has its own hidden state, so one small LSTM optimises a
problem of any size and the update does not depend on the order of the coordinates.
The gradients are preprocessed as in the paper's Appendix A and the output is scaled by
a constant (0.1 in the paper).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["LSTMState", "LearnedOptimizer", "preprocess_gradients"]

_LAYERS = 2
_PREPROCESSING_P = 10.0


class LSTMState(NamedTuple):
    """The recurrent state of a :class:`LearnedOptimizer`, one row per coordinate.

    Attributes:
        hidden: The hidden states, shape ``(2, n_coordinates, hidden_size)`` (one per layer).
        cell: The cell states, same shape.
    """

    hidden: Tensor
    cell: Tensor


def preprocess_gradients(grad: Tensor, p: float = _PREPROCESSING_P) -> Tensor:
    """The gradient preprocessing of Andrychowicz et al. (2016), Appendix A.

    Each coordinate ``g`` becomes the pair ``(log|g| / p, sign(g))`` when
    ``|g| ≥ e^{−p}`` and ``(−1, e^p g)`` otherwise: the log carries the magnitude over
    many orders, the sign its direction, and tiny gradients stay distinguishable.

    Args:
        grad: Gradients, any shape.
        p: The parameter ``p > 0`` (10 in the paper).

    Returns:
        A tensor of shape ``(*grad.shape, 2)``.

    Example:
        >>> import math, torch
        >>> preprocess_gradients(torch.tensor([math.e, -1e-6], dtype=torch.float64)).tolist()
        [[0.1, 1.0], [-1.0, -0.0220264...]]
    """
    if not isinstance(grad, Tensor) or not grad.is_floating_point():
        raise InvalidParameterError(
            "The 'grad' parameter of preprocess_gradients must be a floating-point tensor. "
            f"Got {describe(grad)} instead."
        )
    p = check_finite_number(p, "p", "preprocess_gradients")
    if p <= 0:
        raise InvalidParameterError(
            f"The 'p' parameter of preprocess_gradients must be a positive number. Got {p!r} instead."
        )
    magnitude = grad.abs()
    large = magnitude >= math.exp(-p)
    # The clamp keeps log() finite on the branch torch.where discards, so no inf or nan
    # reaches a backward pass through either branch.
    log_part = torch.where(large, torch.log(magnitude.clamp_min(math.exp(-p))) / p, -1.0)
    sign_part = torch.where(large, torch.sign(grad), math.exp(p) * grad)
    return torch.stack([log_part, sign_part], dim=-1)


class LearnedOptimizer(nn.Module):
    """A coordinatewise two-layer LSTM that maps gradients to updates.

    Called as ``update, state = optimizer(grad, state)``: ``grad`` may have any shape,
    every coordinate is one row of the LSTM's batch, and ``update`` has the shape of
    ``grad``. Train it with :func:`train_learned_optimizer`, apply it to a function with
    :func:`learned_optimizer_run` or to a module's parameters with
    :class:`LearnedTorchOptimizer`. Its parameters live in the module, but every function
    here takes them as a dict and calls the module through
    :func:`torch.func.functional_call`, so the module itself is never changed.

    Args:
        hidden_size: Hidden units of each LSTM layer (20 in the paper).
        output_scale: The constant the LSTM's output is multiplied by (0.1 in the paper).

    Example:
        >>> import torch
        >>> optimizer = LearnedOptimizer()
        >>> grad = torch.randn(3, 4)
        >>> update, state = optimizer(grad, optimizer.initial_state(grad.numel()))
        >>> update.shape, state.hidden.shape
        (torch.Size([3, 4]), torch.Size([2, 12, 20]))
    """

    def __init__(self, hidden_size: int = 20, output_scale: float = 0.1) -> None:
        super().__init__()
        owner = "LearnedOptimizer"
        self.hidden_size = check_int(hidden_size, "hidden_size", owner, minimum=1)
        scale = check_finite_number(output_scale, "output_scale", owner)
        if scale <= 0:
            raise InvalidParameterError(
                f"The 'output_scale' parameter of {owner} must be a positive number. "
                f"Got {output_scale!r} instead."
            )
        self.output_scale = scale
        sizes = [2] + [self.hidden_size] * (_LAYERS - 1)
        self.cells = nn.ModuleList(nn.LSTMCell(size, self.hidden_size) for size in sizes)
        self.head = nn.Linear(self.hidden_size, 1)

    def initial_state(
        self,
        n_coordinates: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> LSTMState:
        """Zero hidden and cell states for ``n_coordinates`` coordinates.

        Args:
            n_coordinates: The number of coordinates (``grad.numel()``).
            dtype: Their dtype; the module's by default.
            device: Their device; the module's by default.
        """
        n = check_int(n_coordinates, "n_coordinates", "LearnedOptimizer.initial_state", minimum=0)
        weight = self.head.weight
        zeros = torch.zeros(
            _LAYERS,
            n,
            self.hidden_size,
            dtype=weight.dtype if dtype is None else dtype,
            device=weight.device if device is None else device,
        )
        return LSTMState(zeros, zeros.clone())

    def forward(self, grad: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One update: the scaled LSTM output for each coordinate of ``grad``."""
        _check_step_inputs(grad, state, self.hidden_size)
        weight = self.head.weight
        inputs = preprocess_gradients(grad.reshape(-1)).to(weight.dtype)
        hidden, cell = [], []
        for layer, lstm in enumerate(self.cells):
            h, c = lstm(inputs, (state.hidden[layer], state.cell[layer]))
            hidden.append(h)
            cell.append(c)
            inputs = h
        update = self.output_scale * self.head(inputs).squeeze(-1)
        return update.reshape(grad.shape).to(grad.dtype), LSTMState(
            torch.stack(hidden), torch.stack(cell)
        )


def _check_step_inputs(grad: Any, state: Any, hidden_size: int) -> None:
    if not isinstance(grad, Tensor) or not grad.is_floating_point():
        raise InvalidParameterError(
            "The 'grad' parameter of LearnedOptimizer must be a floating-point tensor. "
            f"Got {describe(grad)} instead."
        )
    expected = (_LAYERS, grad.numel(), hidden_size)
    if not isinstance(state, LSTMState) or any(
        not isinstance(part, Tensor) or tuple(part.shape) != expected for part in state
    ):
        given = (
            f"shapes {tuple(state.hidden.shape)} and {tuple(state.cell.shape)}"
            if isinstance(state, LSTMState) and all(isinstance(part, Tensor) for part in state)
            else describe(state)
        )
        raise InvalidParameterError(
            "The 'state' parameter of LearnedOptimizer must be an LSTMState of two tensors "
            f"of shape {expected} (layers, coordinates, hidden units); make one with "
            f"initial_state(grad.numel()). Got {given} instead."
        )
