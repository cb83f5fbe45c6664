"""Conditional spaces: validation, sampling, encoding, JSON, fingerprint, surrogate features."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.space import INACTIVE_UNIT
from metahpo.surrogates import SpaceEncoding


def booster_space() -> mh.Space:
    """XGBoost's booster, with a three-level hierarchy (booster -> depth -> min_split)."""
    return mh.Space(
        {
            "booster": mh.Categorical(["gblinear", "gbtree", "dart"]),
            "alpha": mh.Float(1e-3, 10.0, log=True),
            "max_depth": mh.Int(1, 15),
            "rate_drop": mh.Float(0.0, 1.0),
            "grow_deep": mh.Float(0.0, 1.0),
            "extra": mh.Categorical(["a", "b"]),
        },
        conditions={
            "max_depth": mh.In("booster", ["gbtree", "dart"]),
            "rate_drop": mh.Equals("booster", "dart"),
            "grow_deep": mh.Range("max_depth", low=10),
            "extra": mh.AllOf(mh.Range("grow_deep", high=0.5), mh.Equals("booster", "dart")),
        },
    )


def test_validate_requires_active_and_refuses_inactive() -> None:
    space = booster_space()
    assert space.validate({"booster": "gblinear", "alpha": 0.1}) == {"booster": "gblinear", "alpha": 0.1}
    with pytest.raises(InvalidParameterError, match=r"missing the keys \['max_depth'\]"):
        space.validate({"booster": "gbtree", "alpha": 0.1})
    with pytest.raises(InvalidParameterError, match=r"inactive keys \[.max_depth.\].*booster in"):
        space.validate({"booster": "gblinear", "alpha": 0.1, "max_depth": 3})
    # Depth 3: grow_deep needs max_depth >= 10, extra needs grow_deep <= 0.5 and dart.
    deep = {"booster": "dart", "alpha": 1.0, "max_depth": 12, "rate_drop": 0.1, "grow_deep": 0.2, "extra": "a"}
    assert space.validate(deep) == deep
    assert space.active_names({**deep, "max_depth": 3}) == ["booster", "alpha", "max_depth", "rate_drop"]
    assert not space.contains({**deep, "booster": "gbtree"})


@pytest.mark.parametrize(
    ("params", "conditions", "fragment"),
    [
        ({"x": mh.Float(0, 1)}, {"y": mh.Equals("x", 1)}, "names 'y', which is not a parameter"),
        ({"x": mh.Float(0, 1)}, {"x": mh.Range("z", low=0)}, "reads 'z'"),
        ({"x": mh.Float(0, 1)}, {"x": mh.Range("x", low=0)}, "reads 'x'"),
        ({"a": mh.Categorical([1, 2]), "b": mh.Categorical([1, 2])},
         {"a": mh.Equals("b", 1), "b": mh.Equals("a", 1)}, "form a cycle"),
        ({"a": mh.Categorical(["u"]), "b": mh.Float(0, 1)}, {"b": mh.Equals("a", "v")}, "not in the choices"),
        ({"a": mh.Categorical(["u"]), "b": mh.Float(0, 1)}, {"b": mh.Range("a", low=1)}, "Range on the categorical"),
        ({"a": mh.Categorical(["u"]), "b": mh.Float(0, 1)}, {"b": "a == u"}, "must be an Equals"),
        ({"a": mh.Float(0, 10), "b": mh.Float(0, 1)}, {"b": mh.Range("a", low=50)}, "holds for no value in the reals"),
        ({"a": mh.Int(1, 8), "b": mh.Float(0, 1)}, {"b": mh.Range("a", high=0)}, "holds for no value in the integers"),
        ({"a": mh.Int(1, 8), "b": mh.Float(0, 1)}, {"b": mh.Range("a", low=3.2, high=3.8)}, "with low=3.2, high=3.8"),
    ],
)
def test_bad_conditions_are_refused(params: dict, conditions: dict, fragment: str) -> None:
    with pytest.raises(InvalidParameterError, match=fragment):
        mh.Space(params, conditions)


