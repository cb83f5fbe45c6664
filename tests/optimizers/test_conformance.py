"""Every built-in optimizer passes the same conformance suite (metahpo.testing.optimizers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import metahpo as mh
from metahpo.optimizers import GPBO, MetaBO, Optimizer, Portfolio, RandomSearch, Sobol
from metahpo.testing.optimizers import (
    OPTIMIZER_CHECKS,
    check_optimizer,
    conformance_loss,
    conformance_space,
)


def knowledge() -> mh.KnowledgeBase:
    """Four related tasks of 30 configs each on the suite's space (optima shifted)."""
    kb = mh.KnowledgeBase()
    space = conformance_space()
    for index in range(4):
        configs = space.sobol(30, seed=index)
        kb.add_task(space, configs, [conformance_loss(c, shift=0.2 * index) for c in configs],
                    name=f"related-{index}")
    return kb


KNOWLEDGE = knowledge()
CONTEXT = {"knowledge": KNOWLEDGE}


def make_metabo() -> Optimizer:
    """MetaBO with tiny meta-training, as a new process builds it (no meta-model cached)."""
    from metahpo.optimizers._metabo import _MODELS

    _MODELS.clear()
    return MetaBO(KNOWLEDGE, meta_steps=20, continual_steps=0)


FACTORIES: dict[str, Callable[[], Optimizer]] = {
    "random": RandomSearch,
    "sobol": Sobol,
    "gpbo": GPBO,
    "portfolio": lambda: Portfolio(KNOWLEDGE, size=3),
    "metabo": make_metabo,
}

# Known failures of a built-in optimizer: (optimizer, check name) -> reason.
KNOWN_FAILURES: dict[tuple[str, str], str] = {
    ("metabo", "check_other_spaces"): (
        "MetaBO with fewer than 3 related tasks falls back to GPBO.suggest, whose model stage "
        "calls MetaBO._fit_surrogate, which reads self._model, never set on that path: "
        "AttributeError once the Sobol design (d + 1 configs) is used up"
    ),
    ("metabo", "check_suggest_depends_only_on_history_and_state"): (
        "the process-wide meta-model cache (_MODELS) is keyed without the seed, but meta-training "
        "is seeded with the first study's seed: a study's suggestions depend on which study "
        "trained the cached meta-model first in this process"
    ),
}


def _cases() -> Iterator[Any]:
    for name in FACTORIES:
        for check in OPTIMIZER_CHECKS:
            reason = KNOWN_FAILURES.get((name, check.__name__))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(name, check, marks=marks, id=f"{name}-{check.__name__}")


@pytest.fixture(autouse=True)
def _meta_models_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))


@pytest.mark.parametrize(("name", "check"), list(_cases()))
def test_optimizer_conformance(name: str, check: Callable[..., None]) -> None:
    check(FACTORIES[name], CONTEXT)


def test_check_optimizer_runs_every_check() -> None:
    made: list[Optimizer] = []

    def make() -> Optimizer:
        made.append(RandomSearch())
        return made[-1]

    check_optimizer(make)
    assert len(made) >= len(OPTIMIZER_CHECKS)
