"""What the YAHPO Gym surrogates expect and predict, scenario by scenario.

The column orders are yahpo-gym 1.0.2's (``yahpo_gym/benchmarks/lcbench.py`` and
``rbv2.py``): the surrogate takes ``x_cont``, the raw numeric values in
``cont_names`` order as float32, and ``x_cat``, the integer codes of
``encoding.json`` in ``cat_names`` order as int32; it returns ``y_names`` in order.
Log scaling, normalisation and the de-normalisation of the outputs happen inside
the ONNX graph, so the package (and this loader) feeds raw values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    """One YAHPO scenario: its input columns, outputs, fidelity and loss.

    The loss is ``1 - outputs[accuracy_name] / accuracy_scale``: the validation error rate.
    """

    name: str
    cont_names: tuple[str, ...]
    cat_names: tuple[str, ...]
    y_names: tuple[str, ...]
    instance_name: str
    fidelity_name: str
    min_budget: float
    max_budget: float
    integer_budget: bool
    accuracy_name: str
    accuracy_scale: float
    # Inputs held constant (not searched, not a budget): name -> value.
    fixed: dict[str, float] = field(default_factory=dict)


LCBENCH = Scenario(
    name="lcbench",
    cont_names=(
        "epoch",
        "batch_size",
        "learning_rate",
        "momentum",
        "weight_decay",
        "num_layers",
        "max_units",
        "max_dropout",
    ),
    cat_names=("OpenML_task_id",),
    y_names=(
        "time",
        "val_accuracy",
        "val_cross_entropy",
        "val_balanced_accuracy",
        "test_cross_entropy",
        "test_balanced_accuracy",
    ),
    instance_name="OpenML_task_id",
    fidelity_name="epoch",
    min_budget=1.0,
    max_budget=52.0,
    integer_budget=True,
    # LCBench reports val_accuracy in percent (0-100).
    accuracy_name="val_accuracy",
    accuracy_scale=100.0,
)

RBV2_XGBOOST = Scenario(
    name="rbv2_xgboost",
    cont_names=(
        "nrounds",
        "eta",
        "gamma",
        "lambda",
        "alpha",
        "subsample",
        "max_depth",
        "min_child_weight",
        "colsample_bytree",
        "colsample_bylevel",
        "rate_drop",
        "skip_drop",
        "trainsize",
        "repl",
    ),
    cat_names=("task_id", "booster", "num.impute.selected.cpo"),
    y_names=("acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict", "memory"),
    instance_name="task_id",
    fidelity_name="trainsize",
    # The surrogate's space allows trainsize down to 0.03; the data fractions commonly
    # benchmarked (multiples of 0.05, as in Syne Tune's YAHPO import) start at 0.05.
    min_budget=0.05,
    max_budget=1.0,
    integer_budget=False,
    accuracy_name="acc",
    accuracy_scale=1.0,
    # repl is the resampling replication (1-10), YAHPO's second fidelity; fixed at its
    # maximum as Syne Tune and carps do, so trainsize is the only budget.
    fixed={"repl": 10.0},
)

SCENARIOS = {scenario.name: scenario for scenario in (LCBENCH, RBV2_XGBOOST)}
