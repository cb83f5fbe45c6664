from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.exceptions import InvalidParameterError


def make_space() -> mh.Space:
    return mh.Space({
        "lr": mh.Float(1e-4, 1.0, log=True),
        "momentum": mh.Float(0.0, 0.99),
        "layers": mh.Int(1, 8),
        "width": mh.Int(8, 1024, log=True),
        "act": mh.Categorical(["relu", "tanh", None, 3, 2.5, True]),
    })


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: mh.Float(1.0, 1.0), "'low' parameter of Float must be smaller"),
        (lambda: mh.Float(2.0, 1.0), "'low' parameter of Float must be smaller"),
        (lambda: mh.Float(0.0, 1.0, log=True), "> 0 when log=True"),
        (lambda: mh.Float(float("nan"), 1.0), "'low' parameter of Float must be a finite number"),
        (lambda: mh.Float("a", 1.0), "'low' parameter of Float"),
        (lambda: mh.Int(3, 3), "'low' parameter of Int must be smaller"),
        (lambda: mh.Int(1.5, 3), "'low' parameter of Int must be an int"),
        (lambda: mh.Int(0, 3, log=True), ">= 1 when log=True"),
        (lambda: mh.Categorical([]), "must not be empty"),
        (lambda: mh.Categorical(["a", "a"]), "must not repeat"),
        (lambda: mh.Categorical([1, 1.0]), "must not repeat"),
        (lambda: mh.Categorical([[1]]), "JSON scalars"),
        (lambda: mh.Categorical([float("inf")]), "JSON scalars"),
        (lambda: mh.Categorical("abc"), "list or tuple of JSON scalars"),
        (lambda: mh.Space({}), "at least one parameter"),
        (lambda: mh.Space({"a": 3}), "must be a Float, Int or Categorical"),
    ],
)
def test_bad_parameters_name_the_parameter(build, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        build()


def test_true_and_one_are_different_choices():
    cat = mh.Categorical([True, 1])
    assert cat.from_unit(cat.to_unit(True)) is True
    assert cat.from_unit(cat.to_unit(1)) == 1 and cat.from_unit(cat.to_unit(1)) is not True


def test_numpy_scalars_are_the_choices_they_stand_for():
    # A config read back from a DataFrame row holds NumPy scalars.
    space = mh.Space({"depth": mh.Categorical([2, 4, 8]), "flag": mh.Categorical([True, 1]),
                      "name": mh.Categorical(["a", "b"])})
    config = {"depth": np.int64(4), "flag": np.True_, "name": np.str_("b")}
    assert space.validate(config) == {"depth": 4, "flag": True, "name": "b"}
    assert type(space.validate(config)["flag"]) is bool
    assert not space.contains({"depth": np.int64(3), "flag": np.True_, "name": "b"})
    assert type(space.validate({"depth": 2, "flag": np.int64(1), "name": "a"})["flag"]) is int


def test_validate_names_unknown_and_missing_keys():
    space = make_space()
    config = space.sample(0, 1)[0]
    with pytest.raises(InvalidParameterError, match="unknown keys \\['extra'\\]"):
        space.validate({**config, "extra": 1})
    del config["lr"]
    with pytest.raises(InvalidParameterError, match="missing the keys \\['lr'\\]"):
        space.validate(config)
    with pytest.raises(InvalidParameterError, match="'layers'"):
        space.validate({**space.sample(0, 1)[0], "layers": 9})


def test_samples_are_inside_and_seeded():
    space = make_space()
    a = space.sample(np.random.default_rng(5), 50)
    b = space.sample(np.random.default_rng(5), 50)
    c = space.sample(np.random.default_rng(6), 50)
    assert a == b and a != c
    assert all(space.contains(x) for x in a)
    assert isinstance(a[0]["layers"], int) and isinstance(a[0]["lr"], float)


def test_sobol_is_deterministic_and_skip_continues_the_sequence():
    space = make_space()
    whole = space.sobol(8, seed=3)
    assert space.sobol(8, seed=3) == whole
    assert space.sobol(3, seed=3, skip=5) == whole[5:]
    assert all(space.contains(x) for x in whole)


@pytest.mark.parametrize(
    ("draw", "fragment"),
    [(lambda s: s.sample(np.random.default_rng(0), -1), "'n' parameter of Space.sample must be an int >= 0. Got -1"),
     (lambda s: s.sample(0, 2.5), "'n' parameter of Space.sample"),
     (lambda s: s.sobol(-2, seed=0), "'n' parameter of Space.sobol must be an int >= 0. Got -2"),
     (lambda s: s.sobol(2, seed=0, skip=-1), "'skip' parameter of Space.sobol must be an int >= 0. Got -1")],
)
def test_a_bad_number_of_points_names_the_parameter(draw, fragment):
    with pytest.raises(mh.InvalidParameterError, match=re.escape(fragment)):
        draw(mh.Space({"x": mh.Float(0, 1)}))


def test_int_cells_give_every_value_equal_mass():
    param = mh.Int(1, 4)
    draws = [param.from_unit(u) for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(draws)[1:]
    assert counts.min() >= 995 and counts.max() <= 1005


unit_rows = st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5)


@settings(max_examples=200, deadline=None)
@given(unit_rows)
def test_unit_round_trip(row):
    space = make_space()
    config = space.from_unit([row])[0]
    assert space.contains(config)
    again = space.from_unit(space.to_unit([config]))[0]
    for key, param in space.items():
        if isinstance(param, mh.Float):
            assert math.isclose(again[key], config[key], rel_tol=1e-12, abs_tol=1e-300)
        else:
            assert again[key] == config[key] and type(again[key]) is type(config[key])


MIDDLE = {"lr": 0.01, "momentum": 0.5, "layers": 4, "width": 64, "act": "relu"}


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("lr", 5.0, "the reals [0.0001, 1.0], log scale"),
        ("lr", 0.0, "the reals [0.0001, 1.0], log scale"),
        ("lr", -1.0, "the reals [0.0001, 1.0], log scale"),
        ("momentum", -0.5, "the reals [0.0, 0.99]"),
        ("momentum", float("nan"), "the reals [0.0, 0.99]"),
        ("momentum", float("inf"), "the reals [0.0, 0.99]"),
        ("momentum", "0.5", "the reals [0.0, 0.99]"),
        ("layers", 9, "the integers [1, 8]"),
        ("layers", 0, "the integers [1, 8]"),
        ("width", 2048, "the integers [8, 1024], log scale"),
        ("act", "gelu", "the choices ['relu', 'tanh', None, 3, 2.5, True]"),
    ],
)
def test_to_unit_refuses_a_value_outside_its_range_naming_it(name, value, expected):
    space = make_space()
    with pytest.raises(InvalidParameterError) as refused:
        space.to_unit([MIDDLE, {**MIDDLE, name: value}])
    assert str(refused.value) == (
        f"The value of {name!r} in configs[1] must be in {expected}. Got {value!r} instead."
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lr", "the reals [0.0001, 1.0], log scale"),
        ("layers", "the integers [1, 8]"),
        ("act", "the choices ['relu', 'tanh', None, 3, 2.5, True]"),
    ],
)
def test_to_unit_refuses_a_config_without_an_active_parameter_naming_it(name, expected):
    space = make_space()
    without = {key: value for key, value in MIDDLE.items() if key != name}
    with pytest.raises(InvalidParameterError) as refused:
        space.to_unit([MIDDLE, without])
    assert str(refused.value) == (
        f"The value of {name!r} in configs[1] must be given: the parameter is active, with "
        f"values in {expected}. Got a config without it (its keys: {list(without)!r}) instead."
    )


