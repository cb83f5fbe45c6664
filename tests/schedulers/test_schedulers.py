from __future__ import annotations

import logging
import math
from collections import Counter

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.trial import FrozenTrial, TrialState

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})


def objective(trial):
    # Loss falls with budget, so higher rungs look better, like real learning curves.
    return (trial.config["x"] - 0.3) ** 2 + trial.config["y"] + 1.0 / trial.budget


def run(scheduler, n_trials, seed=0, n_jobs=1, optimizer="random"):
    study = mh.create_study(space=SPACE, optimizer=optimizer, scheduler=scheduler, seed=seed)
    study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs, show_progress=False)
    return study


def test_one_hyperband_iteration_matches_the_paper():
    study = run(mh.Hyperband(min_budget=1, max_budget=81, eta=3), 206)
    assert Counter(t.budget for t in study.trials) == {1: 81, 3: 61, 9: 35, 27: 19, 81: 10}
    # Brackets run s = s_max .. 0 in the paper's order, each finished before the next starts.
    brackets = [t.bracket for t in study.trials]
    assert brackets == sorted(brackets) and set(brackets) == {0, 1, 2, 3, 4}
    first_budget = {b: min(t.budget for t in study.trials if t.bracket == b) for b in range(5)}
    assert first_budget == {0: 1, 1: 3, 2: 9, 3: 27, 4: 81}
    # The next trial opens the next iteration with the most aggressive bracket.
    study.optimize(objective, n_trials=1, show_progress=False)
    assert (study.trials[-1].bracket, study.trials[-1].budget) == (5, 1)


@pytest.mark.parametrize(("r", "big_r", "eta"), [(1, 81, 3), (1, 27, 3), (1, 16, 2), (2, 100, 3), (0.05, 1.0, 3), (1, 52, 4)])
def test_bracket_tables_follow_the_formulas(r, big_r, eta):
    ladder = mh.Hyperband(min_budget=r, max_budget=big_r, eta=eta).ladder
    s_max = math.floor(math.log(big_r / r, eta) + 1e-9)
    assert ladder.s_max == s_max
    table = ladder.table()
    assert len(table) == s_max + 1
    for row, s in zip(table, range(s_max, -1, -1), strict=False):
        n = math.ceil((s_max + 1) / (s + 1) * eta**s)
        assert len(row) == s + 1
        for i, (n_i, r_i) in enumerate(row):
            assert n_i == math.floor(n * eta ** (-i))
            expected = big_r * eta ** (i - s)
            if isinstance(r, int) and isinstance(big_r, int):
                assert r_i == min(max(round(expected), r), big_r) and float(r_i).is_integer()
            else:
                assert r_i == pytest.approx(expected)
        assert row[-1][1] == big_r


def test_successive_halving_rung_sizes():
    study = run(mh.SuccessiveHalving(min_budget=1, max_budget=27, eta=3), 41)
    bracket0 = [t for t in study.trials if t.bracket == 0]
    assert Counter(t.rung for t in bracket0) == {0: 27, 1: 9, 2: 3, 3: 1}
    # Each promotion continues one of the best of the rung below.
    for t in bracket0:
        if t.parent is not None:
            parent = study.trials[t.parent]
            assert parent.rung == t.rung - 1 and parent.config == t.config
            rung_below = sorted(x.value for x in bracket0 if x.rung == parent.rung)
            keep = len([x for x in bracket0 if x.rung == t.rung])
            assert parent.value <= rung_below[keep - 1]
    assert {t.bracket for t in study.trials} == {0, 1}


def test_continuous_budgets_stay_continuous():
    study = run(mh.Hyperband(min_budget=0.1, max_budget=1.0, eta=3), 30)
    budgets = sorted({round(t.budget, 12) for t in study.trials})
    assert budgets == [round(1 / 9, 12), round(1 / 3, 12), 1.0]


def _trial(number, rung, value, parent=None, state=TrialState.COMPLETE):
    return FrozenTrial(number=number, state=state, config={"x": number / 100, "y": 0.0},
                       budget=float(3**rung), value=value, bracket=0, rung=rung, parent=parent)


