from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.optimizers import make_optimizer
from metahpo.optimizers._registry import parse_optimizer_name


def test_names_with_parameters_build_ablations():
    assert parse_optimizer_name("metabo[inner_steps=0;n_warm_start=0]") == (
        "metabo", {"inner_steps": 0, "n_warm_start": 0}
    )
    assert parse_optimizer_name("gpbo") == ("gpbo", {})
    optimizer = make_optimizer("gpbo[acquisition=lcb;beta=1.5]")
    assert isinstance(optimizer, mh.GPBO) and optimizer.acquisition == "lcb" and optimizer.beta == 1.5


@pytest.mark.parametrize("bad", ["metabo[inner_steps]", "metabo[=3]"])
def test_malformed_parameters_are_refused(bad):
    with pytest.raises(mh.InvalidParameterError, match="name\\[key=value"):
        make_optimizer(bad)


def test_unknown_parameter_names_the_optimizer():
    with pytest.raises(mh.InvalidParameterError, match=r"GPBO does not take.*no_such"):
        make_optimizer("gpbo[no_such=1]")
