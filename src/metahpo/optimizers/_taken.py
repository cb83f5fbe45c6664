"""Which candidate configs would repeat one already evaluated or pending.

A candidate repeats a config when it is the same config (:meth:`Space.config_key`), when it
lies within ``RESOLUTION`` of it in every unit-cube coordinate, when it lies within the
resolution the objective has shown around that config, or when that config tied with a
neighbour and is the nearest to the candidate (its "cell").

The objective shows its resolution through ties. Two different configs that returned
exactly the same loss at the same budget tell that the objective does not tell them apart:
a tabular benchmark snapped both to one evaluated config, a model ignored the parameter
that differs, or the loss sits on a plateau. Either way a new config closer to them than
they are to each other is likely to return that loss again, a wasted trial. Only ties
between neighbours count (see :func:`tie_radii`), so a loss that takes few values does
not widen the resolution by chance, and a continuous loss never ties. The resolution
is first learned around the configs that tied. Once ties in two places (two different
losses) show that it is the objective's and not one plateau's, it holds around every
evaluated config, in whichever category (a table's resolution is the table's): a tabular
objective would otherwise spend a trial on each of its configs before its neighbourhood
was known.
Around each config it stays short of the nearest config of its kind and budget that the
objective told apart. The price: once it holds, a config closer to an evaluated one than
that resolution is not proposed, whatever the loss would have been (an objective that ties
by coarseness, an error rate on a small validation set, gives up refinement below it).

Beyond the radii, a candidate whose nearest config of its kind (evaluated, pending or
stopped, at any budget) tied with a neighbour counts as a repeat: a table snaps a config to
its nearest table config, so a tied config's cell reaches as far as its neighbouring
configs leave it, which on a coarse table is far wider than the distance between two
configs that happened to tie. Each new config splits the cell it lands in. The cells are
the weakest rule: a search left with nothing new outside them sets them aside
(:meth:`Taken.without_cells`) before it repeats a config.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np

from metahpo.space import Categorical, Config, Space

__all__ = ["RESOLUTION", "STEP_OUT", "Taken", "tie_geometry", "tie_radii", "tied_neighbours"]

# Candidates closer than this to an evaluated or pending config, in every unit-cube
# coordinate, repeat it: an acquisition optimum that converges on the incumbent (at a
# corner of the box, say) would otherwise spend trial after trial on what is, to the model
# and to the user, the same config.
RESOLUTION = 1e-3
# How many radii from a config a candidate inside its radius is moved (Taken.step_out).
STEP_OUT = 2.0


def tie_radii(space: Space, x_unit: np.ndarray, budgets: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """For each observation, the distance within which the objective does not tell configs apart.

    A tied observation's radius is its distance to the farthest different config that tied
    with it. Two observations tie when their losses are exactly equal at the same budget,
    their configs differ, their unordered categoricals agree (a tie across categories says
    nothing about distances), and one of them is the other's nearest evaluated config. The
    last condition keeps chance ties out: a loss that takes few values (the error rate on
    a small validation set) ties far-apart configs by chance, while a config the objective
    does not tell from another was evaluated next to it. A radius stays short of every
    other config of the same kind and budget whose loss differs: the objective told that
    one apart. Once configs at one budget have tied at two different losses, every other
    config at that budget, of any kind, gets their median radius (again short of the
    configs of its kind told apart). Distances are Euclidean over the ordered unit-cube columns;
    without ties every radius is 0.

    Example:
        >>> import numpy as np
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> x = np.array([[0.2], [0.5], [0.3], [0.9]])
        >>> tie_radii(space, x, np.ones(4), np.array([0.7, 0.1, 0.7, 0.7])).round(3).tolist()
        [0.1, 0.0, 0.1, 0.0]
    """
    return tie_geometry(space, x_unit, budgets, losses)[0]


def tie_geometry(
    space: Space, x_unit: np.ndarray, budgets: np.ndarray, losses: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tie_radii` and :func:`tied_neighbours` together, the neighbour ties found once."""
    radii = _neighbour_radii(space, x_unit, budgets, losses)
    neighbours = radii > 0.0
    tied = np.flatnonzero(neighbours)
    if not len(tied):
        return radii, neighbours
    x_ordered, kind = _geometry(space, x_unit)
    # The configs at one budget share a resolution once ties of two losses show it: a
    # table's resolution is its own, whatever the categories (spreading within a kind
    # only lost most of the gain on the pool with a categorical, the `[per_kind]` rows of
    # benchmarks/results/resolution_everywhere/).
    spread_to = []
    for budget in {budgets[i] for i in tied}:
        cell = budgets == budget
        if len(np.unique(losses[cell & (radii > 0.0)])) >= 2:
            spread = np.flatnonzero(cell & (radii == 0.0))
            radii[spread] = float(np.median(radii[cell & (radii > 0.0)]))
            spread_to.extend(spread.tolist())
    _short_of_told_apart(radii, spread_to, x_ordered, kind, budgets, losses)
    return radii, neighbours