def test_asha_promotes_the_top_third_as_soon_as_it_exists():
    asha = mh.ASHA(min_budget=1, max_budget=9, eta=3)
    two = History(SPACE, (_trial(0, 0, 0.5), _trial(1, 0, 0.2)))
    assert asha.next_job(two).parent is None  # floor(2/3) = 0: nobody to promote yet.
    three = History(SPACE, (*two.trials, _trial(2, 0, 0.9)))
    job = asha.next_job(three)
    assert job.parent.number == 1 and job.rung == 1 and job.budget == 3
    promoted = History(SPACE, (*three.trials, _trial(3, 1, 0.1, parent=1)))
    assert asha.next_job(promoted).parent is None  # trial 1 already promoted
    six = History(SPACE, (*promoted.trials, _trial(4, 0, 0.05), _trial(5, 0, 0.8), _trial(6, 0, 0.7)))
    assert asha.next_job(six).parent.number == 4
    # A failed trial is never promoted.
    failed = History(SPACE, (_trial(0, 0, None, state=TrialState.FAILED), _trial(1, 0, 0.5), _trial(2, 0, 0.6)))
    assert asha.next_job(failed).parent.number == 1


def test_asha_counts_only_finished_trials_of_a_rung():
    asha = mh.ASHA(min_budget=1, max_budget=9, eta=3)
    # Four configs at rung 0, one told: floor(1/3) = 0, so a new config, not a promotion
    # (Li et al. 2020, Algorithm 2: the top 1/eta of the *completed* trials of a rung).
    pending = History(SPACE, (_trial(0, 0, 0.3), *(_trial(i, 0, None, state=TrialState.RUNNING) for i in (1, 2, 3))))
    job = asha.next_job(pending)
    assert job.parent is None and job.rung == 0
    told = History(SPACE, (_trial(0, 0, 0.3), _trial(1, 0, 0.5), _trial(2, 0, 0.9),
                           _trial(3, 0, None, state=TrialState.RUNNING)))
    assert asha.next_job(told).parent.number == 0


def test_asha_with_parallel_workers_promotes_each_config_once():
    study = run(mh.ASHA(min_budget=1, max_budget=27, eta=3), 80, n_jobs=4)
    parents = [t.parent for t in study.trials if t.parent is not None]
    assert len(parents) == len(set(parents)) and parents
    assert sorted(t.number for t in study.trials) == list(range(80))
    assert max(t.rung for t in study.trials) >= 2


def test_asha_stopping_mode_stops_bad_curves():
    asha = mh.ASHA(min_budget=1, max_budget=9, eta=3, mode="stopping")

    def curve(number, level):
        return FrozenTrial(number=number, state=TrialState.COMPLETE, config={"x": 0.1, "y": 0.1},
                           budget=9.0, value=level, intermediate={float(s): level + 1 / s for s in range(1, 10)})

    others = tuple(curve(i, level) for i, level in enumerate([0.1, 0.2, 0.3, 0.4, 0.5]))
    history = History(SPACE, others)
    bad = FrozenTrial(number=9, state=TrialState.RUNNING, config={"x": 0.1, "y": 0.1}, budget=9.0,
                      intermediate={1.0: 5.0, 2.0: 4.0, 3.0: 3.5})
    good = bad.evolve(intermediate={1.0: 0.5, 2.0: 0.4, 3.0: 0.3})
    assert asha.should_stop(bad, history) and not asha.should_stop(good, history)
    assert asha.next_job(history).budget == 9


@pytest.mark.parametrize("kind", [mh.Hyperband, mh.ASHA])
def test_numpy_budgets_are_budgets(kind):
    import numpy as np

    scheduler = kind(np.int64(1), np.int64(27))
    assert scheduler.ladder.integer and (scheduler.min_budget, scheduler.max_budget) == (1, 27)
    assert type(scheduler.max_budget) is int
    study = mh.create_study(space=SPACE, optimizer="random", seed=0, scheduler=scheduler)
    assert float(study.ask().budget).is_integer()
    assert type(kind(np.float64(0.5), np.float64(4.0)).min_budget) is float


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_asha_stopping_judges_a_run_that_skipped_the_rungs_step_by_its_value(direction):
    sign = 1 if direction == "minimize" else -1
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0,
                            direction=direction, scheduler=mh.ASHA(1, 27, eta=3, mode="stopping"))
    for value in (0.5, 0.6, 0.7):  # runs that reported every epoch
        trial = study.ask()
        for epoch in range(1, 28):
            trial.report(epoch, sign * value)
        study.tell(trial, sign * value)
    best, worst = study.ask(), study.ask()
    best.report(2, sign * 0.01)  # first reports at epoch 2, past the 1-epoch rung
    worst.report(2, sign * 100.0)
    assert not best.should_stop() and worst.should_stop()


