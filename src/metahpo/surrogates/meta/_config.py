"""How the meta-learned surrogate is trained, and the task data it is trained on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["TASK_TRANSFORMS", "MetaTrainingConfig", "TaskData", "check_task_transform", "meta_steps_for"]

TASK_TRANSFORMS = ("rank", "standardize")

# Meta-training steps when the config leaves them to the knowledge: the held-out loss was
# best near 80 steps per task from 3 to 24 tasks (benchmarks/results/meta_steps/).
STEPS_PER_TASK = 80
MIN_META_STEPS = 250
MAX_META_STEPS = 2000


def meta_steps_for(config: MetaTrainingConfig, n_tasks: int) -> int:
    """The outer-loop steps of meta-training ``n_tasks`` tasks under ``config``: its
    ``meta_steps``, or when that is ``None`` 80 per task, between 250 and 2000."""
    if config.meta_steps is not None:
        return config.meta_steps
    return int(min(MAX_META_STEPS, max(MIN_META_STEPS, STEPS_PER_TASK * n_tasks)))


def check_task_transform(value: Any, owner: str) -> str:
    """``value`` if it names a task transform, else an error naming ``owner``'s parameter."""
    if value not in TASK_TRANSFORMS:
        raise InvalidParameterError(
            f"The 'task_transform' parameter of {owner} must be one of {list(TASK_TRANSFORMS)}. "
            f"Got {value!r} instead."
        )
    return str(value)


