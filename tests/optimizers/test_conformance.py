"""Every built-in optimizer passes the same conformance suite (metahpo.testing.optimizers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import metahpo as mh
from metahpo.optimizers import GPBO, MetaBO, Optimizer, Portfolio, RandomSearch, Sobol, Suggestion
from metahpo.testing.optimizers import (
    OPTIMIZER_CHECKS,
    check_avoids_pending_and_evaluated_configs,
    check_bad_n_is_refused,
    check_different_seed_different_configs,
    check_does_not_change_the_history,
    check_maximize_is_negated_minimize,
    check_optimizer,
    check_protocol,
    check_returns_n_configs,
    check_same_seed_same_configs,
    check_suggest_depends_only_on_history_and_state,
    check_suggest_explained,
    check_suggests_configs_of_the_space,
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


def make_metabo() -> Optimizer:
    """MetaBO with tiny meta-training and its own provider, as a new process builds it."""
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20))
    return MetaBO(KNOWLEDGE, meta_models=provider, continual_update=False)


FACTORIES: dict[str, Callable[[], Optimizer]] = {
    "random": RandomSearch,
    "sobol": Sobol,
    "gpbo": GPBO,
    "portfolio": lambda: Portfolio(KNOWLEDGE, size=3),
    "metabo": make_metabo,
}

# Known failures of a built-in optimizer: (optimizer, check name) -> reason.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


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
    check(FACTORIES[name])


def test_check_optimizer_runs_every_check() -> None:
    made: list[Optimizer] = []

    def make() -> Optimizer:
        made.append(RandomSearch())
        return made[-1]

    check_optimizer(make)
    assert len(made) >= len(OPTIMIZER_CHECKS)


# --- The suite catches broken optimizers ---------------------------------------------------


class _OutOfSpace(RandomSearch):
    """Broken: it steps past the upper bound of every float."""

    def suggest(self, history, n=1):
        configs = super().suggest(history, n)
        return [{k: v + 1.0 if isinstance(v, float) else v for k, v in c.items()} for c in configs]


class _IgnoresSeed(RandomSearch):
    """Broken: every study draws the same configs, whatever its seed."""

    def suggest(self, history, n=1):
        return history.space.sample(np.random.default_rng(len(history.trials)), n)


class _Unseeded(RandomSearch):
    """Broken: draws from an unseeded generator."""

    def suggest(self, history, n=1):
        return history.space.sample(np.random.default_rng(), n)


class _OneShort(RandomSearch):
    """Broken: a batch of n holds n - 1 configs."""

    def suggest(self, history, n=1):
        return super().suggest(history, n)[: max(1, n - 1)]


class _NoValidation(RandomSearch):
    """Broken: n=0 quietly returns nothing."""

    def suggest(self, history, n=1):
        return history.space.sample(history.rng(), n) if isinstance(n, int) and n >= 0 else []


class _ArrayState(RandomSearch):
    """Broken: its state is a numpy array."""

    def state_dict(self):
        return {"seen": np.zeros(3)}


class _HiddenCounter(RandomSearch):
    """Broken: suggestions depend on a call count kept outside state_dict()."""

    def __init__(self):
        self._calls = 0

    def suggest(self, history, n=1):
        self._calls += 1
        return history.space.sample(history.rng(self._calls), n)


class _Centroid(RandomSearch):
    """Broken: the centre of the finished configs, blind to the pending ones."""

    def suggest(self, history, n=1):
        done = [t.config for t in history.complete]
        if not done:
            return super().suggest(history, n)
        centre = history.space.to_unit(done).mean(axis=0)
        return history.space.from_unit(np.tile(centre, (n, 1))) if n == 1 else super().suggest(history, n)


class _BestAgain(RandomSearch):
    """Broken: proposes the best evaluated config again."""

    def suggest(self, history, n=1):
        best = history.best()
        return super().suggest(history, n) if best is None else [dict(best.config)] * n


class _RawValues(RandomSearch):
    """Broken: minimises the raw values even when the study maximises."""

    def suggest(self, history, n=1):
        done = history.complete
        if not done:
            return super().suggest(history, n)
        best = min(done, key=lambda t: t.value)
        unit = np.clip(history.space.to_unit([best.config]) + 0.01, 0, 1)
        return history.space.from_unit(np.repeat(unit, n, axis=0))


class _OpaqueWhy(RandomSearch):
    """Broken: the reason of a suggestion is not JSON."""

    def suggest_explained(self, history, n=1):
        return [Suggestion(c, {"source": object()}) for c in self.suggest(history, n)]


class _SharesConfigs(RandomSearch):
    """Broken: hands out (and lets callers change) a cached config object."""

    def __init__(self):
        self._cache = {}

    def suggest(self, history, n=1):
        key = (history.seed, len(history.trials), n)
        if key not in self._cache:
            self._cache[key] = super().suggest(history, n)
        return self._cache[key]


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        (_OutOfSpace, check_suggests_configs_of_the_space, "is not a config of the space"),
        (_IgnoresSeed, check_different_seed_different_configs, "seeds 5 and 6 gave the same"),
        (_Unseeded, check_same_seed_same_configs, "the same seed gave two trajectories"),
        (_OneShort, check_returns_n_configs, r"n=2\) returned 1 configs"),
        (_NoValidation, check_bad_n_is_refused, r"n=0\): expected InvalidParameterError"),
        (_ArrayState, check_protocol, r"state_dict\(\) must be JSON"),
        (_HiddenCounter, check_suggest_depends_only_on_history_and_state, "loaded with its state_dict"),
        (_Centroid, check_avoids_pending_and_evaluated_configs, "is the pending config"),
        (_BestAgain, check_avoids_pending_and_evaluated_configs, "repeats the evaluated config"),
        (_RawValues, check_maximize_is_negated_minimize, "maximising -v"),
        (_OpaqueWhy, check_suggest_explained, "'why' must be JSON"),
        (_SharesConfigs, check_does_not_change_the_history, "after the caller changed returned configs"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_the_suite_catches_a_broken_optimizer(broken, check, message) -> None:
    with pytest.raises(AssertionError, match=message):
        check(broken)