def test_pruning_in_process_with_report_and_should_stop():
    def train(trial):
        level = trial.config["x"]
        for epoch in range(1, 28):
            trial.report(epoch, level + 1 / epoch)
            if trial.should_stop():
                raise mh.TrialPruned()
        return level

    study = mh.create_study(space=SPACE, optimizer="random", seed=3,
                            scheduler=mh.ASHA(min_budget=1, max_budget=27, eta=3, mode="stopping"))
    study.optimize(train, n_trials=30, show_progress=False)
    states = Counter(t.state for t in study.trials)
    assert states[TrialState.PRUNED] >= 10 and states[TrialState.COMPLETE] >= 3
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    assert all(max(t.intermediate) < 27 for t in pruned)
    assert study.best_value < sorted(t.config["x"] for t in study.trials)[len(study.trials) // 2]


@pytest.mark.parametrize("scheduler", [mh.Hyperband(1, 27, 3), mh.ASHA(1, 27, 3), mh.SuccessiveHalving(1, 9, 3)])
def test_same_seed_same_schedule(scheduler):
    a, b = run(scheduler, 50, seed=4), run(scheduler, 50, seed=4)
    key = lambda s: [(dict(t.config), t.budget, t.bracket, t.rung, t.parent) for t in s.trials]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(run(scheduler, 50, seed=5))


@pytest.mark.parametrize("scheduler", [mh.Hyperband(1, 81, 3), mh.ASHA(1, 27, 3)])
def test_resume_mid_bracket_continues_the_same_schedule(scheduler):
    storage = mh.InMemoryStorage()
    whole = mh.create_study(name="whole", space=SPACE, storage=storage, scheduler=scheduler,
                            optimizer="random", seed=8)
    whole.optimize(objective, n_trials=120, show_progress=False)
    part = mh.create_study(name="part", space=SPACE, storage=storage, scheduler=scheduler,
                           optimizer="random", seed=8)
    part.optimize(objective, n_trials=95, show_progress=False)  # stops inside bracket 1
    resumed = mh.load_study("part", storage)
    assert type(resumed.scheduler) is type(scheduler)
    resumed.optimize(objective, n_trials=25, show_progress=False)
    key = lambda s: [(dict(t.config), t.budget, t.bracket, t.rung, t.parent) for t in s.trials]  # noqa: E731
    assert key(resumed) == key(whole)


def test_trial_handle_exposes_the_parent_for_checkpoints():
    study = mh.create_study(space=SPACE, optimizer="random", seed=0,
                            scheduler=mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3))
    seen = []

    def remember(trial):
        seen.append((trial.budget, trial.parent_number, trial.parent_budget))
        return objective(trial)

    study.optimize(remember, n_trials=13, show_progress=False)
    promotions = [s for s in seen if s[1] is not None]
    assert promotions and all(pb == b / 3 for b, _, pb in promotions)
    frame = study.trials_dataframe()
    assert set(frame["rung"]) == {0, 1, 2} and frame["parent"].notna().sum() == 4


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: mh.Hyperband(1, 81, eta=1.5), "'eta' parameter of Hyperband must be an int >= 2. Got 1.5 instead."),
        (lambda: mh.Hyperband(1, 81, eta=1), "'eta' parameter of Hyperband must be an int >= 2"),
        (lambda: mh.Hyperband(0, 81), "'min_budget' parameter of Hyperband must be > 0"),
        (lambda: mh.SuccessiveHalving(9, 3), "'max_budget' parameter of SuccessiveHalving must be larger"),
        (lambda: mh.ASHA(1, float("inf")), "'max_budget' parameter of ASHA must be a finite number"),
        (lambda: mh.ASHA(1, 9, mode="fast"), "'mode' parameter of ASHA"),
    ],
)
def test_bad_scheduler_arguments(build, fragment):
    with pytest.raises(InvalidParameterError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        build()


@pytest.mark.parametrize("build", [mh.Hyperband, mh.SuccessiveHalving, mh.ASHA])
def test_a_missing_budget_is_said_of_the_class_called(build):
    with pytest.raises(TypeError, match=rf"^{build.__name__}\.__init__\(\) missing 1 required .*'max_budget'"):
        build(min_budget=1)


@pytest.mark.parametrize("build", [mh.Hyperband, mh.SuccessiveHalving, mh.ASHA])
def test_a_budget_range_narrower_than_eta_is_warned_about(build, caplog):
    with caplog.at_level(logging.WARNING, logger="metahpo.schedulers"):
        scheduler = build(min_budget=1, max_budget=2, eta=3)
    assert scheduler.ladder.table() == [[(1, 2.0)]]  # every trial at max_budget
    assert f"{build.__name__}(min_budget=1, max_budget=2, eta=3) has a single rung" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="metahpo.schedulers"):
        build(min_budget=1, max_budget=3, eta=3)
    assert caplog.text == ""


