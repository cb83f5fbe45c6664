"""The training callbacks report every round or epoch and stop when the scheduler says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metahpo as mh
from metahpo.exceptions import TrialPruned
from metahpo.integrations.callbacks import (
    lightgbm_callback,
    lightning_callback,
    report_step,
    xgboost_callback,
)


class FakeTrial:
    """Says stop after ``stop_after`` reports."""

    number = 0

    def __init__(self, stop_after: int = 10**9) -> None:
        self.reports: list[tuple[float, float]] = []
        self.stop_after = stop_after

    def report(self, step: float, value: object) -> None:
        self.reports.append((step, float(value)))  # type: ignore[arg-type]

    def should_stop(self) -> bool:
        return len(self.reports) >= self.stop_after


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    return X, (X[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)


def test_xgboost_reports_each_round_and_stops() -> None:
    xgb = pytest.importorskip("xgboost")
    X, y = _data()
    dtrain, dvalid = xgb.DMatrix(X[:150], y[:150]), xgb.DMatrix(X[150:], y[150:])
    trial = FakeTrial()
    xgb.train({"objective": "binary:logistic", "eval_metric": "logloss"}, dtrain, 5,
              evals=[(dvalid, "valid")], callbacks=[xgboost_callback(trial, "valid")])
    assert [s for s, _ in trial.reports] == [1, 2, 3, 4, 5]
    with pytest.raises(TrialPruned):
        xgb.train({"objective": "binary:logistic"}, dtrain, 50, evals=[(dvalid, "valid")],
                  callbacks=[xgboost_callback(FakeTrial(stop_after=3), "valid")])
    with pytest.raises(mh.InvalidParameterError, match="evaluation sets"):
        xgb.train({}, dtrain, 2, evals=[(dvalid, "valid")], callbacks=[xgboost_callback(trial, "nope")])


def test_lightgbm_reports_each_round_and_stops() -> None:
    lgb = pytest.importorskip("lightgbm")
    X, y = _data()
    train, valid = lgb.Dataset(X[:150], y[:150]), lgb.Dataset(X[150:], y[150:])
    params = {"objective": "binary", "verbose": -1, "metric": "binary_logloss"}
    trial = FakeTrial()
    lgb.train(params, train, 4, valid_sets=[valid], callbacks=[lightgbm_callback(trial)])
    assert [s for s, _ in trial.reports] == [1, 2, 3, 4]
    with pytest.raises(TrialPruned):
        lgb.train(params, train, 50, valid_sets=[valid], callbacks=[lightgbm_callback(FakeTrial(2))])


def test_plain_torch_loop_with_a_real_study() -> None:
    space = mh.Space({"lr": mh.Float(1e-3, 0.5, log=True)})
    study = mh.create_study(space=space, optimizer="random", seed=0, scheduler=mh.ASHA(1, 9, 3))

    def objective(trial: mh.TrialHandle) -> torch.Tensor:
        w = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=trial.config["lr"])
        loss = torch.tensor(0.0)
        for epoch in range(1, int(trial.budget) + 1):  # type: ignore[arg-type]
            optimizer.zero_grad()
            loss = ((w - 3.0) ** 2).sum()
            loss.backward()
            optimizer.step()
            report_step(trial, epoch, loss.detach())
        return loss.detach()

    study.optimize(objective, n_trials=8, show_progress=False)
    assert {t.state for t in study.trials} <= {mh.TrialState.COMPLETE, mh.TrialState.PRUNED}
    assert all(t.intermediate for t in study.trials)
    with pytest.raises(TrialPruned):
        report_step(FakeTrial(stop_after=1), 1, torch.tensor(0.5))


def test_lightning_reports_each_epoch_and_stops() -> None:
    pl = pytest.importorskip("pytorch_lightning")

    class Model(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):  # type: ignore[no-untyped-def]
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

        def validation_step(self, batch, _):  # type: ignore[no-untyped-def]
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y))

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=0.1)

    X = torch.randn(64, 4)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, X[:, 0]), batch_size=32)
    options = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
               "enable_model_summary": False, "accelerator": "cpu", "num_sanity_val_steps": 0}
    trial = FakeTrial()
    pl.Trainer(max_epochs=3, callbacks=[lightning_callback(trial)], **options).fit(Model(), data, data)
    assert [s for s, _ in trial.reports] == [1, 2, 3]
    stopping = FakeTrial(stop_after=2)
    with pytest.raises(TrialPruned):
        pl.Trainer(max_epochs=10, callbacks=[lightning_callback(stopping)], **options).fit(Model(), data, data)
    assert len(stopping.reports) == 2
