from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.optimizers import make_optimizer, optimizer_names


def test_every_name_builds_its_optimizer():
    for name in optimizer_names():
        assert make_optimizer(name).name in {name, "gpbo"}  # "auto" without knowledge is GP-BO


@pytest.mark.parametrize("bad", ["gpbo[acquisition=lcb]", "metabo[inner_steps=0]", "nope"])
def test_only_plain_names_are_accepted(bad):
    # Ablations ("name[key=value]") are the benchmark runner's business, not the core's.
    with pytest.raises(mh.InvalidParameterError, match="'optimizer' parameter must be one of"):
        make_optimizer(bad)


def test_a_class_instead_of_an_instance_is_refused_naming_the_instance_to_pass():
    with pytest.raises(mh.InvalidParameterError, match=r"Got the class GPBO instead; pass an instance, GPBO\(\)"):
        mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer=mh.GPBO)


def test_a_stored_spec_from_an_earlier_version_opens_without_removed_options(caplog):
    spec = {"name": "gpbo", "params": {"acquisition": "lcb", "noise_prior": "lognormal"}, "state": {}}
    optimizer = make_optimizer(spec)
    assert isinstance(optimizer, mh.GPBO) and optimizer.acquisition == "lcb"
    assert "noise_prior" in caplog.text