@pytest.mark.parametrize("spec", ["hyperband", "asha", {"name": "successive_halving", "params": {"min_budget": 1}}])
def test_a_scheduler_name_without_its_budgets_is_refused_naming_what_to_pass(spec):
    with pytest.raises(InvalidParameterError, match=r"'scheduler' parameter .* cannot build a .*min_budget=1, max_budget=81"):
        mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), scheduler=spec)


def test_a_pruned_trial_is_an_observation_at_the_budget_it_reached():
    config = {"x": 0.1, "y": 0.1}
    done = FrozenTrial(number=0, state=TrialState.COMPLETE, config=config, budget=27.0, value=0.2,
                       intermediate={1.0: 0.9, 3.0: 0.5, 27.0: 0.2})
    pruned = FrozenTrial(number=1, state=TrialState.PRUNED, config={"x": 0.5, "y": 0.5},
                         budget=27.0, value=0.7, intermediate={1.0: 0.8, 3.0: 0.7})
    failed = FrozenTrial(number=2, state=TrialState.FAILED, config=config, budget=27.0)
    quiet = FrozenTrial(number=3, state=TrialState.PRUNED, config=config, budget=27.0)
    trials = (done, pruned, failed, quiet)
    x, budgets, losses = History(SPACE, trials, min_budget=1, max_budget=27).observations()
    # The complete run is also seen at 3, where the other was stopped (not at 1: no run
    # stopped there).
    assert budgets.tolist() == [3.0, 27.0, 3.0] and losses.tolist() == [0.5, 0.2, 0.7]
    assert x.shape == (3, 2) and x[0].tolist() == x[1].tolist()
    at_three = History(SPACE, trials, min_budget=1, max_budget=27).observations(budget=3.0)
    assert at_three[2].tolist() == [0.5, 0.7]
    # Maximising: the loss is the negated value, as for a complete trial.
    assert History(SPACE, trials, direction="maximize", min_budget=1,
                   max_budget=27).observations()[2].tolist() == [-0.5, -0.2, -0.7]
    # Without budgets a step means nothing to the surrogate: the pruned trial is left out,
    # and so is one whose step lies outside the budget range (other units: batches, say).
    assert History(SPACE, trials).observations()[2].tolist() == [0.2]
    batches = pruned.evolve(intermediate={100.0: 0.8, 300.0: 0.7})
    assert History(SPACE, (done, batches), min_budget=1,
                   max_budget=27).observations()[2].tolist() == [0.2]


def _run(number, state, curve, budget=27.0, x=None, parent=None):
    return FrozenTrial(number=number, state=state, config={"x": number / 100 if x is None else x, "y": 0.5},
                       budget=budget, value=curve[max(curve)], intermediate=curve, parent=parent)


def test_runs_that_went_on_are_observed_where_others_were_stopped():
    trials = (
        _run(0, TrialState.COMPLETE, {1.0: 0.9, 3.0: 0.5, 9.0: 0.3, 27.0: 0.2}),
        _run(1, TrialState.PRUNED, {1.0: 0.95}),
        _run(2, TrialState.PRUNED, {1.0: 0.6, 3.0: 0.55, 9.0: 0.5}),
        # A value that is not finite at a step where a run was stopped adds nothing.
        _run(3, TrialState.COMPLETE, {1.0: float("nan"), 3.0: 0.4, 27.0: 0.25}),
    )
    history = History(SPACE, trials, min_budget=1, max_budget=27)
    _, budgets, losses = history.observations()
    # Runs were stopped at 1 and at 9, none at 3: the runs that went on past 1 or 9 are
    # seen there too (the complete run at 1 and 9, the run stopped at 9 at 1), none at 3.
    assert list(zip(budgets.tolist(), losses.tolist(), strict=True)) == [
        (1.0, 0.9), (9.0, 0.3), (27.0, 0.2), (1.0, 0.95), (1.0, 0.6), (9.0, 0.5), (27.0, 0.25)]
    assert history.observed_count() == 4
    # Nothing was stopped: a run's earlier steps are not observations.
    complete = tuple(t for t in trials if t.state is TrialState.COMPLETE)
    assert History(SPACE, complete, min_budget=1, max_budget=27).observations()[1].tolist() == [27.0, 27.0]


