"""The resolution an objective shows through ties, and the BO search respecting it."""

from __future__ import annotations

import numpy as np

import metahpo as mh
from metahpo.history import history_from
from metahpo.optimizers import GPBO
from metahpo.optimizers._taken import Taken, tie_radii
from metahpo.trial import FrozenTrial, TrialState

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0), "c": mh.Categorical(["a", "b"])})


def _unit(configs: list[dict]) -> np.ndarray:
    return SPACE.to_unit(configs)


def test_only_exact_ties_of_different_configs_in_one_category_and_budget_count() -> None:
    configs = [
        {"x": 0.1, "y": 0.1, "c": "a"},
        {"x": 0.4, "y": 0.5, "c": "a"},  # ties with the first: distance 0.5
        {"x": 0.1, "y": 0.1, "c": "b"},  # same loss, other category: no tie
        {"x": 0.9, "y": 0.9, "c": "a"},  # same loss, other budget: no tie
        {"x": 0.95, "y": 0.95, "c": "a"},  # loss differs by 1e-12: no tie
    ]
    losses = np.array([0.3, 0.3, 0.3, 0.3, 0.3 + 1e-12])
    budgets = np.array([1.0, 1.0, 1.0, 0.5, 1.0])
    radii = tie_radii(SPACE, _unit(configs), budgets, losses)
    np.testing.assert_allclose(radii, [0.5, 0.5, 0.0, 0.0, 0.0])


def test_a_tie_between_configs_that_are_not_neighbours_is_chance() -> None:
    configs = [
        {"x": 0.1, "y": 0.1, "c": "a"},
        {"x": 0.15, "y": 0.1, "c": "a"},  # the first's neighbour, another loss
        {"x": 0.9, "y": 0.9, "c": "a"},  # ties with the first, far away
        {"x": 0.85, "y": 0.9, "c": "a"},  # the third's neighbour, another loss
    ]
    radii = tie_radii(SPACE, _unit(configs), np.ones(4), np.array([0.3, 0.2, 0.3, 0.4]))
    np.testing.assert_array_equal(radii, np.zeros(4))


def test_a_candidate_repeats_a_tied_config_within_its_radius_only() -> None:
    configs = [{"x": 0.1, "y": 0.1, "c": "a"}, {"x": 0.4, "y": 0.5, "c": "a"}, {"x": 0.9, "y": 0.1, "c": "a"}]
    taken = Taken(SPACE, configs, np.array([0.5, 0.5, 0.0]))
    assert {"x": 0.1, "y": 0.55, "c": "a"} in taken  # 0.45 from the first
    assert {"x": 0.1, "y": 0.55, "c": "b"} not in taken  # another category
    assert {"x": 0.9, "y": 0.2, "c": "a"} not in taken  # near the untied config only
    assert {"x": 0.9, "y": 0.1005, "c": "a"} in taken  # within the fixed resolution
    taken.add({"x": 0.9, "y": 0.2, "c": "a"})
    assert {"x": 0.9, "y": 0.2, "c": "a"} in taken


def _snapped(config: dict) -> tuple[float, float, str]:
    # A tabular objective: only a 4 x 4 grid per category was evaluated.
    return (round(config["x"] * 3) / 3, round(config["y"] * 3) / 3, config["c"])


def _table_loss(config: dict) -> float:
    x, y, c = _snapped(config)
    return (x - 0.6) ** 2 + (y - 0.3) ** 2 + (0.0 if c == "a" else 0.2)


def test_gpbo_on_a_tabular_objective_never_suggests_inside_a_shown_resolution() -> None:
    trials: list[FrozenTrial] = []
    for number in range(20):
        history = history_from(SPACE, trials, seed=1)
        config = GPBO().suggest(history, 1)[0]
        x, budgets, losses = history.observations()
        radii = tie_radii(SPACE, x, budgets, losses)
        same = np.array([t.config["c"] == config["c"] for t in trials], dtype=bool)
        if len(trials):
            row = SPACE.to_unit([config])[0]
            distance = np.linalg.norm(x[:, :2] - row[:2], axis=1)
            assert not np.any(same & (radii > 0) & (distance <= radii)), number
        trials.append(FrozenTrial(number, TrialState.COMPLETE, config, value=_table_loss(config)))
    assert any(tie_radii(SPACE, *history_from(SPACE, trials, seed=1).observations()) > 0)


def test_stepping_out_moves_a_candidate_past_the_radius_along_its_ray() -> None:
    configs = [{"x": 0.2, "y": 0.2, "c": "a"}, {"x": 0.2, "y": 0.6, "c": "a"}]
    taken = Taken(SPACE, configs, np.array([0.4, 0.4]))
    inside = {"x": 0.3, "y": 0.2, "c": "a"}  # 0.1 right of the first, 0.41 from the second
    stepped = taken.step_out(inside)
    assert stepped is not None and stepped not in taken
    assert stepped["c"] == "a" and stepped["y"] < 0.2 + 1e-9  # away from both, to the right
    assert stepped["x"] > 0.2 + 0.4
    # A candidate on a tied config has no direction to go.
    assert taken.step_out(dict(configs[0])) is None
    # Outside every radius it is returned as it is.
    assert taken.step_out({"x": 0.9, "y": 0.9, "c": "a"}) == {"x": 0.9, "y": 0.9, "c": "a"}
