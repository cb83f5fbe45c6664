"""ConfigSpace import and export, with round trips of the YAHPO Gym spaces."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError

CS = pytest.importorskip("ConfigSpace")

ROOT = Path(__file__).resolve().parents[2]


def _yahpo_files() -> list[Path]:
    roots = [Path(os.environ["METAHPO_YAHPO_DATA"])] if os.environ.get("METAHPO_YAHPO_DATA") else []
    roots.append(ROOT.parent / "shared" / "data" / "yahpo")
    roots.append(Path("/work/shared/data/yahpo"))
    for root in roots:
        files = sorted(root.glob("*/config_space.json"))
        if files:
            return files
    return []


YAHPO = _yahpo_files()


def _read(path: Path) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the files use ConfigSpace 0.4's 'default' field
        return CS.ConfigurationSpace.from_json(path)


@pytest.mark.skipif(not YAHPO, reason="YAHPO Gym config_space.json files not found")
@pytest.mark.parametrize("path", YAHPO, ids=lambda p: p.parent.name)
def test_yahpo_spaces_round_trip(path: Path) -> None:
    original = _read(path)
    space = mh.Space.from_configspace(original)
    exported = space.to_configspace()
    assert exported == original  # hyperparameters, defaults and conditions
    assert mh.Space.from_configspace(exported) == space
    assert mh.Space.from_json(space.to_json()) == space
    assert set(space.conditions) == {c.child.name for c in original.conditions}
    # Every default configuration ConfigSpace makes, and samples, are valid metahpo configs.
    assert space.validate(dict(original.get_default_configuration()))
    for config in original.sample_configuration(20):
        assert space.contains(dict(config))
    for config in space.sample(0, 20):
        CS.Configuration(exported, values=config).check_valid_configuration()


def test_every_kind_maps_and_comes_back() -> None:
    cs = CS.ConfigurationSpace(seed=1)
    cs.add([
        CS.UniformFloatHyperparameter("lr", 1e-4, 1.0, log=True, default_value=0.01),
        CS.UniformIntegerHyperparameter("layers", 1, 5, default_value=2),
        CS.CategoricalHyperparameter("act", ["relu", "tanh"], default_value="tanh"),
        CS.OrdinalHyperparameter("size", ["s", "m", "l"], default_value="m"),
        CS.UniformFloatHyperparameter("width2", 0.0, 1.0),
        CS.UniformFloatHyperparameter("both", 0.0, 1.0),
    ])
    cs.add([
        CS.GreaterThanCondition(cs["width2"], cs["layers"], 1),
        CS.AndConjunction(
            CS.EqualsCondition(cs["both"], cs["act"], "relu"),
            # lr <= 0.5: ConfigSpace compares only strictly.
            CS.OrConjunction(CS.EqualsCondition(cs["both"], cs["lr"], 0.5),
                             CS.LessThanCondition(cs["both"], cs["lr"], 0.5)),
        ),
    ])
    space = mh.Space.from_configspace(cs)
    assert space["size"] == mh.Categorical(["s", "m", "l"], ordered=True, default="m")
    assert space["lr"].default == 0.01 and space["lr"].log
    assert space.conditions["width2"] == mh.Range("layers", low=2)
    assert space.conditions["both"] == mh.AllOf(mh.Equals("act", "relu"), mh.Range("lr", high=0.5))
    assert space.validate({"lr": 0.1, "layers": 1, "act": "tanh", "size": "s"})
    assert space.to_configspace() == cs
    other = CS.ConfigurationSpace({"c": "fixed", "k": ["u", "v", "w"], "x": (0.0, 1.0)})
    other.add(CS.NotEqualsCondition(other["x"], other["k"], "u"))
    mapped = mh.Space.from_configspace(other)
    assert mapped["c"] == mh.Categorical(["fixed"], default="fixed")
    assert mapped.conditions["x"] == mh.In("k", ["v", "w"])
    with pytest.raises(InvalidParameterError, match="forbidden"):
        forbid = CS.ConfigurationSpace({"a": ["u", "v"], "b": ["u", "v"]})
        forbid.add(CS.ForbiddenAndConjunction(
            CS.ForbiddenEqualsClause(forbid["a"], "v"), CS.ForbiddenEqualsClause(forbid["b"], "v")
        ))
        mh.Space.from_configspace(forbid)
    with pytest.warns(UserWarning, match="Dropped 1 forbidden"):
        assert len(mh.Space.from_configspace(forbid, forbidden="ignore")) == 2
    with pytest.raises(InvalidParameterError, match="non-uniform weights"):
        mh.Space.from_configspace(CS.ConfigurationSpace({"a": CS.CategoricalHyperparameter("a", [1, 2], weights=[1, 3])}))
    with pytest.raises(InvalidParameterError, match="ConfigurationSpace"):
        mh.Space.from_configspace({"a": (0, 1)})


@pytest.mark.parametrize(
    "condition",
    [mh.Range("n", high=8), mh.Range("n", low=1), mh.Range("n", low=2, high=100),
     mh.Range("n", low=3, high=5), mh.Range("n", low=1, high=8), mh.Range("n", low=2.5)],
)
def test_an_integer_range_at_or_past_the_parents_bounds_exports(condition):
    # ConfigSpace's greater/less-than values must be legal values of the parent.
    space = mh.Space({"n": mh.Int(1, 8), "k": mh.Float(0, 1)}, {"k": condition})
    back = mh.Space.from_configspace(space.to_configspace())
    for n in range(1, 9):
        assert back.conditions["k"].holds({"n": n}) == condition.holds({"n": n}), n


@pytest.mark.parametrize(
    "condition",
    [mh.Range("x", low=0.25), mh.Range("x", high=0.75), mh.Range("x", low=0.25, high=0.75),
     mh.Range("x", low=0.1), mh.Range("x", high=1.0)],
)
@pytest.mark.parametrize("log", [False, True])
def test_a_real_range_keeps_its_bounds_in_configspace(condition, log):
    space = mh.Space({"x": mh.Float(0.1, 1.0, log=log), "y": mh.Float(0, 1)}, {"y": condition})
    exported = space.to_configspace()
    back = mh.Space.from_configspace(exported)
    if condition.low is None or condition.high is None:
        # A bound at the parent's own is no bound: the whole range comes back as low=0.1.
        assert back.conditions["y"] == (mh.Range("x", low=0.1) if condition.high == 1.0 else condition)
    for x in (0.1, 0.25, 0.75, 1.0, 0.5, 0.2499999, 0.7500001):
        active = condition.holds({"x": x})
        assert back.conditions["y"].holds({"x": x}) == active, x
        # ConfigSpace refuses a value for an inactive child and wants one for an active child.
        CS.Configuration(exported, values={"x": x, "y": 0.5} if active else {"x": x}).check_valid_configuration()


def test_a_strict_real_bound_of_configspace_reads_as_inclusive() -> None:
    cs = CS.ConfigurationSpace({"x": (0.0, 1.0), "y": (0.0, 1.0)})
    cs.add(CS.GreaterThanCondition(cs["y"], cs["x"], 0.5))
    space = mh.Space.from_configspace(cs)
    assert space.conditions["y"] == mh.Range("x", low=0.5)  # differs at x = 0.5 only
    assert "x == 0.5" in str(space.to_configspace().conditions[0])


@pytest.mark.parametrize(
    ("sequence", "kind", "value", "active"),
    [(["lo", "mid", "hi"], "GreaterThanCondition", "lo", ("mid", "hi")),
     ([1, 2, 3], "LessThanCondition", 3, (1, 2))],
)
def test_greater_and_less_than_on_an_ordinal_are_its_later_or_earlier_choices(sequence, kind, value, active):
    cs = pytest.importorskip("ConfigSpace")
    space = cs.ConfigurationSpace()
    parent = cs.OrdinalHyperparameter("s", sequence)
    child = cs.UniformFloatHyperparameter("y", 0, 1)
    space.add([parent, child])
    space.add(getattr(cs, kind)(child, parent, value))
    assert mh.Space.from_configspace(space).conditions["y"] == mh.In("s", list(active))


def test_an_or_over_a_conditional_parent_is_refused_both_ways() -> None:
    # ConfigSpace: gamma is active for a tree (any part holds). metahpo: gamma reads kernel,
    # which a tree leaves inactive, so it would be inactive. Not the same space: refused.
    cs = CS.ConfigurationSpace({"model": ["svm", "tree"], "kernel": ["rbf", "linear"], "gamma": (1e-3, 1.0)})
    cs.add(CS.EqualsCondition(cs["kernel"], cs["model"], "svm"))
    cs.add(CS.OrConjunction(CS.EqualsCondition(cs["gamma"], cs["kernel"], "rbf"),
                            CS.EqualsCondition(cs["gamma"], cs["model"], "tree")))
    with pytest.raises(InvalidParameterError, match=r"condition of 'gamma' is an OR .* 'kernel' has a condition"):
        mh.Space.from_configspace(cs)
    space = mh.Space(
        {"model": mh.Categorical(["svm", "tree"]), "kernel": mh.Categorical(["rbf", "linear"]),
         "gamma": mh.Float(1e-3, 1.0)},
        {"kernel": mh.Equals("model", "svm"),
         "gamma": mh.AnyOf(mh.Equals("kernel", "rbf"), mh.Equals("model", "tree"))},
    )
    with pytest.raises(InvalidParameterError, match="condition of 'gamma' is an OR"):
        space.to_configspace()
    # An OR over one parent, or over parents that are always active, means the same to both.
    plain = mh.Space(dict(space.items()),
                     {"gamma": mh.AnyOf(mh.Equals("kernel", "rbf"), mh.Equals("model", "tree"))})
    assert mh.Space.from_configspace(plain.to_configspace()).conditions == plain.conditions


@pytest.mark.parametrize(
    ("parent", "condition"),
    [(mh.Float(0.0, 1.0, default=0.5), mh.Range("x", low=0.25, high=0.75)),
     (mh.Float(1e-3, 1.0, log=True, default=0.01), mh.Range("x", low=0.0123456789, high=0.5)),
     (mh.Float(0.0, 1.0, default=0.5), mh.Range("x", low=0.5, high=0.5)),
     (mh.Int(1, 10, default=5), mh.Range("x", low=3, high=7))],
)
def test_a_two_sided_range_comes_back_as_one_range(parent, condition):
    space = mh.Space(
        {"x": parent, "a": mh.Categorical(["u", "v"], default="u"),
         "y": mh.Float(0, 1, default=0.5), "z": mh.Float(0, 1, default=0.5)},
        {"y": condition, "z": mh.AllOf(mh.Equals("a", "u"), condition)},
    )
    exported = space.to_configspace()
    back = mh.Space.from_configspace(exported)
    assert back.conditions == {"y": condition, "z": mh.AllOf(mh.Equals("a", "u"), condition)}
    assert back == space
    assert back.fingerprint() == space.fingerprint()
    assert back.to_configspace() == exported


def test_a_configspace_conjunction_of_both_bounds_reads_as_one_range() -> None:
    cs = CS.ConfigurationSpace({"n": (1, 10), "a": ["u", "v"], **{k: (0.0, 1.0) for k in "yvwz"}})
    n = cs["n"]
    cs.add([
        CS.AndConjunction(CS.GreaterThanCondition(cs["y"], n, 2), CS.LessThanCondition(cs["y"], n, 8)),
        # Not both bounds of one parent (or no value between them): each stays a conjunction.
        CS.AndConjunction(CS.GreaterThanCondition(cs["v"], n, 2), CS.GreaterThanCondition(cs["v"], n, 4)),
        CS.AndConjunction(CS.GreaterThanCondition(cs["w"], n, 2), CS.EqualsCondition(cs["w"], cs["a"], "u")),
        CS.AndConjunction(CS.GreaterThanCondition(cs["z"], n, 5), CS.LessThanCondition(cs["z"], n, 6)),
    ])
    space = mh.Space.from_configspace(cs)
    assert space.conditions == {
        "y": mh.Range("n", low=3, high=7),
        "v": mh.AllOf(mh.Range("n", low=3), mh.Range("n", low=5)),
        "w": mh.AllOf(mh.Range("n", low=3), mh.Equals("a", "u")),
        "z": mh.AllOf(mh.Range("n", low=6), mh.Range("n", high=5)),
    }
    assert space.to_configspace() == cs
    assert mh.Space.from_configspace(space.to_configspace()) == space
    # Written upper bound first, it is the same range.
    swapped = CS.ConfigurationSpace({"n": (1, 10), "y": (0.0, 1.0)})
    swapped.add(CS.AndConjunction(CS.LessThanCondition(swapped["y"], swapped["n"], 8),
                                  CS.GreaterThanCondition(swapped["y"], swapped["n"], 2)))
    assert mh.Space.from_configspace(swapped).conditions["y"] == mh.Range("n", low=3, high=7)


@pytest.mark.parametrize("choices", [[None, "balanced"], ["balanced", None]])
def test_a_none_default_of_a_categorical_survives_both_ways(choices):
    cs = CS.ConfigurationSpace()
    cs.add([CS.CategoricalHyperparameter("class_weight", choices, default_value=None),
            CS.OrdinalHyperparameter("depth", [*choices[:1], 3, *choices[1:]], default_value=None),
            CS.CategoricalHyperparameter("solver", ["lbfgs", None], default_value="lbfgs")])
    space = mh.Space.from_configspace(cs)
    assert space["class_weight"] == mh.Categorical(choices, default=None)
    assert space["class_weight"] != mh.Categorical(choices)  # no default is another thing
    assert space["depth"].to_dict()["default"] is None
    assert space["solver"].default == "lbfgs"
    assert space.to_configspace() == cs
    assert mh.Space.from_json(space.to_json()) == space
    # metahpo first: the None default, and no default (ConfigSpace's first choice).
    mine = mh.Space({"class_weight": mh.Categorical(choices, default=None), "other": mh.Categorical(choices)})
    exported = mine.to_configspace()
    assert exported["class_weight"].default_value is None
    assert exported["other"].default_value == choices[0]
    assert mh.Space.from_configspace(exported)["class_weight"] == mine["class_weight"]
