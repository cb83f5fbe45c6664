"""Synthetic task families for the knowledge tests: known optima, one shared design."""

from __future__ import annotations

import numpy as np

from metahpo.knowledge import Task
from metahpo.space import Float, Space
from metahpo.testing.synthetic import QuadraticFamily, ShiftedBranin

UNIT2 = Space({"x0": Float(0.0, 1.0), "x1": Float(0.0, 1.0)})


def family_tasks(
    family: ShiftedBranin | QuadraticFamily,
    names: list[str],
    n_configs: int = 128,
    seed: int = 0,
    prefix: str = "",
    descriptor: dict[str, float] | None = None,
) -> list[Task]:
    """Tasks of ``family`` evaluated on one scrambled Sobol design of its own space."""
    configs = family.space.sobol(n_configs, seed=seed)
    return [
        Task(
            name=f"{prefix}{name}",
            space=family.space,
            configs=configs,
            losses=family.evaluate_batch(name, configs),
            descriptor=descriptor,
            source="synthetic",
        )
        for name in names
    ]


def unit_family_tasks(
    family: ShiftedBranin | QuadraticFamily,
    names: list[str],
    prefix: str,
    n_configs: int = 64,
    descriptor_centre: tuple[float, float] | None = None,
) -> list[Task]:
    """Tasks of a 2-D ``family`` expressed on the common space :data:`UNIT2`.

    Each family's own box is rescaled to the unit square, so two families share one space
    and one design while their response surfaces differ.
    """
    configs = UNIT2.sobol(n_configs, seed=1)
    unit = UNIT2.to_unit(configs)
    own = family.space.from_unit(unit)
    rng = np.random.default_rng(len(prefix))
    tasks = []
    for name in names:
        descriptor = None
        if descriptor_centre is not None:
            noise = rng.normal(scale=0.05, size=2)
            descriptor = {
                "a": descriptor_centre[0] + float(noise[0]),
                "b": descriptor_centre[1] + float(noise[1]),
            }
        tasks.append(
            Task(
                name=f"{prefix}{name}",
                space=UNIT2,
                configs=configs,
                losses=family.evaluate_batch(name, own),
                descriptor=descriptor,
                source="synthetic",
            )
        )
    return tasks
