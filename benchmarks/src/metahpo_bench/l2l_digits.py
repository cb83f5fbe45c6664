"""A small MLP on scikit-learn's digits as an optimizee for the learned optimizer.

The analogue, on installed data, of the MNIST experiment of Andrychowicz et al. (2016):
a 64-20-10 network with a sigmoid hidden layer, cross-entropy on minibatches of 128. The
parameters of one network are a flat vector, so a batch of networks is one tensor of shape
``(n, n_weights)`` that :func:`metahpo.metalearn.train_learned_optimizer` can step, and
:func:`train_mlp` trains the same network as an ``nn.Module`` with any ``torch.optim``
optimizer (the learned one through ``LearnedTorchOptimizer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from sklearn.datasets import load_digits
from torch import Tensor, nn
from torch.func import functional_call, vmap

from metahpo.metalearn import OptimizeeBatch

__all__ = ["digits", "mean_curve", "mean_final_loss", "mlp", "mlp_problems", "train_mlp"]

BATCH_SIZE = 128


def digits() -> tuple[Tensor, Tensor]:
    """The 1,797 digits, pixels scaled to [0, 1], and their labels."""
    data = load_digits()
    inputs = torch.tensor(data.data / 16.0, dtype=torch.float32)
    return inputs, torch.tensor(data.target, dtype=torch.long)


def mlp() -> nn.Module:
    """The 64-20-10 network with a sigmoid hidden layer (1,510 weights)."""
    return nn.Sequential(nn.Linear(64, 20), nn.Sigmoid(), nn.Linear(20, 10))


def _initial_weights(model: nn.Module, generator: torch.Generator) -> Tensor:
    """PyTorch's default ``nn.Linear`` initialisation, U(±1/√fan_in), drawn from ``generator``."""
    parts = []
    for module in model.modules():
        if isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.in_features)
            for tensor in (module.weight, module.bias):
                parts.append((2 * torch.rand(tensor.numel(), generator=generator) - 1) * bound)
    return torch.cat(parts)


def _unflatten(model: nn.Module, flat: Tensor) -> dict[str, Tensor]:
    params, offset = {}, 0
    for name, tensor in model.named_parameters():
        params[name] = flat[offset : offset + tensor.numel()].view(tensor.shape)
        offset += tensor.numel()
    return params


def mlp_problems(
    inputs: Tensor, targets: Tensor, n: int, generator: torch.Generator
) -> OptimizeeBatch:
    """``n`` fresh initialisations; each call of the loss draws a new minibatch per network.

    The losses of the batch are ``vmap``-ed over the networks' flat weight vectors, each
    called through ``functional_call``.
    """
    model = mlp()
    x0 = torch.stack([_initial_weights(model, generator) for _ in range(n)])
    minibatches = torch.Generator().manual_seed(int(torch.randint(2**31, (), generator=generator)))

    def one_loss(flat: Tensor, x: Tensor, y: Tensor) -> Tensor:
        logits = functional_call(model, _unflatten(model, flat), (x,))
        return nn.functional.cross_entropy(logits, y)

    batched = vmap(one_loss)

    def loss_fn(flat: Tensor) -> Tensor:
        index = torch.randint(len(inputs), (n, BATCH_SIZE), generator=minibatches)
        return batched(flat, inputs[index], targets[index])

    return OptimizeeBatch(x0=x0, loss_fn=loss_fn)


def _train(
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    inputs: Tensor,
    targets: Tensor,
    seed: int,
    steps: int,
    *,
    every_step: bool,
) -> Tensor:
    """The full-batch training losses after 0..steps steps, or after the last one only.

    The full-batch loss is measured without gradients and changes nothing else, so the
    training, and the last loss, are the same either way.
    """
    model = mlp()
    generator = torch.Generator().manual_seed(seed)
    flat = _initial_weights(model, generator)
    with torch.no_grad():
        for name, value in _unflatten(model, flat).items():
            model.get_parameter(name).copy_(value)
    optimizer = make_optimizer(model)
    curve = []
    for step in range(steps + 1):
        if every_step or step == steps:
            with torch.no_grad():
                curve.append(nn.functional.cross_entropy(model(inputs), targets))
        if step == steps:
            break
        index = torch.randint(len(inputs), (BATCH_SIZE,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs[index]), targets[index]).backward()
        optimizer.step()
    return torch.stack(curve)


def train_mlp(
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    inputs: Tensor,
    targets: Tensor,
    seed: int,
    steps: int,
) -> Tensor:
    """Full-batch training loss after 0..steps minibatch steps from initialisation ``seed``."""
    return _train(make_optimizer, inputs, targets, seed, steps, every_step=True)


def mean_curve(
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    inputs: Tensor,
    targets: Tensor,
    seeds: Sequence[int],
    steps: int,
) -> Tensor:
    """:func:`train_mlp`'s curve averaged over the initialisations ``seeds``."""
    curves = [train_mlp(make_optimizer, inputs, targets, seed, steps) for seed in seeds]
    return torch.stack(curves).mean(dim=0)


def mean_final_loss(
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    inputs: Tensor,
    targets: Tensor,
    seeds: Sequence[int],
    steps: int,
) -> float:
    """The last entry of :func:`mean_curve`, without measuring the full-batch loss at every
    step (for tuning a learning rate, where only the end counts)."""
    finals = [
        _train(make_optimizer, inputs, targets, seed, steps, every_step=False)
        for seed in seeds
    ]
    # Averaged over the same dimension as mean_curve's, so the number is the same bit for bit.
    return float(torch.stack(finals).mean(dim=0)[-1])
