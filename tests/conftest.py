"""Shared pytest fixtures. Each section belongs to one part of the package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# --- PostgreSQL ---------------------------------------------------------------------------
# `postgres_url` gives a test its own empty schema on a real server: the one named by
# METAHPO_TEST_POSTGRES_URL (CI), else a throw-away server started from the Debian
# binaries for this test session. Without a server the tests skip, or fail when
# METAHPO_REQUIRE_POSTGRES=1.


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    from metahpo.testing import PostgresUnavailable, postgres_server
    from metahpo.testing._postgres import REQUIRE_VAR, URL_VAR

    manager = postgres_server()
    try:
        url = manager.__enter__()
    except PostgresUnavailable as exc:
        reason = f"No PostgreSQL server: {URL_VAR} is not set and starting one failed: {exc}"
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(f"{reason} ({REQUIRE_VAR}=1 requires PostgreSQL tests to run)")
        pytest.skip(reason)
    try:
        _check_reachable(url)
        yield url
    finally:
        manager.__exit__(None, None, None)


def _check_reachable(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        pytest.fail(f"The PostgreSQL server at {engine.url!r} does not answer: {exc}")
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    from metahpo.testing import fresh_schema

    with fresh_schema(postgres_server_url) as url:
        yield url


# --- end PostgreSQL -----------------------------------------------------------------------


# --- Meta-training (presets, studies, the Optuna sampler) ---------------------------------
# A test that a study starts from a bundle's ready-trained meta-model needs to see whether
# it meta-trained, not wait tens of seconds for it.


class MetaTrained(Exception):
    """Raised instead of a meta-training (tens of seconds on a bundle)."""


@pytest.fixture
def no_meta_training(monkeypatch: pytest.MonkeyPatch, tmp_path) -> type[MetaTrained]:
    """A fresh METAHPO_HOME (no meta-model stored by another run) where meta-training raises
    :class:`MetaTrained`, the fixture's value."""
    from metahpo.surrogates.meta import _provider

    def no_training(*args: object, **kwargs: object) -> None:
        raise MetaTrained

    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))
    monkeypatch.setattr(_provider, "meta_train", no_training)
    return MetaTrained


# --- end meta-training --------------------------------------------------------------------


# --- Studies to draw (visualization and dashboard) ----------------------------------------
# A SQLite storage holding a finished Hyperband study, two more finished studies (so that
# the knowledge has tasks), a warm-started portfolio study, a study that is still running
# and has a FAILED trial whose error text is HTML, and a study whose name is a script tag.

SCRIPT_NAME = "<script>alert(1)</script>"


def _objective(trial):
    x, lr = trial.config["x"], trial.config["lr"]
    budget = trial.budget or 9.0
    return (x - 0.3) ** 2 + 0.1 * abs(lr - 0.01) + 1.0 / budget + 0.01 * trial.config["depth"]


@pytest.fixture(scope="session")
def drawn_storage(tmp_path_factory) -> str:
    import metahpo as mh
    from metahpo.storage import get_storage

    url = f"sqlite:///{tmp_path_factory.mktemp('drawn') / 'studies.db'}"
    space = mh.Space({
        "x": mh.Float(0.0, 1.0),
        "lr": mh.Float(1e-4, 1.0, log=True),
        "depth": mh.Int(1, 8),
        "kind": mh.Categorical(["a", "b"]),
    })
    hb = mh.create_study(name="finished-hb", space=space, storage=url, optimizer="random", seed=0,
                         scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    hb.optimize(_objective, n_trials=30, show_progress=False)
    hb.finish()
    for seed in (1, 2):
        other = mh.create_study(name=f"past-{seed}", space=space, storage=url, optimizer="random",
                                seed=seed)
        other.optimize(_objective, n_trials=12, show_progress=False)
    warm = mh.create_study(name="warm", space=space, storage=url, optimizer="portfolio", seed=3,
                           knowledge=url)
    warm.optimize(_objective, n_trials=7, show_progress=False)
    trial = warm.ask()  # A trial that names its similar tasks, as MetaBO's do.
    get_storage(url).set_trial_user_attrs(warm.study_id, trial.number, {"why": {
        "source": "surrogate", "similar_tasks": [["past-1", 0.7], ["finished-hb", 0.3]]}})
    warm.tell(trial, _objective(trial))

    def flaky(trial):
        if trial.number == 2:
            raise ValueError("<b>broken</b> & failed")
        return _objective(trial)

    running = mh.create_study(name="running", space=space, storage=url, optimizer="random", seed=4)
    running.optimize(flaky, n_trials=6, show_progress=False)
    running.ask()  # left RUNNING
    odd = mh.create_study(name=SCRIPT_NAME, space=space, storage=url, optimizer="random", seed=5)
    odd.optimize(_objective, n_trials=3, show_progress=False)
    return url