def test_survivors_are_observed_at_the_steps_where_most_runs_were_stopped():
    # An objective that stops itself at any step would otherwise multiply the observations.
    from metahpo.history import MAX_STOP_STEPS

    curve = {float(step): 1.0 / step for step in range(1, 28)}
    # Runs stopped at every step from 1 to 20, and a second run at each of 11 to 18.
    stops = [*range(1, 21), *range(11, 11 + MAX_STOP_STEPS)]
    quitters = tuple(
        _run(number, TrialState.PRUNED, {s: v for s, v in curve.items() if s <= stop})
        for number, stop in enumerate(stops, start=1)
    )
    many = (_run(0, TrialState.COMPLETE, curve), *quitters)
    x, budgets, _ = History(SPACE, many, min_budget=1, max_budget=27).observations()
    survivor = budgets[(x[:, 0] == 0.0)].tolist()
    assert survivor == [*map(float, range(11, 11 + MAX_STOP_STEPS)), 27.0]


def test_a_promoted_run_is_not_observed_again_at_its_parents_budget():
    # A promotion trained from scratch reports its parent's steps again: the parent is
    # already the observation there.
    parent = _run(0, TrialState.COMPLETE, {1.0: 0.9}, budget=1.0, x=0.3)
    child = _run(1, TrialState.COMPLETE, {1.0: 0.85, 3.0: 0.5, 9.0: 0.3}, budget=9.0, x=0.3, parent=0)
    stopped = _run(2, TrialState.PRUNED, {1.0: 0.95, 3.0: 0.7}, budget=9.0, x=0.6)
    history = History(SPACE, (parent, child, stopped), min_budget=1, max_budget=9)
    x, budgets, losses = history.observations()
    # The child is seen at 3 (above its parent's budget), not again at 1.
    assert budgets.tolist() == [1.0, 3.0, 9.0, 3.0] and losses.tolist() == [0.9, 0.5, 0.3, 0.7]
    assert x[:, 0].tolist() == [0.3, 0.3, 0.3, 0.6] and history.observed_count() == 3


def test_steps_equal_but_for_rounding_are_one_step():
    # A ladder's rung (100 * 3**-3) and the step an objective reports there (100 / 27).
    rung, reported = 100 * 3.0**-3, 100 / 27
    assert rung != reported
    trials = (
        _run(0, TrialState.COMPLETE, {reported: 0.6, 100.0: 0.2}, budget=100.0),
        _run(1, TrialState.PRUNED, {rung: 0.9}, budget=100.0),
        _run(2, TrialState.PRUNED, {reported: 0.8}, budget=100.0),
    )
    budgets = History(SPACE, trials, min_budget=1, max_budget=100).observations()[1]
    assert len(budgets) == 4 and budgets.tolist().count(100.0) == 1


@pytest.mark.parametrize("optimizer", [mh.GPBO(n_initial=2), mh.GPBO(n_initial=2, trust_region=False)])
def test_a_model_is_fitted_on_pruned_runs_alone(optimizer):
    # The objective gives up on its first runs itself: nothing has completed yet when the
    # model-based search starts.
    def train(trial):
        for epoch in (1, 3, 9):
            trial.report(epoch, trial.config["x"] + 1 / epoch)
            if trial.number < 4 and epoch == 3:
                raise mh.TrialPruned()
        return trial.config["x"]

    study = mh.create_study(space=SPACE, optimizer=optimizer, seed=0,
                            scheduler=mh.ASHA(min_budget=1, max_budget=9, eta=3, mode="stopping"))
    study.optimize(train, n_trials=8, show_progress=False)
    assert len(study.trials) == 8 and study.trials[4].state is not TrialState.FAILED


def test_pruned_runs_are_observed_under_a_stopping_scheduler():
    def train(trial):
        level = (trial.config["x"] - 0.7) ** 2 + (trial.config["y"] - 0.2) ** 2
        for epoch in (1, 3, 9, 27):
            trial.report(epoch, level + 1 / epoch)
            if trial.should_stop():
                raise mh.TrialPruned()
        return level

    study = mh.create_study(space=SPACE, optimizer=mh.GPBO(n_initial=4), seed=0,
                            scheduler=mh.ASHA(min_budget=1, max_budget=27, eta=3, mode="stopping"))
    study.optimize(train, n_trials=14, show_progress=False)
    pruned = [t for t in study.trials if t.state is TrialState.PRUNED]
    _, budgets, losses = study.history().observations()
    # Every run at its last step with its value, and at each earlier step where a run was
    # stopped with the value it reported there.
    stops = {max(t.intermediate) for t in pruned}
    expected = [(step, t.value if step == max(t.intermediate) else value)
                for t in study.trials for step, value in t.intermediate.items()
                if step == max(t.intermediate) or step in stops]
    assert pruned and len(losses) == len(expected) > len(study.trials)
    assert sorted(zip(budgets.tolist(), losses.tolist(), strict=True)) == sorted(expected)
