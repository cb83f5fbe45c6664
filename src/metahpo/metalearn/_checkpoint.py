"""Meta-parameter checkpoints: safetensors, or a tensor state dict read with ``weights_only``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import check_params
from metahpo.metalearn._types import Params

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]

_PARAMS = "params."
_INNER_LR = "inner_lr."
_SAFETENSORS_SUFFIX = ".safetensors"


@dataclass(frozen=True)
class Checkpoint:
    """Meta-parameters read back by :func:`load_checkpoint`.

    Attributes:
        params: The meta-parameters θ.
        inner_lr: Per-parameter inner learning rates (Meta-SGD), or ``None``.
        metadata: Free-form string metadata (algorithm, steps, ...).
    """

    params: Params
    inner_lr: Params | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def _flat(params: Params, inner_lr: Mapping[str, Tensor] | None) -> dict[str, Tensor]:
    # Copies: safetensors refuses tensors that share memory, as tied weights or one Meta-SGD
    # step size shared by every parameter do.
    def copy(value: Tensor) -> Tensor:
        return value.detach().cpu().contiguous().clone()

    tensors = {_PARAMS + name: copy(value) for name, value in params.items()}
    if inner_lr is not None:
        tensors.update({_INNER_LR + name: copy(value) for name, value in inner_lr.items()})
    return tensors


def _check_inner_lr(inner_lr: object) -> Mapping[str, Tensor] | None:
    """``None`` or a mapping of names to tensors, the Meta-SGD step sizes."""
    if inner_lr is None:
        return None
    if not isinstance(inner_lr, Mapping) or not all(
        isinstance(name, str) and isinstance(value, Tensor) for name, value in inner_lr.items()
    ):
        raise InvalidParameterError(
            "The 'inner_lr' parameter of save_checkpoint must be None or a dict of names to tensors "
            f"(per-parameter step sizes). Got {describe(inner_lr)} instead."
        )
    return inner_lr


def _unflat(tensors: Mapping[str, Tensor], metadata: dict[str, str]) -> Checkpoint:
    params = {k[len(_PARAMS) :]: v for k, v in tensors.items() if k.startswith(_PARAMS)}
    rates = {k[len(_INNER_LR) :]: v for k, v in tensors.items() if k.startswith(_INNER_LR)}
    return Checkpoint(params=params, inner_lr=rates or None, metadata=metadata)


def save_checkpoint(
    path: str | os.PathLike[str],
    params: Params,
    *,
    inner_lr: Mapping[str, Tensor] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write meta-parameters to ``path``: safetensors when it ends in ``.safetensors``,
    otherwise a ``torch.save`` state dict of tensors and strings (no pickled objects).

    Args:
        path: Destination file.
        params: The meta-parameters.
        inner_lr: Optional per-parameter inner learning rates (Meta-SGD).
        metadata: Optional string key/values stored beside the tensors.

    Returns:
        The path written.

    Example:
        >>> import tempfile, torch
        >>> from metahpo.metalearn import load_checkpoint, save_checkpoint
        >>> params = dict(torch.nn.Linear(2, 1).named_parameters())
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = save_checkpoint(f"{tmp}/maml.safetensors", params, metadata={"algo": "maml"})
        ...     loaded = load_checkpoint(path)
        >>> torch.equal(loaded.params["weight"], params["weight"].detach()), loaded.metadata["algo"]
        (True, 'maml')
    """
    params = check_params(params, "save_checkpoint")
    meta = {} if metadata is None else dict(metadata)
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidParameterError(
                "The 'metadata' parameter of save_checkpoint must map strings to strings. "
                f"Got {describe(key)}: {describe(value)} instead."
            )
    target = Path(path)
    tensors = _flat(params, _check_inner_lr(inner_lr))
    if target.suffix == _SAFETENSORS_SUFFIX:
        from safetensors.torch import save_file

        save_file(tensors, str(target), metadata=meta)
    else:
        torch.save({"tensors": tensors, "metadata": meta}, target)
    return target


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    ``.safetensors`` files are read with safetensors; any other file with
    ``torch.load(weights_only=True)``, which refuses pickled code.

    Args:
        path: The file to read.

    Returns:
        A :class:`Checkpoint`.
    """
    source = Path(path)
    if not source.is_file():
        raise InvalidParameterError(
            f"The 'path' parameter of load_checkpoint must name an existing file. Got {str(source)!r} instead."
        )
    if source.suffix == _SAFETENSORS_SUFFIX:
        from safetensors import safe_open

        with safe_open(str(source), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
            metadata = dict(handle.metadata() or {})
        return _unflat(tensors, metadata)
    state = torch.load(source, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "tensors" not in state:
        raise InvalidParameterError(
            "The 'path' parameter of load_checkpoint must name a file written by save_checkpoint "
            f"(a dict with 'tensors' and 'metadata'). Got {type(state).__name__} in {str(source)!r}."
        )
    return _unflat(state["tensors"], dict(state.get("metadata", {})))
