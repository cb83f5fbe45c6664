"""The resolution an objective shows through ties, and the BO search respecting it."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.history import history_from
from metahpo.optimizers import GPBO
from metahpo.optimizers._taken import Taken, tie_geometry, tie_radii, tied_neighbours
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


def test_ties_of_two_losses_show_a_resolution_that_holds_around_every_config() -> None:
    configs = [
        {"x": 0.1, "y": 0.1, "c": "a"},
        {"x": 0.1, "y": 0.2, "c": "a"},  # ties with the first: 0.1 apart
        {"x": 0.9, "y": 0.1, "c": "a"},
        {"x": 0.9, "y": 0.2, "c": "a"},  # ties with the third, another loss: 0.1 apart
        {"x": 0.1, "y": 0.9, "c": "a"},
        {"x": 0.5, "y": 0.9, "c": "a"},  # ties with the fifth, a third loss: 0.4 apart
        {"x": 0.5, "y": 0.45, "c": "a"},  # no tie: the median radius (not the mean, 0.2)
        {"x": 0.5, "y": 0.45, "c": "b"},  # another category: the table's resolution too
        {"x": 0.1, "y": 0.1, "c": "a"},  # the first again, another loss (noise)
    ]
    losses = np.array([0.3, 0.3, 0.35, 0.35, 0.7, 0.7, 0.5, 0.5, 0.31])
    radii = tie_radii(SPACE, _unit(configs), np.ones(9), losses)
    np.testing.assert_allclose(radii, [0.1, 0.1, 0.1, 0.1, 0.4, 0.4, 0.1, 0.1, 0.1])
    # Only the configs that tied with a neighbour count as tied, not those the radius
    # was spread to.
    tied = tied_neighbours(SPACE, _unit(configs), np.ones(9), losses)
    np.testing.assert_array_equal(tied, [True] * 6 + [False] * 3)
    # Found together (as a proposal does), the flags are still those before the spread.
    together = tie_geometry(SPACE, _unit(configs), np.ones(9), losses)
    np.testing.assert_allclose(together[0], radii)
    np.testing.assert_array_equal(together[1], tied)
    # The repeat stays short of the second config, which the objective told apart from it;
    # the first's radius is not cut to nothing by its own noisy repeat.
    assert radii[8] < np.linalg.norm(_unit(configs)[8, :2] - _unit(configs)[1, :2])

    # A config the objective told apart, nearer than the median, caps the spread radius.
    near = [*configs[:7], {"x": 0.5, "y": 0.5, "c": "a"}]
    radii = tie_radii(SPACE, _unit(near), np.ones(8), np.r_[losses[:7], 0.6])
    assert 0.0 < radii[6] < np.linalg.norm(_unit(near)[6, :2] - _unit(near)[7, :2]) < 0.1

    # Ties of one loss only (a plateau, say) widen nothing else.
    one_loss = np.array([0.3, 0.3, 0.35, 0.36, 0.7, 0.8, 0.5, 0.5, 0.31])
    radii = tie_radii(SPACE, _unit(configs), np.ones(9), one_loss)
    np.testing.assert_allclose(radii, [0.1, 0.1, 0, 0, 0, 0, 0, 0, 0])


def test_the_spread_radius_is_the_median_of_capped_radii_and_stays_at_its_budget() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    x = np.array([[0.0], [0.04], [0.2], [0.28], [0.6], [0.75], [0.77], [0.4]])
    # Ties 0.04 apart (loss 1), 0.08 (loss 2) and 0.15 (loss 3; the second of them is
    # capped to 0.02 by 0.77, whose loss differs); 0.77 and 0.4 tie with nothing.
    losses = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 5.0, 4.0])
    radii = tie_radii(space, x, np.ones(8), losses)
    # Capped: 0.04, 0.04, 0.08, 0.08, 0.15, 0.02, median 0.06 (uncapped 0.08, mean 0.068).
    np.testing.assert_allclose(radii, [0.04, 0.04, 0.08, 0.08, 0.15, 0.02, 0.02, 0.06], atol=1e-9)

    # Ties of two losses at budget 0.5 say nothing about budget 1, where one loss tied.
    radii = tie_radii(space, x, np.array([0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]), losses)
    np.testing.assert_allclose(radii, [0.04, 0.04, 0.08, 0.08, 0.15, 0.02, 0.0, 0.0], atol=1e-9)


def test_a_candidate_repeats_a_tied_config_within_its_radius_only() -> None:
    configs = [{"x": 0.1, "y": 0.1, "c": "a"}, {"x": 0.4, "y": 0.5, "c": "a"}, {"x": 0.9, "y": 0.1, "c": "a"}]
    taken = Taken(SPACE, configs, np.array([0.5, 0.5, 0.0]))
    assert {"x": 0.1, "y": 0.55, "c": "a"} in taken  # 0.45 from the first
    assert {"x": 0.1, "y": 0.55, "c": "b"} not in taken  # another category
    assert {"x": 0.9, "y": 0.2, "c": "a"} not in taken  # near the untied config only
    assert {"x": 0.9, "y": 0.1005, "c": "a"} in taken  # within the fixed resolution
    taken.add({"x": 0.9, "y": 0.2, "c": "a"})
    assert {"x": 0.9, "y": 0.2, "c": "a"} in taken


def test_a_candidate_nearest_to_a_tied_config_repeats_it_beyond_its_radius() -> None:
    # The first two tied, the third was told apart: a table cell, or a plateau, reaches as
    # far as the configs told apart leave it, not only as far as the tie's own distance.
    configs = [{"x": 0.2, "y": 0.2, "c": "a"}, {"x": 0.3, "y": 0.3, "c": "a"}, {"x": 0.9, "y": 0.9, "c": "a"}]
    taken = Taken(SPACE, configs, np.array([0.14, 0.14, 0.0]), np.array([True, True, False]))
    assert {"x": 0.5, "y": 0.5, "c": "a"} in taken  # 0.28 from the second, 0.57 from the third
    assert {"x": 0.0, "y": 0.0, "c": "a"} in taken
    assert {"x": 0.7, "y": 0.7, "c": "a"} not in taken  # nearest to the config told apart
    assert {"x": 0.5, "y": 0.5, "c": "b"} not in taken  # another category: nothing known there
    taken.add({"x": 0.5, "y": 0.5, "c": "a"})  # a new config splits the cell
    assert {"x": 0.55, "y": 0.55, "c": "a"} not in taken
    assert {"x": 0.0, "y": 0.0, "c": "a"} not in taken.without_cells()
    assert {"x": 0.0, "y": 0.0, "c": "a"} in taken  # the copy left the cells in place
    bare = taken.without_cells()
    bare.add({"x": 0.05, "y": 0.05, "c": "a"})  # the batch of the copy is its own
    assert {"x": 0.05, "y": 0.05, "c": "a"} in bare
    assert {"x": 0.05, "y": 0.05, "c": "a"} in taken  # still the first config's cell...
    assert len(taken.rows) == 4  # ...but not a row of the original


def test_a_pending_config_splits_a_cell_and_misaligned_flags_are_refused() -> None:
    configs = [{"x": 0.2, "y": 0.2, "c": "a"}, {"x": 0.3, "y": 0.3, "c": "a"}, {"x": 0.6, "y": 0.6, "c": "a"}]
    taken = Taken(SPACE, configs, np.array([0.14, 0.14, 0.0]), np.array([True, True, False]))
    assert {"x": 0.55, "y": 0.55, "c": "a"} not in taken  # nearest to the pending third
    assert {"x": 0.4, "y": 0.4, "c": "a"} in taken
    with pytest.raises(ValueError, match="aligned with the 3 configs"):
        Taken(SPACE, configs, np.zeros(3), np.array([True]))


def test_a_promoted_config_that_tied_has_its_cell() -> None:
    # A config run at a low budget and again at the target one has a row for each, at the
    # same place; only the target budget's row tied.
    configs = [{"x": 0.2, "y": 0.2, "c": "a"}, {"x": 0.2, "y": 0.2, "c": "a"}, {"x": 0.9, "y": 0.9, "c": "a"}]
    taken = Taken(SPACE, configs, np.zeros(3), np.array([False, True, False]))
    assert {"x": 0.4, "y": 0.4, "c": "a"} in taken


def test_when_every_config_tied_gpbo_proposes_a_new_config_not_a_repeat() -> None:
    # Two pairs of neighbours tied, at two losses: every place in the box is nearest to a
    # tied config, so the cells take it all; a new config is still better than a repeat.
    plane = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    configs = [{"x": 0.2, "y": 0.2}, {"x": 0.25, "y": 0.2}, {"x": 0.8, "y": 0.8}, {"x": 0.8, "y": 0.75}]
    trials = [
        FrozenTrial(i, TrialState.COMPLETE, c, value=v) for i, (c, v) in enumerate(zip(configs, [0.5, 0.5, 0.6, 0.6], strict=True))
    ]
    history = history_from(plane, trials, seed=0)
    assert tied_neighbours(plane, *history.observations()).all()
    config = GPBO().suggest(history, 1)[0]
    assert plane.config_key(config) not in set(plane.config_keys(configs))
    assert config not in Taken(plane, configs, tie_radii(plane, *history.observations()))


# The first 38 trials of a MetaBO run on the 50 configs of a small integer grid, whose
# objective has exact ties: the radii they show cover every config not yet tried.
_GRID = mh.Space({"a": mh.Int(0, 4), "b": mh.Int(0, 4), "c": mh.Categorical(["p", "q"])})
_GRID_RUN = [
    (2, 3, "q"), (1, 3, "q"), (3, 1, "q"), (3, 4, "q"), (2, 2, "q"), (1, 1, "q"), (2, 1, "p"), (1, 2, "p"),
    (2, 1, "q"), (0, 2, "q"), (3, 2, "q"), (2, 0, "q"), (1, 4, "q"), (1, 2, "q"), (3, 3, "q"), (3, 0, "q"),
    (4, 2, "q"), (0, 0, "q"), (0, 4, "q"), (4, 4, "q"), (4, 0, "q"), (0, 1, "q"), (2, 4, "q"), (4, 1, "q"),
    (1, 0, "q"), (0, 3, "q"), (4, 3, "q"), (3, 3, "p"), (2, 4, "p"), (4, 2, "p"), (0, 4, "p"), (4, 0, "p"),
    (4, 4, "p"), (4, 1, "p"), (1, 4, "p"), (3, 4, "p"), (4, 3, "p"), (0, 0, "p"),
]


def test_when_the_shown_resolution_covers_every_untried_config_gpbo_still_proposes_one() -> None:
    configs = [{"a": a, "b": b, "c": c} for a, b, c in _GRID_RUN]
    losses = [(c["a"] - 2) ** 2 + (c["b"] - 2) ** 2 + (0.5 if c["c"] == "p" else 0.0) for c in configs]
    trials = [FrozenTrial(i, TrialState.COMPLETE, c, value=float(v)) for i, (c, v) in enumerate(zip(configs, losses, strict=True))]
    history = history_from(_GRID, trials, seed=0)
    taken = Taken(_GRID, configs, *tie_geometry(_GRID, *history.observations()))
    untried = [{"a": a, "b": b, "c": c} for a in range(5) for b in range(5) for c in "pq"
               if (a, b, c) not in _GRID_RUN]
    assert len(untried) == 12 and all(c in taken.without_cells() for c in untried)
    config = GPBO().suggest(history, 1)[0]
    assert (config["a"], config["b"], config["c"]) not in _GRID_RUN


_CELLS = np.random.default_rng(7).uniform(size=(12, 2))
_CELL_LOSSES = np.random.default_rng(8).uniform(size=12)


def test_gpbo_on_a_coarse_table_rarely_lands_in_a_cell_twice() -> None:
    # Twelve configs were evaluated, and any other config gets the loss of the nearest of
    # them (how pool benchmarks snap): the cells are far wider than the distance between
    # two configs that happened to tie. Twelve trials from four seeds; with the tied
    # configs' radii alone 20 of the 48 landed in a cell already evaluated (13 with the cells).
    plane = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    repeats = 0
    for seed in range(4):
        trials: list[FrozenTrial] = []
        cells = []
        for number in range(12):
            config = GPBO().suggest(history_from(plane, trials, seed=seed), 1)[0]
            cells.append(int(np.argmin(np.linalg.norm(_CELLS - [config["x"], config["y"]], axis=1))))
            trials.append(FrozenTrial(number, TrialState.COMPLETE, config, value=float(_CELL_LOSSES[cells[-1]])))
        repeats += len(cells) - len(set(cells))
    assert repeats <= 16


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
        if number > len(SPACE):  # after the Sobol design
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


def test_a_radius_stays_short_of_a_config_the_objective_told_apart() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    x = np.array([[0.25], [0.3], [0.5]])
    radii = tie_radii(space, x, np.ones(3), np.array([0.5, 0.7, 0.7]))
    assert radii[0] == 0.0 and 0.0 < radii[1] < 0.05 and radii[2] == 0.2
    # Without the cap 0.3's radius (0.2, its tie with 0.5) would cover 0.25.
    assert {"x": 0.25} not in Taken(space, [{"x": 0.3}, {"x": 0.5}], radii[1:])


def test_an_inactive_categorical_is_its_own_kind() -> None:
    space = mh.Space(
        {"x": mh.Float(0.0, 1.0), "c": mh.Categorical(["a", "b", "c"])},
        conditions={"c": mh.Range("x", low=0.5)},
    )
    configs = [{"x": 0.45}, {"x": 0.3}]
    taken = Taken(space, configs, np.array([0.15, 0.15]))
    assert {"x": 0.4} in taken
    # "b" sits where an inactive parameter is encoded: it must not count as inactive.
    assert all({"x": 0.55, "c": c} not in taken for c in ("a", "b", "c"))


def test_ties_below_the_top_budget_do_not_restrict_the_search(monkeypatch) -> None:
    import metahpo.optimizers._bo as bo

    space = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    plateau = [{"x": 0.1 * i, "y": 0.02} for i in range(1, 9)]  # one loss at budget 1
    trials = [FrozenTrial(i, TrialState.COMPLETE, c, value=1.0, budget=1.0) for i, c in enumerate(plateau)]
    top = [{"x": 0.35, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.2, "y": 0.8}, {"x": 0.3, "y": 0.8}]
    values = [0.3, 0.9, 0.8, 0.8]  # the last two tie, as neighbours, at budget 3
    trials += [
        FrozenTrial(8 + i, TrialState.COMPLETE, c, value=v, budget=3.0)
        for i, (c, v) in enumerate(zip(top, values, strict=True))
    ]
    history = history_from(space, trials, seed=0, min_budget=1.0, max_budget=3.0)
    x, budgets, losses = history.observations()
    assert np.all(tie_radii(space, x, budgets, losses)[:8] > 0)  # ties at budget 1
    seen: list[np.ndarray] = []

    class Recording(bo.Taken):
        def __init__(self, space, configs, radii=None, tied=None) -> None:
            seen.append(np.asarray(radii))
            seen.append(np.asarray(tied))
            super().__init__(space, configs, radii, tied)

    monkeypatch.setattr(bo, "Taken", Recording)
    GPBO().suggest(history, 1)
    # Only the budget-3 tie restricts the search for budget 3.
    np.testing.assert_allclose(seen[0], [0.0] * 10 + [0.1, 0.1])
    np.testing.assert_array_equal(seen[1], [False] * 10 + [True, True])


def test_without_ties_the_first_new_optimum_in_the_acquisition_order_is_proposed() -> None:
    import torch

    from metahpo.optimizers._bo import _first_new
    from metahpo.surrogates import Candidates, SpaceEncoding

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    encoding = SpaceEncoding(space)
    rows = np.array([[0.2], [0.6], [0.9]])
    taken = Taken(space, [{"x": 0.2}])
    history = history_from(space, [], seed=0)

    def objective(z: torch.Tensor) -> torch.Tensor:  # would prefer 0.9; must not be asked
        raise AssertionError("rescored")

    chosen = _first_new(space, encoding, Candidates(rows, np.array([-3.0, -2.0, -1.0]), 0), taken, history, objective)
    assert chosen == {"x": 0.6}
