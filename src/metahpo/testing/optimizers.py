"""The conformance suite every :class:`~metahpo.optimizers.Optimizer` must pass.

Each ``check_*`` function takes a factory, a zero-argument callable that returns a fresh
optimizer (as a new process would build it: clear any process-wide cache there), and an
optional task ``descriptor`` (named meta-features) handed to the optimizer in every
:class:`~metahpo.history.History`. It raises ``AssertionError`` (or the unexpected
exception) when the optimizer breaks the protocol's rules. The checks search
:func:`conformance_space` with at most 15 trials, so a model-based optimizer runs the
whole suite in seconds; an optimizer that learns from related tasks should be given
knowledge of that space (see :func:`conformance_loss`). Run them all with
:func:`check_optimizer`, or one test per check with pytest::

    import pytest
    from metahpo.testing.optimizers import OPTIMIZER_CHECKS

    @pytest.mark.parametrize("check", OPTIMIZER_CHECKS, ids=lambda check: check.__name__)
    def test_my_optimizer(check):
        check(MyOptimizer)

Example:
    >>> from metahpo.optimizers import RandomSearch
    >>> from metahpo.testing.optimizers import check_optimizer
    >>> check_optimizer(RandomSearch)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo.optimizers import Optimizer, Suggestion, optimizer_spec
from metahpo.space import Categorical, Float, Int, Space
from metahpo.testing._helpers import _check, _raises
from metahpo.testing._optimizer_helpers import (
    OptimizerFactory,
    check_configs,
    conformance_loss,
    conformance_space,
    history,
    json_round_trip,
    observed_trials,
    rebuild,
    run_study,
    trial,
    unit_distance,
)
from metahpo.trial import TrialState

__all__ = [
    "OPTIMIZER_CHECKS",
    "OptimizerFactory",
    "check_avoids_pending_and_evaluated_configs",
    "check_bad_n_is_refused",
    "check_budgets",
    "check_different_seed_different_configs",
    "check_does_not_change_the_history",
    "check_failed_pruned_and_pending_trials",
    "check_maximize_is_negated_minimize",
    "check_optimizer",
    "check_optional_hooks",
    "check_other_spaces",
    "check_params_and_state_rebuild_the_optimizer",
    "check_protocol",
    "check_returns_n_configs",
    "check_same_seed_same_configs",
    "check_suggest_depends_only_on_history_and_state",
    "check_suggest_explained",
    "check_suggests_configs_of_the_space",
    "conformance_loss",
    "conformance_space",
]

Descriptor = Mapping[str, Any] | None

# Spaces besides the main one: one float alone, and a small all-discrete space.
_OTHER_SPACES = (
    Space({"x": Float(0.0, 1.0)}),
    Space({"kind": Categorical(["a", "b", "c"]), "n": Int(1, 8, log=True)}),
)


def check_protocol(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """It is an Optimizer with a name, and its parameters and state are JSON dicts."""
    del descriptor
    optimizer = make_optimizer()
    _check(isinstance(optimizer, Optimizer),
           f"{optimizer!r} lacks a method of the Optimizer protocol (suggest, get_params, "
           "state_dict, load_state_dict) or the 'name' attribute")
    _check(isinstance(optimizer.name, str) and bool(optimizer.name),
           f"an optimizer's name must be a non-empty str, got {optimizer.name!r}")
    for what, value in (("get_params()", optimizer.get_params()), ("state_dict()", optimizer.state_dict())):
        _check(isinstance(value, dict), f"{what} must return a dict, got {value!r}")
        json_round_trip(value, what)


def check_suggests_configs_of_the_space(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Configs are plain dicts of the space (log scales, ints and categoricals), JSON-able."""
    for trials in ([], observed_trials(8)):
        for n in (1, 3):
            configs = make_optimizer().suggest(history(trials, 3, descriptor), n)
            check_configs(conformance_space(), configs, n, f"{len(trials)} trials, n={n}")


