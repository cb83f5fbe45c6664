"""Every backend refuses a config outside the study's space, conditions included."""

from __future__ import annotations

from pathlib import Path

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import SQLStorage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "memory":
        return mh.InMemoryStorage()
    return SQLStorage(f"sqlite:///{tmp_path / 'db.sqlite'}")


SPACE = mh.Space(
    {"booster": mh.Categorical(["linear", "tree"]), "depth": mh.Int(1, 8)},
    {"depth": mh.Equals("booster", "tree")},
)


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"booster": "tree"}, "missing the keys"),
        ({"booster": "linear", "depth": 3}, "inactive keys"),
        ({"booster": "tree", "depth": 9}, "'depth'"),
        ({"booster": "forest"}, "'booster'"),
        ({"booster": "linear", "other": 1}, "unknown keys"),
    ],
)
def test_create_trial_and_set_config_refuse_bad_configs(storage: object, config: dict, match: str) -> None:
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0)
    with pytest.raises(InvalidParameterError, match=match):
        study.storage.create_trial(study.study_id, config=config)
    record = study.storage.create_trial(study.study_id)
    with pytest.raises(InvalidParameterError, match=match):
        study.storage.set_trial_config(study.study_id, record.number, config)
    study.storage.finish_trial(study.study_id, record.number, mh.TrialState.FAILED)
    # The study is not broken: the next asks work.
    study.optimize(lambda t: 1.0, n_trials=3, show_progress=False)
    assert [t.state for t in study.trials][-3:] == [mh.TrialState.COMPLETE] * 3


def test_valid_configs_are_stored_natively(storage: object) -> None:
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0)
    trial = study.storage.create_trial(study.study_id, config={"booster": "tree", "depth": 3})
    assert dict(trial.config) == {"booster": "tree", "depth": 3}