@dataclass(frozen=True)
class TaskData:
    """One task's evaluations as surrogate inputs: features ``X`` (n, d) and losses ``y`` (n,).

    Both must be finite: a NaN loss would make every meta-step that samples it non-finite.
    Leave failed evaluations out.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        try:
            X = np.asarray(self.X, dtype=float)
            y = np.asarray(self.y, dtype=float)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The 'X' and 'y' parameters of TaskData must be numeric arrays. Got {describe(self.X)} "
                f"and {describe(self.y)} instead."
            ) from None
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise InvalidParameterError(
                "The 'X' and 'y' parameters of TaskData must be an (n, d) array and n losses. "
                f"Got X of shape {X.shape} and y of shape {y.shape} instead."
            )
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise InvalidParameterError(
                f"The 'X' and 'y' parameters of TaskData must be finite (leave failed evaluations out). "
                f"Got {int((~np.isfinite(y)).sum())} non-finite losses and "
                f"{int((~np.isfinite(X)).any(axis=1).sum())} rows of X with non-finite values in task {self.name!r}."
            )
        object.__setattr__(self, "X", X)  # frozen; lists kept as arrays
        object.__setattr__(self, "y", y)


@dataclass(frozen=True)
class MetaTrainingConfig:
    """How the deep-kernel GP is meta-trained.

    Args:
        hidden, n_outputs: width of the feature extractor's hidden layers and its output.
        meta_steps: outer-loop Adam steps; ``None`` scales them with the knowledge
            (80 per task, between 250 and 2000). Few tasks are
            learned by heart long before 2000 steps: on three tasks of 20 evaluations a
            held-out task's predictive NLL after 2000 steps is far worse than after 250
            (``benchmarks/results/meta_steps/``).
        meta_batch: tasks per outer step.
        support_min, support_max: the support size is drawn in this range each step (a new
            study's surrogate must work from a handful of observations up to many).
        query: query points per task.
        inner_steps: MAML inner-loop steps (0: no inner loop).
        inner_lr: inner-loop step size (also used when adapting to a new study); with
            ``learned_step_sizes`` the value every learned step size starts from.
        meta_lr: Adam's learning rate.
        first_order: drop second derivatives in the meta-gradient.
        seed: seeds the initialisation and the sampling.
        task_transform: how each task's losses are warped before it is split:
            ``"rank"`` (the normal quantile of each loss's rank within its task) or
            ``"standardize"`` (no warp; the split's standardisation only). Loss
            distributions differ between tasks and many have long tails (diverged or
            degenerate configs); on ranks the kernel learns where configs are good
            rather than how bad the worst ones are.
        trend: give the network a linear head ``m(x)`` whose rank-one term ``m(x) m(x')``
            joins the kernel (see :class:`~metahpo.surrogates.DeepKernelNet`): the prior
            learns where configs are good on most tasks, so a few observations of a new
            one already point the search there.

        continual_steps: fine-tuning steps of the continual update when a study ends.
        learned_step_sizes: meta-learn one inner-loop step size per network weight
            beside θ (Meta-SGD, Li et al., 2017), starting from ``inner_lr``; a new
            study's adaptation then steps each weight by its own learned size, for at most
            ``inner_steps`` steps (what the sizes were learned for).

    How much each option adds is measured in ``docs/metabo.md``.
    """

    hidden: int = 32
    n_outputs: int = 8
    meta_steps: int | None = None
    meta_batch: int = 8
    support_min: int = 4
    support_max: int = 40
    query: int = 32
    inner_steps: int = 1
    inner_lr: float = 0.1
    meta_lr: float = 3e-3
    first_order: bool = True
    seed: int = 0
    task_transform: str = "rank"
    trend: bool = True
    continual_steps: int = 60
    learned_step_sizes: bool = False

    def __post_init__(self) -> None:
        if self.meta_steps is not None:
            try:
                steps = check_int(self.meta_steps, "meta_steps", "MetaTrainingConfig", minimum=0)
            except InvalidParameterError:
                raise InvalidParameterError(
                    "The 'meta_steps' parameter of MetaTrainingConfig must be an int >= 0, or None "
                    f"to scale the steps with the knowledge. Got {self.meta_steps!r} instead."
                ) from None
            object.__setattr__(self, "meta_steps", steps)  # frozen; a NumPy int kept as an int
        if not isinstance(self.trend, bool):
            raise InvalidParameterError(
                f"The 'trend' parameter of MetaTrainingConfig must be a bool. Got {self.trend!r} instead."
            )
        if not isinstance(self.learned_step_sizes, bool):
            raise InvalidParameterError(
                "The 'learned_step_sizes' parameter of MetaTrainingConfig must be a bool. "
                f"Got {self.learned_step_sizes!r} instead."
            )
        check_task_transform(self.task_transform, "MetaTrainingConfig")
        self._check_counts()
        self._check_rates()

    def _check_counts(self) -> None:
        owner = "MetaTrainingConfig"
        for name, minimum in (("hidden", 1), ("n_outputs", 1), ("meta_batch", 1), ("support_min", 1),
                              ("support_max", 1), ("query", 1), ("inner_steps", 0), ("continual_steps", 0),
                              ("seed", 0)):
            object.__setattr__(self, name, check_int(getattr(self, name), name, owner, minimum=minimum))
        if self.support_min > self.support_max:
            raise InvalidParameterError(
                f"The 'support_min' parameter of {owner} must be <= 'support_max'. "
                f"Got support_min={self.support_min}, support_max={self.support_max} instead."
            )

    def _check_rates(self) -> None:
        owner = "MetaTrainingConfig"
        if not isinstance(self.first_order, bool):  # "no" would be read as True
            raise InvalidParameterError(
                f"The 'first_order' parameter of {owner} must be a bool. Got {self.first_order!r} instead."
            )
        meta_lr = check_finite_number(self.meta_lr, "meta_lr", owner)
        if meta_lr <= 0:
            raise InvalidParameterError(
                f"The 'meta_lr' parameter of {owner} must be a finite number > 0. Got {self.meta_lr!r} instead."
            )
        inner_lr = check_finite_number(self.inner_lr, "inner_lr", owner)
        # Learned step sizes start from log(inner_lr); a fixed one of 0 only switches adaptation off.
        if inner_lr < 0 or (inner_lr == 0 and self.learned_step_sizes):
            expected = "> 0 with learned_step_sizes=True" if self.learned_step_sizes else ">= 0"
            raise InvalidParameterError(
                f"The 'inner_lr' parameter of {owner} must be a finite number {expected}. "
                f"Got {self.inner_lr!r} instead."
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetaTrainingConfig:
        """The configuration :meth:`to_dict` stored; without ``learned_step_sizes`` it is
        off (models and studies stored before the option existed), whatever the default."""
        return cls(**{"learned_step_sizes": False, **data})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # An option added after models were stored is left out at its default: the dict
        # keys the stored models, and theirs must still match.
        if not self.learned_step_sizes:
            del data["learned_step_sizes"]
        return data