def check_other_spaces(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """A one-float space and a small all-discrete space work too, past any initial design.

    The factory's knowledge (if any) is of :func:`conformance_space`, so an optimizer that
    learns from related tasks has none for these spaces and must fall back gracefully.
    """
    for space in _OTHER_SPACES:
        configs = space.sample(0, 6)
        trials = [trial(i, c, value=float(i % 4)) for i, c in enumerate(configs)]
        for observed in (trials[:0], trials[:2], trials):
            for n in (1, 3):
                what = f"{len(observed)} trials in {list(space)}, n={n}"
                suggested = make_optimizer().suggest(history(observed, 3, descriptor, space=space), n)
                check_configs(space, suggested, n, what)


def check_returns_n_configs(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """``suggest(history, n)`` returns exactly ``n`` configs, all different."""
    space = conformance_space()
    for trials in ([], observed_trials(8)):
        for n in (1, 2, 5):
            configs = make_optimizer().suggest(history(trials, 1, descriptor), n)
            check_configs(space, configs, n, f"{len(trials)} trials")
            distinct = {repr(sorted(c.items(), key=str)) for c in configs}
            _check(len(distinct) == n, f"a batch of {n} repeats a config: {configs!r}")


def check_bad_n_is_refused(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """``n`` that is not an int >= 1 raises InvalidParameterError (also in ``suggest_explained``)."""
    optimizer = make_optimizer()
    methods: list[tuple[str, Callable[..., Any]]] = [("suggest", optimizer.suggest)]
    explained = getattr(optimizer, "suggest_explained", None)
    if callable(explained):
        methods.append(("suggest_explained", explained))
    for name, method in methods:
        for bad in (0, -1, 1.5, "2", True, None):
            with _raises(InvalidParameterError, f"{name}(history, n={bad!r})"):
                method(history([], 0, descriptor), bad)


def check_same_seed_same_configs(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Two fresh optimizers given the same histories and seed choose the same configs."""
    first = run_study(make_optimizer(), 8, seed=5, descriptor=descriptor)
    second = run_study(make_optimizer(), 8, seed=5, descriptor=descriptor)
    _check(first == second, f"the same seed gave two trajectories:\n{first}\n{second}")


def check_different_seed_different_configs(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Another seed gives another trajectory (the study seed is not ignored)."""
    first = run_study(make_optimizer(), 8, seed=5, descriptor=descriptor)
    other = run_study(make_optimizer(), 8, seed=6, descriptor=descriptor)
    _check(first != other, f"seeds 5 and 6 gave the same 8 configs: {first}")


def check_params_and_state_rebuild_the_optimizer(make_optimizer: OptimizerFactory,
                                                 descriptor: Descriptor = None) -> None:
    """``optimizer_spec`` survives JSON; the optimizer rebuilt from it suggests the same."""
    optimizer = make_optimizer()
    configs = run_study(optimizer, 6, seed=2, descriptor=descriptor)
    spec = json_round_trip(optimizer_spec(optimizer), "optimizer_spec(optimizer)")
    rebuilt = rebuild(spec, optimizer)
    _check(json_round_trip(rebuilt.get_params(), "get_params()") == spec["params"],
           f"the rebuilt optimizer's get_params() differ: {rebuilt.get_params()!r} != {spec['params']!r}")
    trials = [trial(i, c) for i, c in enumerate(configs)]
    after = history(trials, 2, descriptor)
    from_spec = rebuilt.suggest(after, 2)
    original = optimizer.suggest(after, 2)
    _check(from_spec == original, f"rebuilt from its spec it suggests {from_spec}, the original {original}")


def check_suggest_depends_only_on_history_and_state(make_optimizer: OptimizerFactory,
                                                    descriptor: Descriptor = None) -> None:
    """An optimizer that served another study suggests what a fresh one with its state does.

    This catches hidden state (a process-wide cache, an attribute outside ``state_dict``)
    that another process, reloading the study, would not have.
    """
    used = make_optimizer()
    run_study(used, 5, seed=11, descriptor=descriptor)
    state = json_round_trip(used.state_dict(), "state_dict()")
    target = history(observed_trials(8), 12, descriptor)
    got = used.suggest(target, 2)
    fresh = make_optimizer()
    fresh.load_state_dict(state)
    expected = fresh.suggest(target, 2)
    _check(got == expected, "an optimizer that served a study with another seed suggests "
           f"{got}; a fresh one loaded with its state_dict() suggests {expected}")


def check_failed_pruned_and_pending_trials(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """FAILED, PRUNED, RUNNING and reserved (config not yet set) trials are handled."""
    configs = conformance_space().sample(7, 9)
    mixed = [
        *observed_trials(4),
        trial(4, configs[4], TrialState.FAILED, error="boom"),
        trial(5, configs[5], TrialState.PRUNED, intermediate={1.0: 3.0}),
        trial(6, configs[6], TrialState.RUNNING),
        trial(7, {}, TrialState.RUNNING),
        trial(8, configs[8], TrialState.COMPLETE),
    ]
    failed_only = [trial(i, c, TrialState.FAILED, error="x") for i, c in enumerate(configs[:4])]
    pending_only = [trial(i, c, TrialState.RUNNING) for i, c in enumerate(configs[:3])]
    for name, trials in (("mixed states", mixed), ("only FAILED", failed_only),
                         ("only RUNNING", pending_only)):
        for n in (1, 3):
            check_configs(conformance_space(), make_optimizer().suggest(history(trials, 4, descriptor), n),
                          n, f"{name}, n={n}")
    # Under a scheduler's budgets, runs stopped before any completed are all there is.
    pruned_only = [trial(i, c, TrialState.PRUNED, budget=9.0, intermediate={1.0: 2.0, 3.0: 1.0 + i})
                   for i, c in enumerate(configs[:5])]
    for n in (1, 3):
        stopped = history(pruned_only, 4, descriptor, min_budget=1.0, max_budget=9.0)
        check_configs(conformance_space(), make_optimizer().suggest(stopped, n),
                      n, f"only PRUNED with budgets, n={n}")


def check_avoids_pending_and_evaluated_configs(make_optimizer: OptimizerFactory,
                                               descriptor: Descriptor = None) -> None:
    """A config that is running (pending) or was evaluated is not proposed again."""
    space = conformance_space()
    observed = observed_trials(8)
    first = make_optimizer().suggest(history(observed, 9, descriptor), 1)[0]
    pending = [*observed, trial(8, first, TrialState.RUNNING)]
    second = make_optimizer().suggest(history(pending, 9, descriptor), 1)[0]
    for done in observed:
        for config in (first, second):
            _check(unit_distance(space, dict(done.config), config) > 1e-6,
                   f"{config!r} repeats the evaluated config of trial {done.number}")
    _check(unit_distance(space, first, second) > 1e-3,
           f"{second!r} is the pending config {first!r} again")


def check_budgets(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """With a budget range, trials at several budgets (none or some at the top) are handled."""
    configs = conformance_space().sample(8, 9)
    low = [trial(i, c, budget=1.0, bracket=0, rung=0, value=conformance_loss(c) + 1.0)
           for i, c in enumerate(configs)]
    promoted = [trial(9 + i, low[i].config, budget=3.0, bracket=0, rung=1, parent=i) for i in range(3)]
    top = [trial(12, low[0].config, budget=9.0, bracket=0, rung=2, parent=9),
           trial(13, low[1].config, TrialState.RUNNING, budget=9.0, bracket=0, rung=2, parent=10)]
    for name, trials in (("budget 1 only", low), ("budgets 1 and 3", low + promoted),
                         ("budgets 1, 3 and 9", low + promoted + top)):
        for n in (1, 2):
            after = history(trials, 6, descriptor, min_budget=1.0, max_budget=9.0)
            check_configs(conformance_space(), make_optimizer().suggest(after, n), n, f"{name}, n={n}")


def check_maximize_is_negated_minimize(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Maximising values v chooses what minimising -v does: the direction is only a sign."""
    observed = observed_trials(8)
    negated = [t.evolve(value=-float(t.value)) for t in observed]  # type: ignore[arg-type]
    minimize = make_optimizer().suggest(history(observed, 4, descriptor), 2)
    maximize = make_optimizer().suggest(history(negated, 4, descriptor, direction="maximize"), 2)
    check_configs(conformance_space(), maximize, 2, "maximize")
    _check(minimize == maximize, f"minimising v suggests {minimize}, maximising -v {maximize}")


def check_suggest_explained(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """``suggest_explained``, if any, gives Suggestions of ``suggest``'s configs with a JSON ``why``."""
    if not callable(getattr(make_optimizer(), "suggest_explained", None)):
        return
    for trials in ([], observed_trials(8)):
        after = history(trials, 8, descriptor)
        explained = make_optimizer().suggest_explained(after, 2)  # type: ignore[attr-defined]
        _check(isinstance(explained, list) and all(isinstance(s, Suggestion) for s in explained),
               f"suggest_explained must return a list of Suggestion, got {explained!r}")
        check_configs(conformance_space(), [s.config for s in explained], 2, "suggest_explained")
        for suggestion in explained:
            _check(isinstance(suggestion.why, dict), f"'why' must be a dict, got {suggestion.why!r}")
            json_round_trip(suggestion.why, "a suggestion's 'why'")
        plain = make_optimizer().suggest(after, 2)
        _check([s.config for s in explained] == plain,
               f"suggest_explained proposes {[s.config for s in explained]}, suggest {plain}")


def check_does_not_change_the_history(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Suggesting leaves the history's configs alone; changing a returned config changes nothing."""
    observed = observed_trials(8)
    for trials in ([], observed):
        before = copy.deepcopy([dict(t.config) for t in trials])
        optimizer = make_optimizer()
        after = history(trials, 1, descriptor)
        configs = optimizer.suggest(after, 2)
        _check([dict(t.config) for t in trials] == before, "suggest changed the configs of the history")
        _check(not any(c is t.config for c in configs for t in trials),
               "suggest returned a config object of the history")
        state = json_round_trip(optimizer.state_dict(), "state_dict()")
        for config in configs:
            config["x"] = "changed by the caller"
        fresh = make_optimizer()
        fresh.load_state_dict(state)
        expected = fresh.suggest(after, 2)
        again = optimizer.suggest(after, 2)
        _check(again == expected, f"after the caller changed returned configs it suggests {again}, "
               f"not {expected}")


def check_optional_hooks(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """``converged`` returns a bool; ``on_study_end`` returns None or a JSON dict."""
    optimizer = make_optimizer()
    observed = history(observed_trials(8), 0, descriptor)
    converged = getattr(optimizer, "converged", None)
    if callable(converged):
        for after in (history([], 0, descriptor), observed):
            answer = converged(after)
            _check(isinstance(answer, bool), f"converged() must return a bool, got {answer!r}")
    on_study_end = getattr(optimizer, "on_study_end", None)
    if callable(on_study_end):
        summary = on_study_end(observed)
        _check(summary is None or isinstance(summary, dict),
               f"on_study_end() must return None or a dict, got {summary!r}")
        json_round_trip(summary, "on_study_end()'s summary")


OPTIMIZER_CHECKS: tuple[Callable[..., None], ...] = (
    check_protocol,
    check_suggests_configs_of_the_space,
    check_other_spaces,
    check_returns_n_configs,
    check_bad_n_is_refused,
    check_same_seed_same_configs,
    check_different_seed_different_configs,
    check_params_and_state_rebuild_the_optimizer,
    check_suggest_depends_only_on_history_and_state,
    check_failed_pruned_and_pending_trials,
    check_avoids_pending_and_evaluated_configs,
    check_budgets,
    check_maximize_is_negated_minimize,
    check_suggest_explained,
    check_does_not_change_the_history,
    check_optional_hooks,
)


def check_optimizer(make_optimizer: OptimizerFactory, descriptor: Descriptor = None) -> None:
    """Run every check of :data:`OPTIMIZER_CHECKS` on optimizers from ``make_optimizer``."""
    for check in OPTIMIZER_CHECKS:
        check(make_optimizer, descriptor)
