"""The portfolio rule: chosen by leaving one task out, recorded beside the knowledge, obeyed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.knowledge import (
    PORTFOLIO_FILE,
    KnowledgeBase,
    Task,
    bundled_names,
    choose_portfolio_neighbours,
    held_out_portfolio_regrets,
    read_portfolio_rule,
    write_portfolio_rule,
)
from metahpo.knowledge._sources import bundled_portfolio_rule

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})
CONFIGS = [{"x": v / 40} for v in range(41)]


def _tasks(optima: np.ndarray, descriptors: np.ndarray) -> list[Task]:
    return [
        Task(f"t{i}", SPACE, CONFIGS, [abs(c["x"] - o) for c in CONFIGS], descriptor={"d": float(d)})
        for i, (o, d) in enumerate(zip(optima, descriptors, strict=True))
    ]


def _descriptor_tells_the_optimum(n: int = 30) -> list[Task]:
    # The optimum moves smoothly with the descriptor: no clusters, but near tasks agree.
    d = np.linspace(0.0, 1.0, n)
    return _tasks(d, d)


def test_the_nearest_tasks_are_chosen_when_the_descriptor_tells_the_optimum() -> None:
    tasks = _descriptor_tells_the_optimum()
    choice = choose_portfolio_neighbours(tasks, SPACE)
    assert choice.n_tasks == 30
    assert choice.k_nearest is not None and choice.p_value < 0.05
    assert choice.mean_regret[choice.k_nearest] < 0.5 * choice.mean_regret[None], choice


def test_the_cluster_stays_when_it_holds_the_related_tasks() -> None:
    # Three clear groups: the nearest task's cluster is the target's group, and no
    # number of nearest tasks is measurably better.
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1, 2], 10)
    tasks = _tasks(0.1 + 0.4 * group + rng.normal(0, 0.01, 30), 10.0 * group + rng.normal(0, 0.1, 30))
    choice = choose_portfolio_neighbours(tasks, SPACE)
    assert choice.k_nearest is None and choice.p_value >= 0.05
    assert choice.mean_regret[None] < 0.1 < choice.mean_regret[20], choice


def test_a_larger_neighbourhood_wins_when_the_descriptor_tells_nothing() -> None:
    # The cluster of the nearest task is then a random handful of tasks; twenty of the
    # thirty cover the spread of optima better, and the rule says so.
    rng = np.random.default_rng(0)
    tasks = _tasks(rng.uniform(0, 1, 30), rng.uniform(0, 1, 30))
    choice = choose_portfolio_neighbours(tasks, SPACE)
    assert choice.k_nearest == 20 and choice.p_value < 0.05


def test_too_few_tasks_keep_the_cluster() -> None:
    choice = choose_portfolio_neighbours(_descriptor_tells_the_optimum(8), SPACE)
    assert choice.k_nearest is None and choice.p_value == 1.0 and choice.n_tasks == 8


def test_tasks_without_a_shared_design_are_not_scored() -> None:
    tasks = _descriptor_tells_the_optimum(12)
    other = Task("odd", SPACE, [{"x": 0.013}, {"x": 0.5}], [0.0, 1.0], descriptor={"d": 0.5})
    # The odd task did not evaluate the others' configs; they are scored, it is not.
    assert len(held_out_portfolio_regrets([*tasks, other], SPACE, 3)) == 12


def test_the_recorded_rule_is_read_back_and_obeyed(tmp_path: Path) -> None:
    tasks = _descriptor_tells_the_optimum(12)
    KnowledgeBase(tasks).save(tmp_path / "kb")
    assert KnowledgeBase.from_files(tmp_path / "kb").portfolio_neighbours(SPACE) is None
    write_portfolio_rule(tmp_path / "kb", {SPACE.fingerprint(): {"k_nearest": 3, "n_tasks": 12}})
    assert read_portfolio_rule(tmp_path / "kb") == {SPACE.fingerprint(): 3}
    target = Task(name="new", descriptor={"d": 0.0})
    for kb in (
        KnowledgeBase.from_files(tmp_path / "kb"),
        KnowledgeBase.open([str(tmp_path / "kb")]),
        KnowledgeBase.from_files(tmp_path / "kb").merge(KnowledgeBase()),
    ):
        assert kb.portfolio_neighbours(SPACE) == 3
        assert [t.name for t in kb.relevant(SPACE, target)] == ["t0", "t1", "t2"]
        assert len(kb.relevant(SPACE, target, k=5)) == 5  # an explicit k wins
    other_space = mh.Space({"x": mh.Float(0.0, 2.0)})
    assert KnowledgeBase.from_files(tmp_path / "kb").portfolio_neighbours(other_space) is None


def test_the_portfolio_optimizer_follows_the_recorded_rule(tmp_path: Path) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(12)).save(tmp_path / "kb")
    write_portfolio_rule(tmp_path / "kb", {SPACE.fingerprint(): {"k_nearest": 2}})
    kb = KnowledgeBase.from_files(tmp_path / "kb")
    history = History(SPACE, [], descriptor={"d": 1.0})
    why = mh.Portfolio(kb, size=1).suggest_explained(history)[0].why
    assert why["chosen_among"] == 2 and set(why["tasks"]) <= {"t10", "t11"}
    assert mh.Portfolio(kb, size=1, k_nearest=4).suggest_explained(history)[0].why["chosen_among"] == 4


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"spaces": {"abc": {"k_nearest": "five"}}}', "'k_nearest' of space 'abc' must be an int >= 1"),
        ('{"spaces": {"abc": {"k_nearest": 0}}}', "must be an int >= 1 or null. Got 0"),
        ("[1, 2]", "must be a JSON object with a 'spaces' object"),
        ("not json", "must be a JSON object"),
    ],
)
def test_a_malformed_rule_file_is_refused(tmp_path: Path, text: str, match: str) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    (tmp_path / "kb" / PORTFOLIO_FILE).write_text(text)
    with pytest.raises(InvalidParameterError, match=match):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_writing_a_bad_rule_leaves_no_file(tmp_path: Path) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    with pytest.raises(InvalidParameterError, match="'k_nearest'"):
        write_portfolio_rule(tmp_path / "kb", {"abc": {"k_nearest": -1}})
    assert not (tmp_path / "kb" / PORTFOLIO_FILE).exists()


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_rule_names_its_bundle_space(name: str) -> None:
    # A bundle rebuilt on another space must have its rule chosen again.
    rules = bundled_portfolio_rule(name)
    manifest = json.loads(
        (Path(mh.knowledge.__file__).parent / "data" / name / "manifest.json").read_text()
    )
    assert set(rules) <= {s["fingerprint"] for s in manifest["spaces"]}
