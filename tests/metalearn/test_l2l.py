"""The learned LSTM optimizer (Andrychowicz et al., 2016): preprocessing, shapes, coordinatewise
updates, truncated BPTT with detached optimizee gradients, training, and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call, vmap

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import (
    LearnedOptimizer,
    LearnedOptimizerTraining,
    LearnedTorchOptimizer,
    LSTMState,
    OptimizeeBatch,
    learned_optimizer_run,
    preprocess_gradients,
    quadratic_loss,
    random_quadratics,
    train_learned_optimizer,
)
from metahpo.metalearn._l2l import _unroll, _value_and_detached_grad


def _params(optimizer: LearnedOptimizer) -> dict[str, torch.Tensor]:
    return {name: value.detach() for name, value in optimizer.named_parameters()}


def _warm_state(optimizer: LearnedOptimizer, n: int, generator: torch.Generator) -> LSTMState:
    """A non-zero state: a few steps on random gradients."""
    state = optimizer.initial_state(n)
    with torch.no_grad():
        for _ in range(3):
            _, state = optimizer(torch.randn(n, generator=generator), state)
    return state


def test_preprocessing_matches_the_papers_formula() -> None:
    p = 10.0
    values = [math.exp(5.0), 1.0, -0.5, math.exp(-p), 1e-6, -1e-5, 0.0]
    # (log|g|/p, sign g) when |g| >= e^-p, else (-1, e^p g): Appendix A.
    expected = [
        [0.5, 1.0],
        [0.0, 1.0],
        [math.log(0.5) / p, -1.0],
        [-1.0, 1.0],
        [-1.0, math.exp(p) * 1e-6],
        [-1.0, -math.exp(p) * 1e-5],
        [-1.0, 0.0],
    ]
    got = preprocess_gradients(torch.tensor(values, dtype=torch.float64), p)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))
    # Another p moves the threshold: 1e-3 is below e^-5 ≈ 6.7e-3.
    torch.testing.assert_close(
        preprocess_gradients(torch.tensor([1e-3], dtype=torch.float64), 5.0),
        torch.tensor([[-1.0, math.exp(5.0) * 1e-3]], dtype=torch.float64),
    )
    assert preprocess_gradients(torch.zeros(3, 4)).shape == (3, 4, 2)


def test_shapes_and_output_scale() -> None:
    torch.manual_seed(0)
    optimizer = LearnedOptimizer()
    assert sum(value.numel() for value in optimizer.parameters()) == (
        4 * 20 * (2 + 20 + 2) + 4 * 20 * (20 + 20 + 2) + 21
    )
    grad = torch.randn(3, 4)
    state = optimizer.initial_state(grad.numel())
    assert state.hidden.shape == state.cell.shape == (2, 12, 20)
    assert not state.hidden.any()
    update, new_state = optimizer(grad, state)
    assert update.shape == grad.shape and new_state.hidden.shape == (2, 12, 20)
    # A float64 gradient gets a float64 update from the float32 LSTM.
    update64, _ = optimizer(grad.double(), state)
    assert update64.dtype == torch.float64

    # The output is the head's output times output_scale.
    wider = LearnedOptimizer(output_scale=0.3)
    wider.load_state_dict(optimizer.state_dict())
    torch.testing.assert_close(wider(grad, state)[0], 3.0 * update)


def test_updates_are_coordinatewise() -> None:
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    optimizer = LearnedOptimizer()
    params = _params(optimizer)
    n = 9
    grad = torch.randn(n, generator=generator)
    state = _warm_state(optimizer, n, generator)
    permutation = torch.randperm(n, generator=generator)
    update, new_state = functional_call(optimizer, params, (grad, state))
    permuted_state = LSTMState(state.hidden[:, permutation], state.cell[:, permutation])
    permuted_update, permuted_new = functional_call(
        optimizer, params, (grad[permutation], permuted_state)
    )
    torch.testing.assert_close(permuted_update, update[permutation])
    torch.testing.assert_close(permuted_new.cell, new_state.cell[:, permutation])
    # Each coordinate's update depends on its own gradient only.
    changed = grad.clone()
    changed[0] = 5.0
    other, _ = functional_call(optimizer, params, (changed, state))
    torch.testing.assert_close(other[1:], update[1:])
    assert not torch.isclose(other[0], update[0])


def test_run_on_a_batch_equals_each_problem_alone() -> None:
    torch.manual_seed(2)
    optimizer = LearnedOptimizer()
    params = _params(optimizer)
    generator = torch.Generator().manual_seed(2)
    matrices, targets = (
        torch.randn(3, 10, 10, generator=generator),
        torch.randn(3, 10, generator=generator),
    )
    x0 = torch.randn(3, 10, generator=generator)

    def batch_loss(x: torch.Tensor) -> torch.Tensor:
        return vmap(quadratic_loss)(x, matrices, targets)

    run = learned_optimizer_run(optimizer, params, batch_loss, x0, 15)
    assert run.losses.shape == (16, 3) and run.x.shape == (3, 10)
    torch.testing.assert_close(run.losses[0], batch_loss(x0))
    torch.testing.assert_close(run.losses[-1], batch_loss(run.x))
    for i in range(3):
        alone = learned_optimizer_run(
            optimizer, params, lambda x, i=i: quadratic_loss(x, matrices[i], targets[i]), x0[i], 15
        )
        assert alone.losses.shape == (16,)
        torch.testing.assert_close(alone.losses, run.losses[:, i], rtol=1e-5, atol=1e-5)


def test_meta_gradient_treats_the_optimizee_gradients_as_inputs() -> None:
    """Truncated BPTT differentiates f(θ_t) through the updates but not through ∇f(θ_t)."""
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    optimizer = LearnedOptimizer().double()
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in optimizer.named_parameters()}
    matrix = torch.randn(4, 4, generator=generator, dtype=torch.float64)
    target = torch.randn(4, generator=generator, dtype=torch.float64)
    x0 = torch.randn(4, generator=generator, dtype=torch.float64)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return quadratic_loss(x, matrix, target)

    def analytic_grad(x: torch.Tensor) -> torch.Tensor:
        return 2 * matrix.T @ (matrix @ x - target)

    steps = 4
    _, grad = _value_and_detached_grad(loss, x0)
    state = optimizer.initial_state(4, dtype=torch.float64)
    _, _, _, losses = _unroll(optimizer, leaves, loss, x0, grad, state, steps)
    got = torch.autograd.grad(torch.stack(losses).sum(), list(leaves.values()))

    def reference(detach: bool) -> tuple[torch.Tensor, ...]:
        x, state, total = x0, optimizer.initial_state(4, dtype=torch.float64), 0.0
        for _ in range(steps):
            g = analytic_grad(x)
            update, state = functional_call(optimizer, leaves, (g.detach() if detach else g, state))
            x = x + update
            total = total + loss(x)
        return torch.autograd.grad(total, list(leaves.values()))

    for mine, ref in zip(got, reference(detach=True), strict=True):
        torch.testing.assert_close(mine, ref)
    # The full second-order meta-gradient is different, so the test can tell them apart.
    assert any(
        not torch.allclose(mine, full)
        for mine, full in zip(got, reference(detach=False), strict=True)
    )


def _held_out_meta_loss(optimizer: LearnedOptimizer, params: dict[str, torch.Tensor]) -> float:
    held_out = random_quadratics(256, generator=torch.Generator().manual_seed(99))
    run = learned_optimizer_run(optimizer, params, held_out.loss_fn, held_out.x0, 20)
    return float(run.losses[1:].mean())


def _train(
    optimizer: LearnedOptimizer, params: dict[str, torch.Tensor], iterations: int, seed: int
) -> LearnedOptimizerTraining:
    return train_learned_optimizer(
        optimizer,
        params,
        lambda generator: random_quadratics(32, generator=generator),
        meta_iterations=iterations,
        horizon=20,
        unroll=10,
        lr=3e-3,
        seed=seed,
    )


def test_short_training_lowers_the_held_out_meta_loss() -> None:
    torch.manual_seed(4)
    optimizer = LearnedOptimizer()
    initial = _params(optimizer)
    result = _train(optimizer, initial, 30, seed=0)
    assert result.meta_losses.shape == (30,)
    before = _held_out_meta_loss(optimizer, initial)
    after = _held_out_meta_loss(optimizer, result.params)
    assert after < 0.5 * before, (before, after)
    # The given parameters are untouched.
    torch.testing.assert_close(initial, _params(optimizer))


def test_training_is_deterministic_given_the_seed() -> None:
    torch.manual_seed(4)
    optimizer = LearnedOptimizer()
    initial = _params(optimizer)
    first, again, other = (_train(optimizer, initial, 2, seed) for seed in (0, 0, 1))
    for name in initial:
        assert torch.equal(first.params[name], again.params[name])
    assert not torch.equal(first.params["head.weight"], other.params["head.weight"])


def test_torch_optimizer_follows_the_functional_run() -> None:
    torch.manual_seed(5)
    optimizer = LearnedOptimizer()
    params = _params(optimizer)
    target = torch.randn(2, 3)

    def loss(x: torch.Tensor) -> torch.Tensor:
        return (x - target).pow(2).sum()

    start = torch.randn(2, 3)
    run = learned_optimizer_run(optimizer, params, loss, start, 5)
    weight = torch.nn.Parameter(start.clone())
    stepper = LearnedTorchOptimizer([weight], optimizer, params)
    for _ in range(5):
        stepper.zero_grad()
        loss(weight).backward()
        stepper.step()
    torch.testing.assert_close(weight.detach(), run.x)
    state = stepper.state_dict()["state"][0]
    assert state["hidden"].shape == (2, 6, 20) and isinstance(state["cell"], torch.Tensor)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_optimizer_resumes_from_its_state_dict_on_the_same_trajectory(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    optimizer = LearnedOptimizer()  # float32, whatever the model's dtype
    x, y = torch.randn(16, 3, dtype=dtype), torch.randn(16, 1, dtype=dtype)

    def step(model: torch.nn.Module, stepper: LearnedTorchOptimizer) -> None:
        stepper.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        stepper.step()

    model = torch.nn.Linear(3, 1).to(dtype)
    stepper = LearnedTorchOptimizer(model.parameters(), optimizer)
    step(model, stepper)
    resumed = torch.nn.Linear(3, 1).to(dtype)
    resumed.load_state_dict(model.state_dict())
    resumed_stepper = LearnedTorchOptimizer(resumed.parameters(), optimizer)
    resumed_stepper.load_state_dict(stepper.state_dict())
    for _ in range(2):
        step(model, stepper)
        step(resumed, resumed_stepper)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=0)
    assert resumed_stepper.state[resumed.weight]["hidden"].dtype == torch.float32


def test_divergence_is_reported() -> None:
    optimizer = LearnedOptimizer()

    def sample(generator: torch.Generator) -> OptimizeeBatch:
        return OptimizeeBatch(torch.ones(2, 3), lambda x: (x * math.inf).sum(dim=1))

    with pytest.raises(FloatingPointError, match="diverged"):
        train_learned_optimizer(optimizer, _params(optimizer), sample, meta_iterations=1, horizon=2)


def test_bad_input_is_refused() -> None:
    optimizer = LearnedOptimizer()
    params = _params(optimizer)
    quadratics = random_quadratics(2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InvalidParameterError, match="'hidden_size' parameter of LearnedOptimizer"):
        LearnedOptimizer(hidden_size=0)
    with pytest.raises(InvalidParameterError, match=r"'output_scale' parameter .* positive"):
        LearnedOptimizer(output_scale=-0.1)
    with pytest.raises(InvalidParameterError, match="'p' parameter of preprocess_gradients"):
        preprocess_gradients(torch.ones(2), p=0.0)
    with pytest.raises(InvalidParameterError, match="'grad' parameter of preprocess_gradients"):
        preprocess_gradients(torch.ones(2, dtype=torch.long))
    with pytest.raises(
        InvalidParameterError, match=r"'state' parameter .*\(2, 5, 20\).*\(2, 4, 20\)"
    ):
        optimizer(torch.ones(5), optimizer.initial_state(4))
    with pytest.raises(InvalidParameterError, match="'loss_fn' parameter of learned_optimizer_run"):
        learned_optimizer_run(optimizer, params, "loss", torch.ones(3), 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'x0' parameter of learned_optimizer_run"):
        learned_optimizer_run(
            optimizer, params, quadratics.loss_fn, torch.ones(3, dtype=torch.long), 2
        )
    with pytest.raises(InvalidParameterError, match="'steps' parameter of learned_optimizer_run"):
        learned_optimizer_run(optimizer, params, quadratics.loss_fn, quadratics.x0, -1)
    with pytest.raises(InvalidParameterError, match="exactly the optimizer's parameters"):
        learned_optimizer_run(
            optimizer, {"head.weight": params["head.weight"]}, quadratics.loss_fn, quadratics.x0, 2
        )
    with pytest.raises(
        InvalidParameterError, match="'optimizer' parameter of train_learned_optimizer"
    ):
        train_learned_optimizer(
            torch.nn.Linear(1, 1), params, lambda g: quadratics, meta_iterations=1
        )  # type: ignore[arg-type]
    for name, value in (
        ("meta_iterations", 0),
        ("horizon", 0),
        ("unroll", 0),
        ("lr", 0.0),
        ("seed", -1),
    ):
        options = {"meta_iterations": 1, name: value}
        with pytest.raises(
            InvalidParameterError, match=f"'{name}' parameter of train_learned_optimizer"
        ):
            train_learned_optimizer(optimizer, params, lambda g: quadratics, **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="must return an OptimizeeBatch"):
        train_learned_optimizer(optimizer, params, lambda g: quadratics.x0, meta_iterations=1)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidParameterError, match="'x0' field of OptimizeeBatch"):
        OptimizeeBatch(torch.tensor(1.0), quadratics.loss_fn)
    with pytest.raises(InvalidParameterError, match="'n_problems' parameter of random_quadratics"):
        random_quadratics(0)
    with pytest.raises(InvalidParameterError, match="'weights' parameter of LearnedTorchOptimizer"):
        LearnedTorchOptimizer([torch.nn.Parameter(torch.ones(2))], optimizer, {"x": torch.ones(1)})