def test_to_unit_clips_floating_point_excess_at_the_bounds():
    space = make_space()
    beyond = {**MIDDLE, "lr": 1.0 * (1 + 1e-12), "momentum": -1e-13, "layers": 8 + 1e-12}
    unit = space.to_unit([beyond])
    assert unit[0, 0] == 1.0 and unit[0, 1] == 0.0
    assert space.from_unit(unit)[0] == {**MIDDLE, "lr": 1.0, "momentum": 0.0, "layers": 8}
    assert ((unit >= 0.0) & (unit <= 1.0)).all()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1.5, -0.25, 1 + 1e-6])
def test_from_unit_refuses_a_point_outside_the_unit_cube_naming_the_parameter(value):
    space = make_space()
    inside = [0.5] * len(space)
    with pytest.raises(InvalidParameterError) as refused:
        space.from_unit([inside, [0.5, 0.5, value, 0.5, 0.5]])
    assert str(refused.value) == (
        f"The coordinate of 'layers' (column 2) in points[1] must be in [0, 1], the unit "
        f"interval. Got {value!r} instead."
    )


def test_from_unit_clips_floating_point_excess():
    space = make_space()
    assert space.from_unit([[1 + 1e-12, -1e-12, 1.0, 0.0, 1 - 1e-12]]) == space.from_unit(
        [[1.0, 0.0, 1.0, 0.0, 1.0]]
    )


