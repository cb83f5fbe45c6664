"""Random sequences of storage calls do the same on SQL as on the reference in-memory storage.

A hypothesis state machine sends every call to both storages and requires the same
result or the same exception type, and after every step the same stored content (ids
and timestamps aside: each backend assigns its own).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from metahpo.exceptions import MetahpoError
from metahpo.storage import InMemoryStorage, SQLStorage, Storage
from metahpo.trial import FrozenTrial, TrialState

NAMES = st.sampled_from(["a", "a", "b", "missing"])  # Mostly studies that exist.
NUMBERS = st.integers(min_value=0, max_value=4)
SMALL_JSON = st.dictionaries(st.sampled_from(["x", "y", "z"]),
                             st.one_of(st.integers(-3, 3), st.floats(-1, 1), st.text(max_size=3),
                                       st.none(), st.lists(st.booleans(), max_size=2)),
                             max_size=3)
VALUES = st.one_of(st.none(), st.floats(-10, 10), st.integers(-5, 5))
FINAL_STATES = st.sampled_from([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED,
                                TrialState.RUNNING])
MISSING_ID = 10**6


def _trial_view(trial: FrozenTrial) -> tuple[Any, ...]:
    return (trial.number, trial.state, dict(trial.config), trial.budget, trial.value,
            dict(trial.intermediate), trial.error, dict(trial.user_attrs), trial.parent,
            trial.bracket, trial.rung, trial.finished_at is None)


def _view(result: Any) -> Any:
    if isinstance(result, FrozenTrial):
        return _trial_view(result)
    if isinstance(result, list):
        return [_view(item) for item in result]
    return result


class SameAsReference(RuleBasedStateMachine):
    make_storage: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.reference: Storage = InMemoryStorage()
        self.subject: Storage = type(self).make_storage()
        for storage in (self.reference, self.subject):  # Start where most calls can succeed.
            for name in ("a", "b"):
                study = storage.create_study(name, space={}, direction="minimize", seed=0,
                                             optimizer={}, scheduler={})
                storage.create_trial(study.study_id, config={"x": 1})
        # By storage (0: the reference, 1: the subject), what each study fingerprint stood for.
        self.fingerprinted: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

    def teardown(self) -> None:
        for name in ("a", "b", "c", "missing"):
            with contextlib.suppress(MetahpoError):
                self.subject.delete_study(name)
        self.subject.close()

    def _study_id(self, storage: Storage, name: str) -> int:
        try:
            return storage.get_study(name).study_id
        except MetahpoError:
            return MISSING_ID

    def _both(self, call: Any) -> None:
        """Call on both storages; same result, or the same exception type."""
        outcomes = []
        for storage in (self.reference, self.subject):
            try:
                outcomes.append(("ok", _view(call(storage, lambda name, s=storage: self._study_id(s, name)))))
            except MetahpoError as exc:
                outcomes.append(("error", type(exc)))
        assert outcomes[0] == outcomes[1], f"reference {outcomes[0]} != SQL {outcomes[1]}"

    @rule(name=st.sampled_from(["a", "c"]), attrs=SMALL_JSON, seed=st.integers(0, 2**40))
    def create_study(self, name: str, attrs: dict[str, Any], seed: int) -> None:
        self._both(lambda s, sid: (lambda r: (r.name, dict(r.user_attrs), r.seed, dict(r.space)))(
            s.create_study(name, space={"x": 1, "a": 2}, direction="minimize", seed=seed,
                           optimizer={}, scheduler={}, user_attrs=attrs)))

    @rule(name=NAMES, attrs=SMALL_JSON)
    def delete_and_recreate_study(self, name: str, attrs: dict[str, Any]) -> None:
        self._both(lambda s, sid: s.delete_study(name))
        self.create_study(name, attrs, 1)

    @rule(name=NAMES, attrs=SMALL_JSON)
    def set_study_user_attrs(self, name: str, attrs: dict[str, Any]) -> None:
        self._both(lambda s, sid: s.set_study_user_attrs(sid(name), attrs))

    @rule(name=NAMES, config=st.one_of(st.none(), SMALL_JSON), budget=VALUES,
          parent=st.one_of(st.none(), NUMBERS), rung=st.one_of(st.none(), st.integers(0, 3)),
          attrs=st.one_of(st.none(), SMALL_JSON))
    def create_trial(
        self, name: str, config: Any, budget: Any, parent: Any, rung: Any, attrs: Any
    ) -> None:
        self._both(lambda s, sid: s.create_trial(sid(name), config=config, budget=budget,
                                                 parent=parent, rung=rung, bracket=rung,
                                                 user_attrs=attrs))

    @rule(name=NAMES, config=SMALL_JSON, budget=VALUES)
    def enqueue_config(self, name: str, config: dict[str, Any], budget: Any) -> None:
        self._both(lambda s, sid: s.enqueue_config(sid(name), config, budget))

    @rule(name=NAMES, entry=NUMBERS, budget=VALUES, attrs=st.one_of(st.none(), SMALL_JSON))
    def take_enqueued(self, name: str, entry: int, budget: Any, attrs: Any) -> None:
        self._both(lambda s, sid: s.create_trial(sid(name), enqueued=entry, budget=budget,
                                                 user_attrs=attrs))

    @rule(name=NAMES, number=NUMBERS, config=SMALL_JSON)
    def set_trial_config(self, name: str, number: int, config: dict[str, Any]) -> None:
        self._both(lambda s, sid: s.set_trial_config(sid(name), number, config))

    @rule(name=NAMES, number=NUMBERS, state=FINAL_STATES, value=VALUES,
          error=st.one_of(st.none(), st.text(max_size=5)))
    def finish_trial(self, name: str, number: int, state: TrialState, value: Any, error: Any) -> None:
        self._both(lambda s, sid: s.finish_trial(sid(name), number, state, value, error))

    @rule(name=NAMES, number=NUMBERS, step=st.integers(0, 3), value=st.floats(-5, 5))
    def report(self, name: str, number: int, step: int, value: float) -> None:
        self._both(lambda s, sid: s.report(sid(name), number, step, value))

    @rule(name=NAMES, number=NUMBERS, attrs=SMALL_JSON)
    def set_trial_user_attrs(self, name: str, number: int, attrs: dict[str, Any]) -> None:
        self._both(lambda s, sid: s.set_trial_user_attrs(sid(name), number, attrs))

    @rule(name=NAMES, number=NUMBERS)
    def heartbeat_and_get(self, name: str, number: int) -> None:
        self._both(lambda s, sid: s.heartbeat(sid(name), number))
        self._both(lambda s, sid: s.get_trial(sid(name), number))

    @rule(name=NAMES, states=st.one_of(st.none(), st.sets(st.sampled_from(list(TrialState)))),
          min_number=st.integers(-1, 4))
    def get_trials(self, name: str, states: Any, min_number: int) -> None:
        self._both(lambda s, sid: s.get_trials(sid(name), states))
        self._both(lambda s, sid: s.get_trials(sid(name), states, min_number))
        self._both(lambda s, sid: s.fail_stale_trials(sid(name)))

    @invariant()
    def same_content(self) -> None:
        def content(storage: Storage) -> list[Any]:
            return [(study.name, study.direction, study.seed, dict(study.user_attrs),
                     _view(storage.get_trials(study.study_id)))
                    for study in storage.list_studies()]

        assert content(self.reference) == content(self.subject)

    @invariant()
    def a_study_fingerprint_stands_for_one_content(self) -> None:
        """A study's fingerprint, whenever it is seen again, stands for what it stood for: its
        study, ``user_attrs`` and trials (of each trial's reports, how many and the latest,
        as the protocol lets a replaced earlier step go unnoticed)."""
        for storage, fingerprinted in zip((self.reference, self.subject), self.fingerprinted, strict=True):
            for study in storage.list_studies():
                trials = [(*view[:5], len(t.intermediate), max(t.intermediate.items(), default=None), *view[6:])
                          for t in storage.get_trials(study.study_id) for view in [_trial_view(t)]]
                shown = (study.study_id, dict(study.user_attrs), trials)
                stood_for = fingerprinted.setdefault(storage.study_fingerprint(study.study_id), shown)  # type: ignore[attr-defined]
                assert stood_for == shown, f"study {study.name!r} changed, its fingerprint did not"


def _run(make_storage: Any, max_examples: int) -> None:
    machine = type("Machine", (SameAsReference,), {"make_storage": staticmethod(make_storage)})
    # No shrinking: against a database it takes minutes; the failing steps are printed as found.
    machine.TestCase.settings = settings(max_examples=max_examples, stateful_step_count=25,
                                         deadline=None,
                                         phases=[Phase.explicit, Phase.reuse, Phase.generate])
    machine.TestCase().runTest()


def test_sqlite_does_what_the_reference_does() -> None:
    _run(lambda: SQLStorage("sqlite://"), max_examples=40)


@pytest.mark.postgres
def test_postgres_does_what_the_reference_does(postgres_url: str) -> None:
    _run(lambda: SQLStorage(postgres_url), max_examples=10)
