"""The meta-learned surrogate's record: its parameters θ, how they were trained, and bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from metahpo.surrogates.meta._config import MetaTrainingConfig

__all__ = ["MetaModel"]

# safetensors keys of the learned step sizes; network parameter names never start so.
_STEP_PREFIX = "step_size."


@dataclass
class MetaModel:
    """Meta-trained parameters θ of a deep-kernel GP and how they were made.

    ``step_sizes`` holds the inner loop's per-weight step sizes when they were
    meta-learned (``config.learned_step_sizes``), else ``None`` (``config.inner_lr``).
    """

    n_features: int
    config: MetaTrainingConfig
    params: dict[str, Any]  # name -> torch.Tensor
    info: dict[str, Any] = field(default_factory=dict)
    step_sizes: dict[str, Any] | None = None  # name -> torch.Tensor of the param's shape

    @property
    def inner_lr(self) -> Any:
        """The inner loop's step size: the learned one per weight, else ``config.inner_lr``."""
        return self.config.inner_lr if self.step_sizes is None else self.step_sizes

    def net(self) -> Any:
        from metahpo.surrogates._deep_kernel import DeepKernelNet

        return DeepKernelNet(self.n_features, self.config.hidden, self.config.n_outputs, self.config.trend)

    def surrogate(
        self,
        adapt_steps: int | None = None,
        output_transform: str = "standardize",
        validate: bool = False,
    ) -> Any:
        """A fresh :class:`~metahpo.surrogates.DeepKernelGP` starting from θ.

        Learned step sizes (Meta-SGD) are learned for the inner loop's ``inner_steps``
        steps, so a study adapts with at most that many: further steps of the same sizes
        overshoot (held-out tasks' predictive NLL after 3 steps is worse than after none,
        ``benchmarks/results/meta_sgd_steps/``).
        """
        from metahpo.surrogates._deep_kernel import DeepKernelGP

        steps = max(self.config.inner_steps, 3) if adapt_steps is None else adapt_steps
        if self.step_sizes is not None:
            steps = min(steps, self.config.inner_steps)
        return DeepKernelGP(
            self.net(), self.params, steps, self.inner_lr, output_transform, validate,
            trend_prior=tuple(self.info.get("trend_prior", (0.0, 1.0))),
        )

    def to_bytes(self) -> bytes:
        """safetensors bytes; the configuration and info travel in its JSON metadata."""
        from safetensors.torch import save

        metadata = {
            "n_features": str(self.n_features),
            "config": json.dumps(self.config.to_dict()),
            "info": json.dumps(self.info),
        }
        tensors = {k: v.detach().contiguous() for k, v in self.params.items()}
        for k, v in (self.step_sizes or {}).items():
            tensors[_STEP_PREFIX + k] = v.detach().contiguous()
        return save(tensors, metadata=metadata)

    @classmethod
    def from_bytes(cls, data: bytes) -> MetaModel:
        from safetensors.torch import load

        tensors = load(data)
        params = {k: v for k, v in tensors.items() if not k.startswith(_STEP_PREFIX)}
        steps = {k[len(_STEP_PREFIX):]: v for k, v in tensors.items() if k.startswith(_STEP_PREFIX)}
        # safetensors.torch.load returns the tensors only; the metadata is in the JSON header.
        header_size = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8 : 8 + header_size]).get("__metadata__", {})
        config = json.loads(meta["config"])
        # Models saved before these options existed: unwarped losses, no trend head.
        config.setdefault("task_transform", "standardize")
        config.setdefault("trend", False)
        config.pop("validation", None)  # A training option that has since been removed.
        config.setdefault("continual_steps", 60)
        return cls(
            int(meta["n_features"]),
            MetaTrainingConfig.from_dict(config),
            params,
            json.loads(meta.get("info", "{}")),
            steps or None,
        )

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()[:16]