@pytest.mark.parametrize(
    "param", [mh.Float(0.0, 1.0), mh.Float(1e-3, 1.0, log=True), mh.Int(1, 8), mh.Categorical(["a", "b"])]
)
@pytest.mark.parametrize("u", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), 1.5, -0.25,
                               1 + 1e-6, "0.5", None, True])
def test_param_from_unit_refuses_a_coordinate_outside_the_unit_interval_naming_the_parameter(param, u):
    with pytest.raises(InvalidParameterError) as refused:
        param.from_unit(u)
    assert str(refused.value) == (
        f"The 'u' parameter of {param!r}.from_unit must be a finite number in [0, 1], the unit "
        f"interval. Got {u!r} instead."
    )


@pytest.mark.parametrize(
    ("param", "low", "high"),
    [(mh.Float(0.0, 1.0), 0.0, 1.0), (mh.Float(1e-3, 1.0, log=True), 1e-3, 1.0), (mh.Int(1, 8), 1, 8),
     (mh.Categorical([0.5, 2.5]), 0.5, 2.5)],
)
def test_param_from_unit_takes_floating_point_excess_for_the_bound(param, low, high):
    # exp(log(low)) may differ from low in its last bit: compared up to that.
    assert param.from_unit(-1e-12) == param.from_unit(0.0) == pytest.approx(low, rel=1e-15, abs=0)
    assert param.from_unit(1 + 1e-12) == param.from_unit(1.0) == pytest.approx(high, rel=1e-15, abs=0)
    assert param.from_unit(np.float32(1.0)) == param.from_unit(1.0)
    assert param.from_unit(0) == param.from_unit(0.0)


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.booleans())
def test_float_json_round_trip(low, width, log):
    if log:
        low = abs(low) + 1e-3
    space = mh.Space({"x": mh.Float(low, low + width, log=log), "c": mh.Categorical(["a", 1, None])})
    again = mh.Space.from_json(space.to_json())
    assert again == space and again.fingerprint() == space.fingerprint()


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(st.text(), st.integers()), st.none()))
def test_garbage_configs_are_refused_with_the_parameter_named(garbage):
    space = make_space()
    assert not space.contains(garbage)
    with pytest.raises(InvalidParameterError, match="'config'"):
        space.validate(garbage)


def test_fingerprint_is_stable_across_processes_and_ignores_order():
    space = make_space()
    reordered = mh.Space(dict(reversed(list(space.items()))))
    assert reordered.fingerprint() == space.fingerprint()
    code = (
        "import json, metahpo as mh, sys;"
        "print(mh.Space.from_json(sys.argv[1]).fingerprint())"
    )
    out = subprocess.run([sys.executable, "-c", code, space.to_json()], capture_output=True,
                         text=True, check=True, env={"PYTHONHASHSEED": "123"})
    assert out.stdout.strip() == space.fingerprint()
    # A known value guards against accidental changes of the canonical form.
    tiny = mh.Space({"x": mh.Float(0.0, 1.0)})
    assert tiny.fingerprint() == __import__("hashlib").sha256(
        json.dumps({"x": {"high": 1.0, "log": False, "low": 0.0, "type": "float"}},
                   separators=(",", ":")).encode()
    ).hexdigest()


def test_from_dict_names_the_parameter_and_the_keys_a_description_may_use():
    with pytest.raises(InvalidParameterError, match=r"parameter 'lr' \(type 'float'\) must use only the keys "
                       r"\['type', 'low', 'high', 'log', 'default', 'condition'\]. Got the unknown key 'lg'"):
        mh.Space.from_dict({"lr": {"type": "float", "low": 0.1, "high": 1.0, "lg": True}})
    with pytest.raises(InvalidParameterError, match=r"parameter 'n' \(type 'int'\) must have the key 'high'"):
        mh.Space.from_dict({"n": {"type": "int", "low": 1}})
    with pytest.raises(InvalidParameterError, match=re.escape(
            "parameter 'lr' is invalid: The 'low' parameter of Float must be a finite number. Got '0.1' instead.")):
        mh.Space.from_dict({"lr": {"type": "float", "low": "0.1", "high": 1.0}})
    with pytest.raises(InvalidParameterError, match=r"A 'categorical' parameter description must use only the "
                       r"keys \['type', 'choices', 'ordered', 'default'\]. Got the unknown key 'condition'"):
        mh.space.param_from_dict({"type": "categorical", "choices": [1], "condition": {}})


