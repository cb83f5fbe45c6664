"""Checkpoints round-trip through safetensors and a weights-only state dict."""

from __future__ import annotations

import pickle

import pytest
import torch

from metahpo.metalearn import clone_params, inner_lr_like, load_checkpoint, save_checkpoint


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_round_trip(tmp_path, suffix):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    params = clone_params(model)
    rates = inner_lr_like(params, 0.01, per_element=False)
    path = save_checkpoint(
        tmp_path / f"meta{suffix}", params, inner_lr=rates, metadata={"method": "maml"}
    )
    loaded = load_checkpoint(path)
    assert sorted(loaded.params) == sorted(params)
    for name in params:
        assert torch.equal(loaded.params[name], params[name].detach())
        assert torch.equal(loaded.inner_lr[name], rates[name].detach())
    assert loaded.metadata == {"method": "maml"}
    model.load_state_dict(loaded.params)  # the names are the module's own


def test_without_inner_lr(tmp_path):
    params = clone_params(torch.nn.Linear(2, 1))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "x.safetensors", params))
    assert loaded.inner_lr is None and loaded.metadata == {}


def test_pickled_objects_are_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("executed",))

    path = tmp_path / "evil.pt"
    torch.save({"tensors": {}, "metadata": {}, "x": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)


def test_errors_name_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="'path' parameter of load_checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="'metadata' parameter of save_checkpoint"):
        save_checkpoint(
            tmp_path / "x.safetensors", clone_params(torch.nn.Linear(1, 1)), metadata={"a": 1}
        )


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_a_step_size_shared_by_every_parameter_and_tied_weights_round_trip(tmp_path, suffix):
    params = clone_params(torch.nn.Linear(2, 2))
    params["tied"] = params["weight"]
    alpha = torch.tensor(0.01, requires_grad=True)
    path = save_checkpoint(tmp_path / f"shared{suffix}", params, inner_lr={name: alpha for name in params})
    loaded = load_checkpoint(path)
    assert all(torch.equal(value, torch.tensor(0.01)) for value in loaded.inner_lr.values())
    assert torch.equal(loaded.params["tied"], params["weight"].detach())


@pytest.mark.parametrize("inner_lr", [0.01, {"weight": 0.01, "bias": 0.01}, [torch.tensor(0.01)]])
def test_step_sizes_that_are_no_dict_of_tensors_are_refused(tmp_path, inner_lr):
    params = clone_params(torch.nn.Linear(2, 1))
    with pytest.raises(ValueError, match="'inner_lr' parameter of save_checkpoint must be None or a dict"):
        save_checkpoint(tmp_path / "x.safetensors", params, inner_lr=inner_lr)
