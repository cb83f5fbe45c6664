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
    assert choice.k_nearest is not None and choice.p_values[choice.k_nearest] < 0.05
    assert choice.mean_regret[choice.k_nearest] < 0.5 * choice.mean_regret[None], choice
    passing = [k for k, p in choice.p_values.items() if p < 0.05]
    assert choice.mean_regret[choice.k_nearest] == min(choice.mean_regret[k] for k in passing)


def test_the_cluster_stays_when_it_holds_the_related_tasks() -> None:
    # Three clear groups: the nearest task's cluster is the target's group, and no
    # number of nearest tasks is measurably better.
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1, 2], 10)
    tasks = _tasks(0.1 + 0.4 * group + rng.normal(0, 0.01, 30), 10.0 * group + rng.normal(0, 0.1, 30))
    choice = choose_portfolio_neighbours(tasks, SPACE)
    assert choice.k_nearest is None and min(choice.p_values.values()) >= 0.05
    assert choice.mean_regret[None] < 0.1 < choice.mean_regret[20], choice


def test_a_larger_neighbourhood_wins_when_the_descriptor_tells_nothing() -> None:
    # The cluster of the nearest task is then a random handful of tasks; twenty of the
    # thirty cover the spread of optima better, and the rule says so.
    rng = np.random.default_rng(0)
    tasks = _tasks(rng.uniform(0, 1, 30), rng.uniform(0, 1, 30))
    choice = choose_portfolio_neighbours(tasks, SPACE)
    assert choice.k_nearest == 20 and choice.p_values[20] < 0.05


def test_too_few_tasks_keep_the_cluster() -> None:
    choice = choose_portfolio_neighbours(_descriptor_tells_the_optimum(8), SPACE)
    assert choice.k_nearest is None and choice.n_tasks == 8
    assert set(choice.p_values) == {3, 5} and set(choice.p_values.values()) == {1.0}


def test_tasks_without_a_shared_design_are_not_scored() -> None:
    tasks = _descriptor_tells_the_optimum(12)
    other = Task("odd", SPACE, [{"x": 0.013}, {"x": 0.5}], [0.0, 1.0], descriptor={"d": 0.5})
    # The odd task did not evaluate the others' configs; they are scored, it is not.
    scores = held_out_portfolio_regrets([*tasks, other], SPACE, 3)
    assert sorted(scores) == sorted(t.name for t in tasks)
    assert choose_portfolio_neighbours([*tasks, other], SPACE).n_tasks == 12
    with pytest.raises(InvalidParameterError, match="'k_nearest' parameter of held_out_portfolio_regrets"):
        held_out_portfolio_regrets(tasks, SPACE, 0)


def test_the_recorded_rule_is_read_back_and_obeyed(tmp_path: Path) -> None:
    tasks = _descriptor_tells_the_optimum(12)
    KnowledgeBase(tasks).save(tmp_path / "kb")
    assert KnowledgeBase.from_files(tmp_path / "kb").portfolio_neighbours(SPACE) is None
    write_portfolio_rule(tmp_path / "kb", {SPACE.fingerprint(): {"k_nearest": 3, "n_tasks": 12}})
    assert read_portfolio_rule(tmp_path / "kb") == {SPACE.fingerprint(): 3}
    for kb in (
        KnowledgeBase.from_files(tmp_path / "kb"),
        KnowledgeBase.open([str(tmp_path / "kb")]),
        KnowledgeBase.from_files(tmp_path / "kb").merge(KnowledgeBase()),
    ):
        assert kb.portfolio_neighbours(SPACE) == 3
    other_space = mh.Space({"x": mh.Float(0.0, 2.0)})
    assert KnowledgeBase.from_files(tmp_path / "kb").portfolio_neighbours(other_space) is None