def tied_neighbours(space: Space, x_unit: np.ndarray, budgets: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Which observations tied with a neighbour (see :func:`tie_radii`): the configs whose
    radius the ties themselves showed, not those it was spread to."""
    return _neighbour_radii(space, x_unit, budgets, losses) > 0.0


def _geometry(space: Space, x_unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ordered unit-cube columns of ``x_unit`` and each row's kind (an integer label)."""
    kind = np.unique(_kinds(space, x_unit), axis=0, return_inverse=True)[1].ravel()
    return x_unit[:, _columns(space)[1]], kind


def _neighbour_radii(space: Space, x_unit: np.ndarray, budgets: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """The radii of the configs that tied with a neighbour (0 elsewhere), before any spreading."""
    radii = np.zeros(len(losses))
    # Only observations that share their loss and budget with another can tie: usually none.
    _, group, size = np.unique(
        np.column_stack([losses, budgets]), axis=0, return_inverse=True, return_counts=True
    )
    group = group.ravel()
    shared = [int(i) for i in np.flatnonzero(size[group] > 1)]
    if not shared:
        return radii
    x_ordered, kind = _geometry(space, x_unit)
    apart: dict[int, np.ndarray] = {}
    for i in shared:
        distance = np.linalg.norm(x_ordered - x_ordered[i], axis=1)
        apart[i] = np.where((kind == kind[i]) & (budgets == budgets[i]) & (distance > 0.0), distance, np.inf)
    nearest = {i: int(np.argmin(apart[i])) for i in shared}
    members: dict[int, list[int]] = {}
    for i in shared:
        members.setdefault(int(group[i]), []).append(i)
    for i in shared:
        for j in members[int(group[i])]:
            if np.isfinite(apart[i][j]) and (nearest[i] == j or nearest[j] == i):
                radii[i] = max(radii[i], float(apart[i][j]))
    _short_of_told_apart(radii, np.flatnonzero(radii > 0.0), x_ordered, kind, budgets, losses)
    return radii


def _short_of_told_apart(
    radii: np.ndarray,
    which: Iterable[int],
    x_ordered: np.ndarray,
    kind: np.ndarray,
    budgets: np.ndarray,
    losses: np.ndarray,
) -> None:
    """Shrink each radius of ``which`` (in place) to stop short of the nearest other config
    of its kind and budget whose loss differs: the objective told that one apart."""
    for i in which:
        distance = np.linalg.norm(x_ordered - x_ordered[i], axis=1)
        differs = (kind == kind[i]) & (budgets == budgets[i]) & (losses != losses[i]) & (distance > 0.0)
        if np.any(differs) and radii[i] >= distance[differs].min():
            radii[i] = float(np.nextafter(distance[differs].min(), 0.0))


class Taken:
    """The configs evaluated or pending, and whether a candidate repeats one of them.

    Args:
        space: the search space.
        configs: the configs evaluated or pending.
        radii: the resolution learned around each of ``configs`` (:func:`tie_radii`;
            0 where none is known), aligned with ``configs``.
        tied: which of ``configs`` tied with a neighbour (:func:`tied_neighbours`), aligned
            with ``configs``: a candidate no farther from one of them than from every other
            config of its kind repeats it.
    """

    def __init__(
        self,
        space: Space,
        configs: list[Config],
        radii: np.ndarray | None = None,
        tied: np.ndarray | None = None,
    ) -> None:
        self.space = space
        self.tied = np.zeros(len(configs), dtype=bool) if tied is None else np.asarray(tied, dtype=bool)
        self.keys = set(space.config_keys(configs))
        self.rows = space.to_unit(configs) if configs else np.empty((0, len(space)))
        self.radii = np.zeros(len(configs)) if radii is None else np.asarray(radii, dtype=float)
        self._kinds = _kinds(space, self.rows)
        self._ordered = _columns(space)[1]
        if len(self.radii) != len(configs) or len(self.tied) != len(configs):
            raise ValueError(
                f"Taken needs radii and tied aligned with the {len(configs)} configs, "
                f"got {len(self.radii)} radii and {len(self.tied)} tied flags"
            )

    def __contains__(self, config: Config) -> bool:
        if self.space.config_key(config) in self.keys:
            return True
        if not len(self.rows):
            return False
        row = self.space.to_unit([config])[0]
        if np.any(np.max(np.abs(self.rows - row), axis=1) < RESOLUTION):
            return True
        return bool(np.any(self._depth(row) >= 0.0)) or self._in_tied_cell(row)

    def without_cells(self) -> Taken:
        """The same configs and radii, without the tied configs' cells: when the cells cover
        every candidate the acquisition offers, a config in one is still better than a repeat."""
        bare = copy.copy(self)
        bare.keys = set(self.keys)  # add() grows the set in place
        bare.tied = np.zeros_like(self.tied)
        return bare

    def exact(self) -> Taken:
        """The same configs without the resolution learned from ties: when it covers every
        candidate, a config not evaluated yet is still better than a repeat."""
        bare = self.without_cells()
        bare.radii = np.zeros_like(self.radii)
        return bare

    def _in_tied_cell(self, row: np.ndarray) -> bool:
        """Whether a config of ``row``'s kind nearest to it tied with a neighbour."""
        if not np.any(self.tied):
            return False
        distance = self._kin_distance(row)
        # Every row at the least distance: a promoted config has a row per budget.
        return bool(np.isfinite(distance.min()) and np.any(self.tied & (distance <= distance.min())))

    def step_out(self, config: Config) -> Config | None:
        """``config`` moved out of the resolution shown around evaluated configs, or ``None``.

        An acquisition optimum inside a config's radius points the way the search wants to
        go; the config there that the objective may tell apart lies past the radius along
        the ray from the config whose radius it lies in. It is placed ``STEP_OUT`` radii out, so
        that if it ties again the radius grows by that factor and repeats stay few.
        """
        row = self.space.to_unit([config])[0]
        for _ in range(len(self.rows)):
            depth = self._depth(row)
            if not len(depth) or depth.max() < 0.0:
                break
            i = int(np.argmax(depth))
            ray = row[self._ordered] - self.rows[i, self._ordered]
            length = float(np.linalg.norm(ray))
            if length == 0.0:
                return None
            moved = self.rows[i, self._ordered] + ray / length * STEP_OUT * self.radii[i]
            row[self._ordered] = np.clip(moved, 0.0, 1.0)
            # As a config: integers rounded, inactive parameters back at their centre.
            row = self.space.to_unit(self.space.from_unit([row]))[0]
        stepped = self.space.from_unit([row])[0]
        return None if stepped in self else stepped

    def add(self, config: Config) -> None:
        self.keys.add(self.space.config_key(config))
        row = self.space.to_unit([config])
        self.rows = np.vstack([self.rows, row])
        self._kinds = np.vstack([self._kinds, _kinds(self.space, row)])
        self.radii = np.r_[self.radii, 0.0]
        self.tied = np.r_[self.tied, False]

    def _depth(self, row: np.ndarray) -> np.ndarray:
        """How far inside each config's radius ``row`` lies (negative: outside or no radius)."""
        return np.where(self.radii > 0.0, self.radii - self._kin_distance(row), -np.inf)

    def _kin_distance(self, row: np.ndarray) -> np.ndarray:
        """The distance from ``row`` to each config of its kind (``inf`` to the others)."""
        same_kind = np.all(self._kinds == _kinds(self.space, row[None, :])[0], axis=1)
        distance = np.linalg.norm(self.rows[:, self._ordered] - row[self._ordered], axis=1)
        return np.where(same_kind, distance, np.inf)


def _kinds(space: Space, rows: np.ndarray) -> np.ndarray:
    """The unordered categorical columns of ``rows``, ``-1`` where inactive: configs of one
    kind are those these columns make equal."""
    categorical = _columns(space)[0]
    kinds = rows[:, categorical].copy()
    if len(rows):
        kinds[~space.active_mask(rows)[:, categorical]] = -1.0
    return kinds


def _columns(space: Space) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the unordered categorical columns and of the others (ordered ones)."""
    unordered = np.array(
        [isinstance(param, Categorical) and not param.ordered for param in space.values()], dtype=bool
    )
    return np.flatnonzero(unordered), np.flatnonzero(~unordered)