def test_from_dict_refuses_malformed_descriptions():
    with pytest.raises(InvalidParameterError, match="'type'"):
        mh.Space.from_dict({"x": {"type": "complex"}})
    with pytest.raises(InvalidParameterError):
        mh.Space.from_dict({"x": {"type": "float", "low": 0}})
    with pytest.raises(InvalidParameterError, match="valid JSON"):
        mh.Space.from_json("{")


def test_from_json_refuses_what_is_not_text() -> None:
    for text in (None, {"x": {"type": "float", "low": 0, "high": 1}}):
        with pytest.raises(InvalidParameterError, match=r"'text' parameter of Space\.from_json must be JSON text"):
            mh.Space.from_json(text)


def test_a_categorical_default_of_none_is_the_none_choice() -> None:
    # Without a default, and with the None choice as its default: two different parameters.
    none_default = mh.Categorical(["balanced", None], default=None)
    no_default = mh.Categorical(["balanced", None])
    assert none_default != no_default and none_default.default is None and no_default.default is None
    assert none_default.to_dict() == {"type": "categorical", "choices": ["balanced", None], "default": None}
    assert "default" not in no_default.to_dict()
    for param in (none_default, no_default):
        assert mh.space.param_from_dict(param.to_dict()) == param
        assert eval(repr(param), {"Categorical": mh.Categorical}) == param
    space = mh.Space({"class_weight": none_default})
    assert mh.Space.from_json(space.to_json()) == space != mh.Space({"class_weight": no_default})
    assert space.fingerprint() == mh.Space({"class_weight": no_default}).fingerprint()
    # None that is no choice is no default, as it always was.
    assert mh.Categorical(["a", "b"], default=None) == mh.Categorical(["a", "b"])
    assert "default" not in mh.Categorical(["a", "b"], default=None).to_dict()


def test_dataclasses_replace_keeps_a_categorical_without_a_default_without_one() -> None:
    no_default = mh.Categorical(["balanced", None])
    # replace() passes the "default" it reads, None, so default=None is no change either.
    for copy in (dataclasses.replace(no_default), dataclasses.replace(no_default, default=None)):
        assert copy == no_default and "default" not in copy.to_dict()
    assert "default" not in dataclasses.replace(no_default, ordered=True).to_dict()
    assert dataclasses.replace(no_default, default="balanced").to_dict()["default"] == "balanced"
    none_default = mh.Categorical(["balanced", None], default=None)
    assert dataclasses.replace(none_default) == none_default
    assert dataclasses.replace(none_default, default="balanced").default == "balanced"
    # The rule the constructor follows: a default of None that is no choice is no default.
    assert "default" not in dataclasses.replace(none_default, choices=["a", "b"]).to_dict()


def test_the_flag_replace_hands_back_is_no_positional_parameter() -> None:
    parameter = inspect.signature(mh.Categorical).parameters["_has_default"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        mh.Categorical(["a", None], False, None, False)  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(mh.Categorical)] == ["choices", "ordered", "default"]


@pytest.mark.parametrize(
    "choices",
    [{"b", "a"}, frozenset({"b", "a"}), {"a": 1, "b": 2}, {"a": 1, "b": 2}.keys(), iter(["a", "b"]),
     (c for c in "ab")],
    ids=["set", "frozenset", "dict", "dict-keys", "iterator", "generator"],
)
def test_categorical_refuses_choices_without_an_order_of_their_own(choices):
    # A set's order follows the hash seed: the space's fingerprint, and the configs a seed
    # draws, would change from one process to the next.
    described = re.escape(repr(choices)[:40])
    with pytest.raises(InvalidParameterError, match=r"The 'choices' parameter of Categorical must be a "
                       rf"list or tuple of JSON scalars.*sorted\(\.\.\.\).*Got {described}"):
        mh.Categorical(choices)
    with pytest.raises(InvalidParameterError, match=r"The 'values' parameter of In must be a list or tuple"):
        mh.In("x", choices)


def test_categorical_keeps_the_order_of_ordered_collections():
    import pandas as pd

    for choices in (["b", "a"], ("b", "a"), np.array(["b", "a"]), pd.Series(["b", "a"])):
        assert mh.Categorical(choices).choices == ("b", "a")
        assert mh.In("x", choices).values == ("b", "a")
    assert mh.Categorical(range(3)).choices == (0, 1, 2)
    with pytest.raises(InvalidParameterError, match=r"list or tuple of JSON scalars.*Got array\(1\) instead"):
        mh.Categorical(np.array(1))