def test_a_later_source_recording_the_cluster_wins(tmp_path: Path) -> None:
    for name, k in (("a", 3), ("b", None)):
        KnowledgeBase([Task(f"{name}{i}", SPACE, CONFIGS, [c["x"] for c in CONFIGS]) for i in range(3)]).save(tmp_path / name)
        write_portfolio_rule(tmp_path / name, {SPACE.fingerprint(): {"k_nearest": k}})
    a, b = (KnowledgeBase.from_files(tmp_path / name) for name in "ab")
    assert KnowledgeBase.open([str(tmp_path / "a"), str(tmp_path / "b")]).portfolio_neighbours(SPACE) is None
    assert KnowledgeBase.open([str(tmp_path / "b"), str(tmp_path / "a")]).portfolio_neighbours(SPACE) == 3
    assert a.merge(b).portfolio_neighbours(SPACE) is None and b.merge(a).portfolio_neighbours(SPACE) == 3


def test_saving_keeps_the_rule_and_overwriting_drops_a_stale_one(tmp_path: Path) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(12)).save(tmp_path / "kb")
    write_portfolio_rule(tmp_path / "kb", {SPACE.fingerprint(): {"k_nearest": 3}})
    KnowledgeBase.from_files(tmp_path / "kb").save(tmp_path / "copy")
    assert KnowledgeBase.from_files(tmp_path / "copy").portfolio_neighbours(SPACE) == 3
    # Other tasks written over the directory: the rule chosen on the old ones goes.
    KnowledgeBase(_descriptor_tells_the_optimum(20)).save(tmp_path / "kb")
    assert not (tmp_path / "kb" / PORTFOLIO_FILE).exists()
    assert KnowledgeBase.from_files(tmp_path / "kb").portfolio_neighbours(SPACE) is None


def test_a_bad_rule_file_adds_nothing(tmp_path: Path) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    (tmp_path / "kb" / PORTFOLIO_FILE).write_text('{"spaces": {"abc": {"k_nearest": 0}}}')
    kb = KnowledgeBase([Task("other", SPACE, CONFIGS[:2], [1.0, 2.0])])
    with pytest.raises(InvalidParameterError, match="k_nearest"):
        kb.add_files(tmp_path / "kb")
    assert kb.names == ["other"]


def test_the_portfolio_optimizer_follows_the_recorded_rule(tmp_path: Path) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(12)).save(tmp_path / "kb")
    write_portfolio_rule(tmp_path / "kb", {SPACE.fingerprint(): {"k_nearest": 2}})
    kb = KnowledgeBase.from_files(tmp_path / "kb")
    history = History(SPACE, [], descriptor={"d": 1.0})
    why = mh.Portfolio(kb, size=1).suggest_explained(history)[0].why
    assert why["chosen_among"] == 2 and set(why["tasks"]) <= {"t10", "t11"}
    assert mh.Portfolio(kb, size=1, k_nearest=4).suggest_explained(history)[0].why["chosen_among"] == 4
    # The cluster on request: the rule is not followed, so not 2 tasks.
    cluster = kb.relevant(SPACE, Task(name="new", descriptor={"d": 1.0}))  # relevant does what k says
    assert len(cluster) != 2
    assert mh.Portfolio(kb, size=1, k_nearest="cluster").suggest_explained(history)[0].why["chosen_among"] == len(cluster)


@pytest.mark.parametrize("owner", [mh.Portfolio, mh.MetaBO])
@pytest.mark.parametrize("bad", [0, -1, "nearest", 2.5, True])
def test_a_bad_k_nearest_is_refused(owner, bad) -> None:
    with pytest.raises(InvalidParameterError, match=f"'k_nearest' parameter of {owner.__name__} must be an int >= 1, 'cluster' or None"):
        owner(k_nearest=bad)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"spaces": {"abc": {"k_nearest": "five"}}}', "'k_nearest' of space 'abc' must be an int >= 1"),
        ('{"spaces": {"abc": {"k_neighbours": 3}}}', "must map space 'abc' to an object with a 'k_nearest' field"),
        ('{"spaces": {"abc": {"k_nearest": 0}}}', "must be an int >= 1 or null. Got 0"),
        ("[1, 2]", "field 'spaces' must be a JSON object of space fingerprints to records"),
        ("not json", "field 'spaces' must be a JSON object"),
    ],
)
def test_a_malformed_rule_file_is_refused(tmp_path: Path, text: str, match: str) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    (tmp_path / "kb" / PORTFOLIO_FILE).write_text(text)
    with pytest.raises(InvalidParameterError, match=match):
        KnowledgeBase.from_files(tmp_path / "kb")


