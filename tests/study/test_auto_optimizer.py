"""``metahpo.study.auto_optimizer``: the one rule ``"auto"`` follows, in ``create_study`` and
the Optuna sampler (tests/integrations/test_optuna_sampler_auto.py), with its input checked."""

from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.study import auto_optimizer

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


def test_it_is_what_create_study_chooses_and_stores() -> None:
    space = mh.presets.get("hgb-regressor").space
    kb = mh.KnowledgeBase.open(["bundled:hgb-classifier", "bundled:hgb-regressor"])
    optimizer, choice = auto_optimizer(kb, space, "regression")
    study = mh.create_study(space=space, knowledge=kb.spec, task=mh.Task("mine", kind="regression"), seed=0)
    assert optimizer.name == study.optimizer.name == "metabo"
    assert choice == study.user_attrs["optimizer_choice"]
    assert "of another kind of problem than this regression study left out" in choice["reason"]
    # Knowledge opened from a spec is recorded with a GP-BO choice: a study's end learns into it.
    optimizer, choice = auto_optimizer(mh.KnowledgeBase.open("bundled:hgb-classifier"), space, "regression")
    assert optimizer.name == "gpbo" and choice["knowledge"] == "bundled:hgb-classifier"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bundled:hgb-classifier", SPACE, None),
         r"The 'knowledge' parameter of auto_optimizer must be a KnowledgeBase .*Got 'bundled:hgb-classifier'"),
        ((mh.KnowledgeBase(), {"x": mh.Float(0.0, 1.0)}, None),
         r"The 'space' parameter of auto_optimizer must be a metahpo Space\. Got "),
        ((mh.KnowledgeBase(), SPACE, "regresion"),
         r"The 'task_type' parameter of auto_optimizer must be 'classification', 'regression' or None\. "
         r"Got 'regresion' instead"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter(args: tuple, message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        auto_optimizer(*args)
