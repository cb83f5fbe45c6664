"""Simulated parallel workers in the benchmark runner (``random+asha@4``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metahpo.exceptions import InvalidParameterError
from metahpo.schedulers import ASHA, Hyperband
from metahpo.storage import InMemoryStorage
from metahpo.study import create_study
from metahpo.trial import TrialState
from metahpo_bench import get_problem
from metahpo_bench.runner import Evaluator, Record, make_adapter
from metahpo_bench.runner._metahpo import MetahpoAdapter
from metahpo_bench.runner._parallel import run_simulated_workers


class _Spy:
    """A study wrapper that notes how many trials are RUNNING whenever one is asked or told."""

    def __init__(self, study: Any) -> None:
        self.study = study
        self.running_at_ask: list[int] = []
        self.told: list[int] = []

    def _running(self) -> int:
        return len(self.study.get_trials(states=[TrialState.RUNNING]))

    def ask(self) -> Any:
        self.running_at_ask.append(self._running())
        return self.study.ask()

    def tell(self, handle: Any, value: float) -> Any:
        self.told.append(handle.number)
        return self.study.tell(handle, value)


def _run(
    scheduler: Any, workers: int, seed: int = 0, n_full_evals: int = 10
) -> tuple[_Spy, Evaluator]:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    study = create_study(
        space=problem.space,
        storage=InMemoryStorage(),
        optimizer="random",
        scheduler=scheduler,
        seed=seed,
    )
    spy = _Spy(study)
    evaluator = Evaluator(problem, "0", "x", seed, n_full_evals)
    run_simulated_workers(spy, evaluator, workers)
    return spy, evaluator


def test_four_workers_keep_four_trials_pending() -> None:
    spy, evaluator = _run(ASHA(min_budget=1, max_budget=27, eta=3), workers=4)
    # The first four asks fill the workers; every later ask finds the three others running.
    assert spy.running_at_ask[:4] == [0, 1, 2, 3]
    steady = spy.running_at_ask[4:]
    assert steady and all(count == 3 for count in steady)
    # Every asked trial is told exactly once, and all end COMPLETE.
    trials = spy.study.get_trials()
    assert sorted(spy.told) == [t.number for t in trials]
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len(evaluator.records) == len(trials)


def test_every_budget_is_counted_once_in_completion_order() -> None:
    spy, evaluator = _run(ASHA(min_budget=1, max_budget=27, eta=3), workers=4)
    records = evaluator.records
    total = 0.0
    for index, record in enumerate(records):
        total += record.budget or 0.0
        assert record.trial == index and record.cum_budget == pytest.approx(total)
    # Started while less than the budget was committed: at most one evaluation overshoots.
    assert 10 * 27 <= records[-1].cum_budget < 10 * 27 + 27
    times = [r.sim_time for r in records]
    assert all(t is not None for t in times)
    assert times == sorted(times)  # type: ignore[type-var]
    # Four workers share the work: the simulated clock ends near a quarter of the budget.
    assert records[-1].cum_budget / 4 <= times[-1] < records[-1].cum_budget / 2  # type: ignore[operator]
    # The study's trials and the records agree on each trial's budget.
    by_number = {t.number: t.budget for t in spy.study.get_trials()}
    assert sorted(by_number[n] for n in spy.told) == sorted(r.budget for r in records)


def test_one_worker_is_the_serial_loop() -> None:
    spy, evaluator = _run(Hyperband(min_budget=1, max_budget=27, eta=3), workers=1)
    assert set(spy.running_at_ask) == {0}
    assert [r.sim_time for r in evaluator.records] == [r.cum_budget for r in evaluator.records]
    serial = make_adapter("random+hyperband").run(
        get_problem("mf_branin", min_budget=1, max_budget=27), "0", seed=0, n_full_evals=10
    )
    assert [(r.budget, r.loss) for r in serial] == [(r.budget, r.loss) for r in evaluator.records]


def test_hyperband_with_workers_starts_new_brackets_instead_of_waiting() -> None:
    spy, evaluator = _run(Hyperband(min_budget=1, max_budget=27, eta=3), workers=4)
    assert all(count == 3 for count in spy.running_at_ask[4:])
    assert len({t.bracket for t in spy.study.get_trials()}) > 1
    assert evaluator.records[-1].cum_budget >= 10 * 27 * (1 - 1e-9)


def test_runs_are_deterministic_per_seed() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)

    def run(seed: int) -> list[tuple[Any, ...]]:
        records = make_adapter("random+asha@4").run(problem, "0", seed=seed, n_full_evals=8)
        return [(r.trial, r.budget, r.loss, r.cum_budget, r.sim_time) for r in records]

    first = run(3)
    assert first == run(3)
    assert first != run(4)


def test_names_with_workers() -> None:
    adapter = make_adapter("random+asha@4")
    assert isinstance(adapter, MetahpoAdapter)
    assert (adapter.name, adapter.scheduler, adapter.workers) == ("random+asha@4", "asha", 4)
    assert make_adapter("gpbo@2").name == "gpbo@2"
    for bad in ("random+asha@1", "random+asha@x", "random+asha@", "random+asha@04", "optuna-tpe@4", "random+bohb@4"):
        with pytest.raises(InvalidParameterError, match="@N for N >= 2"):
            make_adapter(bad)
    for workers in (0, -2):
        with pytest.raises(InvalidParameterError, match="workers"):
            MetahpoAdapter("random", "asha", workers=workers)


def test_records_keep_sim_time_and_old_lines_still_read() -> None:
    records = make_adapter("random+asha@4").run(
        get_problem("mf_branin", min_budget=1, max_budget=27), "0", seed=0, n_full_evals=2
    )
    line = json.loads(records[0].to_json())
    assert line["sim_time"] == records[0].sim_time
    assert Record.from_dict(line) == records[0]
    serial = make_adapter("random").run(get_problem("branin"), "0", seed=0, n_full_evals=1)[0]
    old_line = json.loads(serial.to_json())
    assert "sim_time" not in old_line  # serial lines are written as before the field existed
    assert Record.from_dict(old_line).sim_time is None
