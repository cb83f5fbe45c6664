"""NumPy values in conditions, equality as JSON sees it, and the unit-cube inputs' checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.exceptions import InvalidParameterError


def _conditional() -> mh.Space:
    return mh.Space(
        {"layers": mh.Int(1, 8), "lr": mh.Float(0, 1), "use": mh.Categorical([True, False]),
         "w": mh.Float(0, 1)},
        conditions={"lr": mh.Range("layers", low=4), "w": mh.Equals("use", True)},
    )


def test_numpy_parents_make_their_children_active_as_python_values_do():
    space = _conditional()
    plain = {"layers": 5, "lr": 0.3, "use": True, "w": 0.2}
    numpy = {"layers": np.int64(5), "lr": 0.3, "use": np.True_, "w": np.float32(0.25)}
    assert space.validate(numpy)["layers"] == 5
    assert space.active_names(numpy) == space.active_names(plain) == ["layers", "lr", "use", "w"]
    assert space.to_unit([numpy])[0, 1] == pytest.approx(0.3)  # lr encoded, not left inactive


def test_numpy_values_in_a_condition_are_stored_as_python_values():
    space = mh.Space({"n": mh.Int(0, 5), "x": mh.Float(0, 1)},
                     conditions={"x": mh.In("n", np.array([1, 2]))})
    assert mh.Space.from_json(space.to_json()) == space
    assert mh.Equals("n", np.int64(2)).to_dict()["value"] == 2
    assert mh.Range("n", low=np.int64(1)).low == 1
    with pytest.raises(InvalidParameterError, match=r"'value' parameter of Equals.*Got \[1\]"):
        mh.Equals("n", [1])


@pytest.mark.parametrize(
    "condition, unknown",
    [({"type": "range", "parent": "n", "low": 3, "hgh": 5}, "hgh"),
     ({"type": "in", "parent": "n", "values": [1], "value": 2}, "value")],
)
def test_a_misspelt_condition_key_is_refused(condition, unknown):
    data = {"n": {"type": "int", "low": 0, "high": 10},
            "y": {"type": "float", "low": 0, "high": 1, "condition": condition}}
    with pytest.raises(InvalidParameterError, match=rf"unknown key\(s\) \['{unknown}'\]"):
        mh.Space.from_dict(data)


def test_spaces_and_choices_are_equal_only_when_their_json_is():
    ints = mh.Space({"c": mh.Categorical([1, 0])})
    bools = mh.Space({"c": mh.Categorical([True, False])})
    assert ints != bools and len({ints, bools}) == 2
    assert mh.Categorical([1, 0]) != mh.Categorical([True, False])
    assert len({mh.Categorical([1, 0]), mh.Categorical([1, 0])}) == 1
    reordered = mh.Space({"b": mh.Int(1, 3), "a": mh.Float(0, 1)})
    assert mh.Space({"a": mh.Float(0, 1), "b": mh.Int(1, 3)}) == reordered


def test_unit_cube_inputs_are_checked_naming_the_parameter():
    space = mh.Space({"n": mh.Int(1, 10), "x": mh.Float(0, 1)})
    with pytest.raises(InvalidParameterError, match=r"'configs'.*pass \[config\]"):
        space.to_unit({"n": 5, "x": 0.5})
    with pytest.raises(InvalidParameterError, match=r"'n' in configs\[0\].*Got 5.5"):
        space.to_unit([{"n": 5.5, "x": 0.1}])
    assert space.to_unit([{"n": 5.0, "x": 0.1}])[0, 0] == space.to_unit([{"n": 5, "x": 0.1}])[0, 0]
    with pytest.raises(InvalidParameterError, match=r"'rng' parameter of Space.sample.*Got -1"):
        space.sample(-1, 1)
    with pytest.raises(InvalidParameterError, match=r"'seed' parameter of Space.sobol.*Got 'a'"):
        space.sobol(2, seed="a")


def test_numpy_choices_are_stored_as_python_values():
    choice = mh.Categorical(np.array([16, 32, 64]), default=np.int64(32))
    assert choice.choices == (16, 32, 64) and type(choice.choices[0]) is int
    assert type(choice.default) is int
    space = mh.Space({"width": choice})
    assert mh.Space.from_json(space.to_json()) == space


def test_neighbouring_integers_of_a_wide_range_are_different_configs():
    space = mh.Space({"seed": mh.Int(0, 2**53), "x": mh.Float(0, 1), "c": mh.Categorical(list(range(3000)))})
    for n in (10**12, 2**53 - 1):
        keys = space.config_keys([{"seed": n, "x": 0.5, "c": 7}, {"seed": n + 1, "x": 0.5, "c": 7}])
        assert keys[0] != keys[1]
    assert space.config_key({"seed": 10**12, "x": 0.5, "c": 7}) != space.config_key({"seed": 10**12, "x": 0.5, "c": 8})
    # The same config given another way keeps its identity: an integral float, a float
    # within rounding of the key's resolution.
    assert space.config_key({"seed": 5.0, "x": 0.5, "c": 7}) == space.config_key({"seed": 5, "x": 0.5 + 1e-12, "c": 7})


def test_an_inactive_parameter_has_no_part_in_identity():
    space = mh.Space({"on": mh.Categorical([True, False]), "n": mh.Int(0, 2**40)},
                     conditions={"n": mh.Equals("on", True)})
    assert space.config_key({"on": False}) == (0.75, None)  # the categorical cell of False
    assert space.config_key({"on": True, "n": 2**39}) != space.config_key({"on": True, "n": 2**39 + 1})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([(0, 2**53), (-(2**53), 0), (-(2**52), 2**52), (1, 2**50 + 3)]), st.data())
def test_wide_ints_round_trip_exactly(bounds, data):
    low, high = bounds
    space = mh.Space({"n": mh.Int(low, high)})
    value = data.draw(st.one_of(st.integers(low, high), st.sampled_from([low, low + 1, high - 1, high])))
    unit = space.to_unit([{"n": value}])
    assert 0.0 <= unit[0, 0] <= 1.0
    assert space.from_unit(unit) == [{"n": value}]
