"""The 2-D point navigation tasks of MAML's RL experiments, vectorised in torch."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from metahpo._validation import check_int
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import describe_tensor

__all__ = ["PointNavigation"]


def _check_positive(value: object, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of PointNavigation must be a positive finite float. "
            f"Got {describe_tensor(value)} instead."
        )
    return float(value)


@dataclass(frozen=True)
class PointNavigation:
    """A point in the plane that must move to a goal (Finn et al., 2017, section 5.3).

    The agent starts at the origin and observes its position; an action is a velocity,
    clipped to ``[-max_action, max_action]`` per coordinate; the reward of a step is
    minus the distance from the new position to the goal. A task is a goal, drawn
    uniformly from ``[-goal_bound, goal_bound]²``. Episodes last ``horizon`` steps (they
    do not end early at the goal). Every method works on any batch shape, so many
    tasks and trajectories step at once.

    Attributes:
        horizon: Steps per episode.
        max_action: The velocity bound per coordinate.
        goal_bound: Goals are uniform in ``[-goal_bound, goal_bound]²``.

    Example:
        >>> import torch
        >>> env = PointNavigation()
        >>> goals = torch.tensor([[0.3, 0.0]])
        >>> position, reward = env.step(env.reset((1,)), torch.tensor([[1.0, 0.0]]), goals)
        >>> position.tolist(), round(float(reward[0]), 3)
        ([[0.10000000149011612, 0.0]], -0.2)
    """

    horizon: int = 100
    max_action: float = 0.1
    goal_bound: float = 0.5

    observation_dim: ClassVar[int] = 2
    action_dim: ClassVar[int] = 2

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "horizon", check_int(self.horizon, "horizon", "PointNavigation", 1)
        )
        object.__setattr__(self, "max_action", _check_positive(self.max_action, "max_action"))
        object.__setattr__(self, "goal_bound", _check_positive(self.goal_bound, "goal_bound"))

    def sample_goals(self, n_goals: int, generator: torch.Generator | None = None) -> Tensor:
        """``n_goals`` goals drawn uniformly from the square, shape ``(n_goals, 2)``."""
        n_goals = check_int(n_goals, "n_goals", "PointNavigation.sample_goals", 1)
        unit = torch.rand(n_goals, 2, generator=generator)
        return (2.0 * unit - 1.0) * self.goal_bound

    def reset(self, batch_shape: tuple[int, ...]) -> Tensor:
        """Start positions (the origin) for a batch, shape ``(*batch_shape, 2)``."""
        return torch.zeros(*batch_shape, 2)

    def step(self, positions: Tensor, actions: Tensor, goals: Tensor) -> tuple[Tensor, Tensor]:
        """Move every point by its clipped action and score it.

        Args:
            positions: Current positions, shape ``(..., 2)``.
            actions: Velocities, shape ``(..., 2)``; clipped to the bound here.
            goals: Goals, broadcastable to ``positions``.

        Returns:
            The new positions and the rewards ``-‖position − goal‖``, shape ``(...)``.
        """
        for name, value in (("positions", positions), ("actions", actions), ("goals", goals)):
            if not isinstance(value, Tensor) or value.dim() < 1 or value.shape[-1] != 2:
                raise InvalidParameterError(
                    f"The {name!r} parameter of PointNavigation.step must be a tensor whose "
                    f"last dimension is 2. Got {describe_tensor(value)} instead."
                )
        moved = positions + actions.clamp(-self.max_action, self.max_action)
        return moved, -torch.linalg.vector_norm(moved - goals, dim=-1)