def test_a_stored_range_that_never_holds_is_read_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # Earlier versions stored such a space: its study must still open.
    description = {
        "n": {"type": "int", "low": 1, "high": 5, "log": False},
        "x": {"type": "float", "low": 0.0, "high": 1.0, "log": False,
              "condition": {"type": "range", "parent": "n", "low": 6, "high": None}},
    }
    with caplog.at_level("WARNING", logger="metahpo.space"):
        space = mh.Space.from_dict(description)
    assert space.to_dict() == description
    assert "holds for no value" in caplog.text
    assert space.active_names({"n": 3}) == ["n"]
    with pytest.raises(InvalidParameterError, match="holds for no value"):
        mh.Space.from_dict(description, strict=True)


def test_sampling_gives_valid_configs_and_every_branch() -> None:
    space = booster_space()
    configs = space.sample(np.random.default_rng(0), 400) + space.sobol(64, seed=1)
    for config in configs:
        assert space.validate(config) == config
    assert {c["booster"] for c in configs} == {"gblinear", "gbtree", "dart"}
    assert any("extra" in c for c in configs) and any("grow_deep" in c and "extra" not in c for c in configs)
    # Uniform over what is active: a third of the draws are dart.
    assert abs(np.mean([c["booster"] == "dart" for c in configs[:400]]) - 1 / 3) < 0.07


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=6, max_size=6))
def test_unit_round_trip_and_identity(point: list[float]) -> None:
    space = booster_space()
    config = space.from_unit([point])[0]
    assert space.contains(config)
    unit = space.to_unit([config])
    assert space.from_unit(unit)[0].keys() == config.keys()
    again = space.from_unit(unit)[0]
    assert space.config_key(again) == space.config_key(config)
    inactive = [j for j, name in enumerate(space) if name not in config]
    assert np.all(unit[0, inactive] == INACTIVE_UNIT)
    np.testing.assert_array_equal(space.active_mask(unit)[0], [n in config for n in space])


@pytest.mark.parametrize("method", ["active_mask", "impute_inactive", "from_unit"])
@pytest.mark.parametrize(
    ("points", "given"),
    [(np.full((2, 5), 0.5), "shape (2, 5)"), (np.full((2, 7), 0.5), "shape (2, 7)"),
     (np.full((1, 2, 6), 0.5), "shape (1, 2, 6)"), ([0.5] * 5, "shape (5,)"),
     ([["gbtree"] * 6], "[['gbtree', 'gbtree', 'gbtree', 'gbtree', 'gbtree', 'gbtree']]")],
)
def test_unit_cube_methods_refuse_points_of_another_shape(method, points, given) -> None:
    space = booster_space()
    with pytest.raises(InvalidParameterError) as refused:
        getattr(space, method)(points)
    numbers = ": rows of equal length, all numbers" if given.startswith("[") else ""
    assert str(refused.value) == (
        f"The 'points' parameter of Space.{method} must be an array of unit-cube rows with 6 "
        f"columns, one per parameter {list(space)!r}{numbers}. Got {given} instead."
    )


@pytest.mark.parametrize("method", ["active_mask", "impute_inactive"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1.5])
def test_active_mask_and_impute_inactive_refuse_a_parent_outside_the_unit_cube(method, value) -> None:
    space = booster_space()
    # max_depth (column 2) decides whether grow_deep is active: it is read under gbtree.
    points = np.full((2, 6), 0.5)
    points[1, 2] = value
    with pytest.raises(InvalidParameterError) as refused:
        getattr(space, method)(points)
    assert str(refused.value) == (
        f"The coordinate of 'max_depth' (column 2) in points[1] must be in [0, 1], the unit "
        f"interval. Got {value!r} instead."
    )


def test_impute_inactive_replaces_what_is_inactive_and_refuses_an_active_nan() -> None:
    space = booster_space()
    # gblinear (booster 0.1): every parameter but booster and alpha is inactive, so its
    # coordinates are not read and may be anything.
    linear = [0.1, 0.5, np.nan, np.inf, -3.0, np.nan]
    np.testing.assert_array_equal(space.active_mask([linear])[0], [True, True, False, False, False, False])
    np.testing.assert_array_equal(space.impute_inactive([linear])[0], [0.1, 0.5] + [INACTIVE_UNIT] * 4)
    assert space.impute_inactive([[-1e-12, 0.5, *linear[2:]]])[0, 0] == 0.0  # rounding: the bound
    with pytest.raises(InvalidParameterError, match=r"'alpha' \(column 1\) in points\[0\] .* Got nan"):
        space.impute_inactive([[0.1, np.nan, *linear[2:]]])
    flat = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Int(1, 3)})
    with pytest.raises(InvalidParameterError, match=r"'y' \(column 1\) in points\[1\] .* Got inf"):
        flat.impute_inactive([[0.5, 0.5], [0.5, np.inf]])


