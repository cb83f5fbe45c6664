"""First-order adaptation outside torch.func transforms: same numbers, no torch._dynamo import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.func import grad

from metahpo.metalearn import adapt, mse_loss


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()


def _without_last_bias(model, params, batch):  # type: ignore[no-untyped-def]
    """A loss that leaves the last layer's bias out: its gradient is zero."""
    x, y = batch
    hidden = torch.tanh(x @ params["0.weight"].T + params["0.bias"])
    return ((hidden @ params["2.weight"].T - y) ** 2).mean()


def _constant(model, params, batch):  # type: ignore[no-untyped-def]
    return torch.tensor(0.5, dtype=torch.float64)


def _support() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(6, 2, generator=generator, dtype=torch.float64)
    return x, torch.sin(x.sum(1, keepdim=True))


def _reference(model, params, support, steps, lr, loss_fn=mse_loss):  # type: ignore[no-untyped-def]
    """The same steps with torch.func.grad, gradients detached."""
    gradient = grad(lambda p: loss_fn(model, p, support))
    for _ in range(steps):
        grads = gradient(params)
        params = {
            k: v - (lr[k] if isinstance(lr, dict) else lr) * grads[k].detach()
            for k, v in params.items()
        }
    return params


def test_first_order_steps_equal_torch_func_with_scalar_and_per_parameter_rates() -> None:
    model, support = _model(), _support()
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    rates = {k: torch.full_like(v, 0.05 * (i + 1)) for i, (k, v) in enumerate(params.items())}
    for lr in (0.1, rates):
        got = adapt(model, params, mse_loss, support, steps=3, inner_lr=lr, first_order=True)
        want = _reference(model, params, support, 3, lr)
        for name in params:
            torch.testing.assert_close(got[name], want[name], rtol=1e-12, atol=1e-12)
        assert any(not torch.equal(got[k], params[k]) for k in params)


@pytest.mark.parametrize("inference", [False, True])
@pytest.mark.parametrize("loss_fn", [_without_last_bias, _constant], ids=["unused parameter", "constant"])
def test_parameters_the_loss_does_not_use_do_not_move(loss_fn, inference) -> None:  # type: ignore[no-untyped-def]
    model, support = _model(), _support()
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    context = torch.inference_mode() if inference else torch.enable_grad()
    with context:
        got = adapt(model, params, loss_fn, support, steps=2, inner_lr=0.1, first_order=True)
    want = _reference(model, params, support, 2, 0.1, loss_fn)
    for name in params:
        torch.testing.assert_close(got[name], want[name], rtol=1e-12, atol=1e-12)
    assert torch.equal(got["2.bias"], params["2.bias"])


def test_a_loss_that_is_not_a_scalar_is_refused() -> None:
    model, support = _model(), _support()
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    with pytest.raises(RuntimeError, match="scalar"):
        adapt(model, params, lambda m, p, b: mse_loss(m, p, b).reshape(1), support, first_order=True)


def test_first_order_keeps_the_outer_graph_through_params_and_rates() -> None:
    model, support = _model(), _support()
    params = {k: v.detach().clone().requires_grad_() for k, v in model.named_parameters()}
    rates = {k: torch.full_like(v, 0.1).requires_grad_() for k, v in params.items()}
    adapted = adapt(model, params, mse_loss, support, steps=2, inner_lr=rates, first_order=True)
    outer = mse_loss(model, adapted, support)
    outer.backward()
    # θ' = θ − α g with g constant: the outer gradient reaches θ and α.
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params.values())
    assert any(r.grad is not None and r.grad.abs().sum() > 0 for r in rates.values())


SCRIPT = """
import sys
from sklearn.datasets import load_wine
import metahpo as mh
task = mh.Task.from_data(*load_wine(return_X_y=True))
study = mh.create_study(preset="hgb-classifier", task=task, seed=0)
assert study.optimizer.name == "metabo", study.optimizer.name
for i in range(3):
    trial = study.ask()
    study.tell(trial, 0.3 + 0.05 * i)
study.tell(study.ask(), 0.2)
print(study.trials[-1].user_attrs["why"]["source"])
print("torch._dynamo" in sys.modules)
"""


def test_a_preset_studys_first_model_suggestion_does_not_import_torch_dynamo() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    source, imported = out.stdout.split()[-2:]
    assert source == "surrogate"
    assert imported == "False"