@pytest.mark.parametrize(
    ("rules", "match"),
    [
        ({"abc": {"k_nearest": -1}}, r"The 'rules' parameter of write_portfolio_rule must map each space "
         r"fingerprint to a record whose 'k_nearest' is an int >= 1 or None. Got -1 for space 'abc' instead."),
        ({"abc": {"k_nearest": 3, "mean": float("nan")}}, "must hold JSON-able records without NaN"),
        ({"abc": {"k_nearest": np.int64(3)}}, "whose 'k_nearest' is an int >= 1 or None"),
        ({"abc": {"k": 3}}, "to a record with a 'k_nearest' field"),
        ([1, 2], "must be a dict of space fingerprints"),
        ({3: {"k_nearest": 3}}, r"must be a dict of space fingerprints \(str\) to records"),
    ],
)
def test_writing_a_bad_rule_leaves_no_file(tmp_path: Path, rules, match: str) -> None:
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    with pytest.raises(InvalidParameterError, match=match):
        write_portfolio_rule(tmp_path / "kb", rules)
    assert not (tmp_path / "kb" / PORTFOLIO_FILE).exists()


def test_a_rule_goes_only_into_a_knowledge_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'folder' parameter of write_portfolio_rule must be a knowledge directory"):
        write_portfolio_rule(tmp_path / "nowhere", {"abc": {"k_nearest": 3}})
    KnowledgeBase(_descriptor_tells_the_optimum(3)).save(tmp_path / "kb")
    with pytest.raises(InvalidParameterError, match=r"must name spaces of the knowledge directory .* Got \['abc'\] instead"):
        write_portfolio_rule(tmp_path / "kb", {"abc": {"k_nearest": 3}})
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == ["evaluations-0.parquet", "manifest.json"]


DATA = Path(mh.knowledge.__file__).parent / "data"


@pytest.mark.parametrize("name", [n for n in bundled_names() if (DATA / n / PORTFOLIO_FILE).is_file()])
def test_every_bundled_rule_was_chosen_on_its_bundle(name: str) -> None:
    # A bundle rebuilt on other tasks or another space must have its rule chosen again
    # (benchmarks/portfolio_rules.py --write).
    manifest = json.loads((DATA / name / "manifest.json").read_text())
    records = json.loads((DATA / name / PORTFOLIO_FILE).read_text())["spaces"]
    assert set(records) == {s["fingerprint"] for s in manifest["spaces"]}
    for record in records.values():
        assert record["tasks"] == sorted(t["name"] for t in manifest["tasks"])


@pytest.mark.parametrize(("preset", "k"), [("lightgbm-classifier", 20), ("xgboost-classifier", 10),
                                           ("random-forest-classifier", None), ("hgb-classifier", None)])
def test_a_preset_study_follows_its_bundle_rule(preset: str, k: int | None) -> None:
    space = mh.presets.get(preset).space
    assert bundled_portfolio_rule(mh.presets.get(preset).knowledge_name).get(space.fingerprint()) == k
    task = mh.Task.from_data(*_iris())
    study = mh.create_study(preset=preset, task=task, seed=0)
    why = study.ask().user_attrs["why"]
    assert why["source"] == "portfolio"
    kb = study.optimizer.knowledge
    cluster = kb.relevant(space, Task(name="__target__", descriptor=task.descriptor))
    assert why["chosen_among"] == (len(cluster) if k is None else k) and k != len(cluster)


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)