def test_to_unit_refuses_a_config_without_an_active_child_but_not_an_inactive_one() -> None:
    space = booster_space()
    # rate_drop is active under dart; extra is not (grow_deep is inactive at depth 3).
    dart = {"booster": "dart", "alpha": 1.0, "max_depth": 3}
    with pytest.raises(InvalidParameterError) as refused:
        space.to_unit([dart])
    assert str(refused.value) == (
        "The value of 'rate_drop' in configs[0] must be given: the parameter is active, with "
        "values in the reals [0.0, 1.0]. Got a config without it (its keys: ['booster', "
        "'alpha', 'max_depth']) instead."
    )
    unit = space.to_unit([{**dart, "rate_drop": 0.5}])
    assert unit[0, list(space).index("extra")] == INACTIVE_UNIT


def test_json_and_fingerprint_cover_conditions() -> None:
    space = booster_space()
    again = mh.Space.from_json(space.to_json())
    assert again == space and again.conditions == space.conditions
    plain = mh.Space(dict(space.items()))
    assert plain.fingerprint() != space.fingerprint()
    changed = mh.Space(dict(space.items()), {**space.conditions, "rate_drop": mh.Equals("booster", "gbtree")})
    assert changed.fingerprint() != space.fingerprint()
    # Spaces without conditions keep their description and fingerprint.
    assert "condition" not in str(plain.to_dict())
    assert mh.Space({"x": mh.Float(0, 1)}).fingerprint() == mh.Space({"x": mh.Float(0, 1, default=0.3)}).fingerprint()


def test_encoding_imputes_inactive_and_adds_indicators() -> None:
    space = booster_space()
    encoding = SpaceEncoding(space)
    linear = {"booster": "gblinear", "alpha": 0.1}
    features = encoding.features(space.to_unit([linear]))[0]
    assert encoding.n_config_features == 3 + 1 + 1 + 1 + 1 + 2 + 4
    assert features[encoding.indicator_start:].tolist() == [0, 0, 0, 0]
    # The 'extra' block is all zeros; max_depth sits at the imputed centre.
    assert features[encoding.columns[5].start : encoding.columns[5].start + 2].tolist() == [0, 0]
    assert features[encoding.columns[2].start] == INACTIVE_UNIT
    # Two configs that differ only in what they do not use have the same features.
    noisy = space.to_unit([linear])
    noisy[0, 2:] = [0.1, 0.9, 0.3, 0.7]
    np.testing.assert_array_equal(encoding.features(noisy)[0], features)
    # snap recomputes indicators from a relaxed row; unit decodes to the same config.
    relaxed = features.copy()
    relaxed[:3] = [0.1, 0.2, 0.9]  # booster -> dart
    snapped = encoding.snap(relaxed[None, :])
    config = space.from_unit(encoding.unit(snapped))[0]
    assert config["booster"] == "dart" and "rate_drop" in config
    assert snapped[0, encoding.indicator_start : encoding.indicator_start + 2].tolist() == [1, 1]
    for row in encoding.neighbors(snapped[0]):
        np.testing.assert_array_equal(encoding.snap(row[None, :])[0], row)


@pytest.mark.parametrize("optimizer", ["gpbo", "sobol"])
def test_a_study_runs_on_a_conditional_space(optimizer: str) -> None:
    space = booster_space()

    def objective(trial: mh.TrialHandle) -> float:
        c = trial.config
        return c["alpha"] + (0.0 if c["booster"] == "gblinear" else c["max_depth"] / 15)

    study = mh.create_study(space=space, optimizer=optimizer, seed=0)
    study.optimize(objective, n_trials=10, show_progress=False)
    assert all(t.state == mh.TrialState.COMPLETE for t in study.trials)
    for t in study.trials:
        assert space.validate(dict(t.config)) == dict(t.config)
