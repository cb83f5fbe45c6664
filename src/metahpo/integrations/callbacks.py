"""Callbacks that report a training run's progress to a trial and stop it when told to.

Each reports the monitored value after every boosting round or epoch with
``trial.report(step, value)`` (step = rounds or epochs done) and, when the study's
scheduler says the trial should stop (``trial.should_stop()``), raises
:class:`~metahpo.exceptions.TrialPruned` so the study records a PRUNED trial. The
monitored value must be oriented like the study (a loss for ``direction="minimize"``).

* :func:`xgboost_callback` (the ``xgboost`` extra): an ``xgboost.callback.TrainingCallback``;
* :func:`lightgbm_callback` (the ``lightgbm`` extra): a ``lightgbm.train`` callback;
* :func:`report_step`: one call per epoch in a plain PyTorch loop (tensors accepted);
* :func:`lightning_callback` (the ``lightning`` extra): a PyTorch Lightning ``Callback``.
"""

from __future__ import annotations

from typing import Any

from metahpo.exceptions import InvalidParameterError, TrialPruned

__all__ = ["lightgbm_callback", "lightning_callback", "report_step", "xgboost_callback"]


def report_step(trial: Any, step: float, value: Any) -> None:
    """Report ``value`` (a number, numpy scalar or 0-d tensor) at ``step``; stop if told.

    Example:
        >>> import metahpo as mh
        >>> study = mh.create_study(space=mh.Space({"lr": mh.Float(1e-3, 1.0)}), seed=0,
        ...                         optimizer="random", scheduler=mh.ASHA(1, 9, 3))
        >>> def objective(trial):
        ...     loss = 1.0
        ...     for epoch in range(1, int(trial.budget) + 1):
        ...         loss *= 1 - trial.config["lr"] / 2   # one epoch of training
        ...         report_step(trial, epoch, loss)
        ...     return loss
        >>> study.optimize(objective, n_trials=4, show_progress=False)
    """
    trial.report(step, value)
    if trial.should_stop():
        raise TrialPruned(f"Trial {trial.number} stopped by the scheduler at step {step:g}.")


def _import(module: str, extra: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ImportError(
            f"This callback needs {module.split('.')[0]}: install the {extra!r} extra "
            f"(pip install 'metahpo[{extra}]')."
        ) from exc


def xgboost_callback(trial: Any, data_name: str = "validation_0", metric: str | None = None) -> Any:
    """An XGBoost ``TrainingCallback`` reporting ``evals_log[data_name][metric]`` each round.

    ``metric=None`` takes the last metric XGBoost evaluates (the one early stopping uses).
    Pass it in ``callbacks=`` of ``xgboost.train`` or of an XGBoost scikit-learn model.
    """
    xgb_callback = _import("xgboost.callback", "xgboost")

    class _MetahpoXGBoost(xgb_callback.TrainingCallback):  # type: ignore[name-defined]
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if data_name not in evals_log:
                raise InvalidParameterError(
                    f"The 'data_name' parameter of xgboost_callback must be one of the "
                    f"evaluation sets {list(evals_log)}. Got {data_name!r} instead."
                )
            metrics = evals_log[data_name]
            name = metric if metric is not None else list(metrics)[-1]
            if name not in metrics:
                raise InvalidParameterError(
                    f"The 'metric' parameter of xgboost_callback must be one of {list(metrics)}. "
                    f"Got {name!r} instead."
                )
            value = metrics[name][-1]
            report_step(trial, epoch + 1, float(value[0] if isinstance(value, tuple) else value))
            return False

    return _MetahpoXGBoost()


def lightgbm_callback(trial: Any, metric: str | None = None, valid_name: str | None = None) -> Any:
    """A ``lightgbm.train`` callback reporting a validation metric after each round.

    ``metric`` / ``valid_name`` default to the first metric of the first validation set.
    """
    _import("lightgbm", "lightgbm")

    def callback(env: Any) -> None:
        results = [r for r in env.evaluation_result_list if r[0] != "training"] or list(
            env.evaluation_result_list
        )
        if valid_name is not None:
            results = [r for r in results if r[0] == valid_name]
        if metric is not None:
            results = [r for r in results if r[1] == metric]
        if not results:
            names = [(r[0], r[1]) for r in env.evaluation_result_list]
            raise InvalidParameterError(
                f"lightgbm_callback found no metric {metric!r} on {valid_name!r}; LightGBM "
                f"evaluates {names}. Pass valid_sets= and the metric's name."
            )
        report_step(trial, env.iteration + 1, float(results[0][2]))

    callback.order = 30  # type: ignore[attr-defined]  # after LightGBM's own evaluation
    return callback


def lightning_callback(trial: Any, monitor: str = "val_loss") -> Any:
    """A PyTorch Lightning ``Callback`` reporting ``trainer.callback_metrics[monitor]`` per epoch.

    When the scheduler says stop, it asks the trainer to stop and raises
    :class:`~metahpo.exceptions.TrialPruned` once ``fit`` has wound down.
    """
    pl = _import("pytorch_lightning", "lightning")

    class _MetahpoLightning(pl.Callback):  # type: ignore[name-defined]
        def __init__(self) -> None:
            self.stopped_at: int | None = None

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.sanity_checking:
                return
            if monitor not in trainer.callback_metrics:
                raise InvalidParameterError(
                    f"The 'monitor' parameter of lightning_callback must be a logged metric "
                    f"{sorted(trainer.callback_metrics)}. Got {monitor!r} instead."
                )
            epoch = trainer.current_epoch + 1
            try:
                report_step(trial, epoch, trainer.callback_metrics[monitor].detach().cpu())
            except TrialPruned:
                self.stopped_at = epoch
                trainer.should_stop = True

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            if self.stopped_at is not None:
                raise TrialPruned(f"Trial {trial.number} stopped by the scheduler at epoch {self.stopped_at}.")

    return _MetahpoLightning()
