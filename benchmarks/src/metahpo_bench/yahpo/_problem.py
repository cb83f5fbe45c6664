"""YAHPO Gym surrogate benchmarks read directly with onnxruntime.

This reproduces ``yahpo_gym.BenchmarkSet.objective_function`` (yahpo-gym 1.0.2)
without depending on the package (its pins need numpy < 2):

* numeric inputs go in raw, in the scenario's ``cont_names`` order, cast to float32;
  the ONNX graph applies the log transforms and normalisation itself;
* categorical inputs (the task id first) go in as the integer codes of
  ``encoding.json``, int32;
* the space carries the scenario's conditions (rbv2_xgboost: the tree parameters are
  active for ``gbtree`` and ``dart``, ``rate_drop`` / ``skip_drop`` for ``dart``), so a
  config holds exactly its active parameters, as the benchmark's official
  configurations do; an inactive parameter is imputed as YAHPO does: 0 for a number,
  the code of ``"#na#"`` for a category;
* the outputs are already on their original scale (the graph de-normalises them);
  they are returned unclipped under YAHPO's target names.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Equals, In, Param, Space
from metahpo.testing.synthetic import Problem
from metahpo_bench.yahpo._data import YahpoDataError, find_data_dir, read_scenario
from metahpo_bench.yahpo._scenarios import SCENARIOS, Scenario

_MISSING_CATEGORY = "#na#"


class YahpoProblem(Problem):
    """A YAHPO Gym surrogate scenario as a metahpo :class:`~metahpo_bench.Problem`.

    The loss is the validation error rate, ``1 - accuracy`` (see :attr:`loss_name`);
    :meth:`evaluate_all` returns every target the surrogate predicts.

    Args:
        scenario: ``"lcbench"`` or ``"rbv2_xgboost"``.
        data_dir: The ``yahpo_data`` directory; defaults to ``$METAHPO_YAHPO_DATA``, then
            ``../shared/data/yahpo`` relative to the current directory or the project root.
        n_threads: Threads of the ONNX session (the models are small: 1 is usually fastest).

    Example:
        >>> from metahpo_bench import get_problem
        >>> problem = get_problem("lcbench")  # doctest: +SKIP
        >>> config = problem.space.sample(0, 1)[0]  # doctest: +SKIP
        >>> problem.evaluate("3945", config, budget=52)  # doctest: +SKIP
        0.01450874328613283
    """

    def __init__(
        self,
        scenario: str,
        data_dir: str | os.PathLike[str] | None = None,
        n_threads: int = 1,
    ) -> None:
        if scenario not in SCENARIOS:
            raise InvalidParameterError(
                f"The 'scenario' parameter of YahpoProblem must be one of {sorted(SCENARIOS)}. "
                f"Got {describe(scenario)} instead."
            )
        self.scenario: Scenario = SCENARIOS[scenario]
        self.n_threads = check_int(n_threads, "n_threads", "YahpoProblem", minimum=1)
        self.name = scenario
        self.data_dir = find_data_dir(data_dir)
        files = read_scenario(self.data_dir, scenario)
        self._check_files_match(files.params, files.encoding)
        instances = files.params[self.scenario.instance_name]
        if not isinstance(instances, Categorical):
            raise YahpoDataError(f"The instance parameter of {scenario!r} must be categorical.")
        self.tasks = tuple(str(choice) for choice in instances.choices)
        excluded = {self.scenario.instance_name, self.scenario.fidelity_name, *self.scenario.fixed}
        self.conditions = {
            k: Equals(c.parent, c.values[0]) if len(c.values) == 1 else In(c.parent, c.values)
            for k, c in files.conditions.items()
            if k not in excluded
        }
        self.space = Space(
            {k: p for k, p in files.params.items() if k not in excluded}, self.conditions
        )
        self.min_budget = self.scenario.min_budget
        self.max_budget = self.scenario.max_budget
        self.integer_budget = self.scenario.integer_budget
        self._encoding = files.encoding
        self._model_path = files.model_path
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def targets(self) -> list[str]:
        """The names of the surrogate's outputs, in YAHPO's order."""
        return list(self.scenario.y_names)

    @property
    def loss_name(self) -> str:
        """How the loss is made from the targets."""
        s = self.scenario
        scale = "" if s.accuracy_scale == 1.0 else f" / {s.accuracy_scale:g}"
        return f"1 - {s.accuracy_name}{scale}"

    # Evaluation -------------------------------------------------------------------------
    def evaluate_all(
        self, task: str, config: Mapping[str, Any], budget: float | None = None
    ) -> dict[str, float]:
        """Every target the surrogate predicts for ``config`` on ``task``, under YAHPO's names."""
        outputs = self.predict(task, [config], [budget])
        return {
            name: float(value)
            for name, value in zip(self.scenario.y_names, outputs[0], strict=True)
        }

    def evaluate_batch(
        self,
        task: str,
        configs: Sequence[Mapping[str, Any]],
        budgets: Sequence[float | None] | float | None = None,
    ) -> np.ndarray:
        """The losses of ``configs`` on ``task``, one budget per config (or one for all)."""
        return self._loss(self.predict(task, configs, budgets))

    def predict(
        self,
        task: str,
        configs: Sequence[Mapping[str, Any]],
        budgets: Sequence[float | None] | float | None = None,
    ) -> np.ndarray:
        """The raw surrogate outputs, an ``(n, len(targets))`` array in the order of :attr:`targets`."""
        clean, checked = self._check_batch(task, configs, budgets)
        fidelity = np.array(checked, dtype=np.float64)
        if not clean:
            return np.empty((0, len(self.scenario.y_names)))
        x_cont, x_cat = self._encode(task, clean, fidelity)
        session = self._get_session()
        inputs = session.get_inputs()
        output_name = session.get_outputs()[0].name
        # yahpo-gym feeds the inputs by position: x_cat first, x_cont second.
        outputs = session.run([output_name], {inputs[0].name: x_cat, inputs[1].name: x_cont})[0]
        return np.asarray(outputs, dtype=np.float64)

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        return float(self.evaluate_batch(task, [config], [budget])[0])

    def _loss(self, outputs: np.ndarray) -> np.ndarray:
        column = self.scenario.y_names.index(self.scenario.accuracy_name)
        return np.asarray(1.0 - outputs[:, column] / self.scenario.accuracy_scale)

    # Validation and encoding ------------------------------------------------------------
    def _check_budget(self, budget: float | None) -> float | None:
        checked = super()._check_budget(budget)
        if self.integer_budget and checked is not None and not float(checked).is_integer():
            raise InvalidParameterError(
                f"The 'budget' parameter of {self.name} must be a whole number of "
                f"{self.scenario.fidelity_name}s in [{self.min_budget:g}, {self.max_budget:g}]. "
                f"Got {describe(budget)} instead."
            )
        return checked

    def _encode(
        self, task: str, configs: list[dict[str, Any]], fidelity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        scenario = self.scenario
        n = len(configs)
        active_sets = [set(self.space.active_names(config)) for config in configs]
        active = {
            child: np.array([child in names for names in active_sets]) for child in self.conditions
        }
        x_cont = np.empty((n, len(scenario.cont_names)), dtype=np.float64)
        for j, name in enumerate(scenario.cont_names):
            if name == scenario.fidelity_name:
                x_cont[:, j] = fidelity
            elif name in scenario.fixed:
                x_cont[:, j] = scenario.fixed[name]
            else:
                column = np.array([config.get(name, 0.0) for config in configs], dtype=np.float64)
                x_cont[:, j] = np.where(active[name], column, 0.0) if name in active else column
        x_cat = np.empty((n, len(scenario.cat_names)), dtype=np.int64)
        for j, name in enumerate(scenario.cat_names):
            codes = self._encoding[name]
            if name == scenario.instance_name:
                x_cat[:, j] = codes[task]
                continue
            values = [
                codes[config[name]] if name not in active or a else codes[_MISSING_CATEGORY]
                for config, a in zip(
                    configs, active.get(name, np.ones(n, dtype=bool)), strict=True
                )
            ]
            x_cat[:, j] = values
        return x_cont.astype(np.float32), x_cat.astype(np.int32)

    def _check_files_match(
        self, params: Mapping[str, Param], encoding: dict[str, dict[str, int]]
    ) -> None:
        # The column lists come from yahpo-gym's code, the files from yahpo_data: make sure
        # they describe the same model before feeding it.
        scenario = self.scenario
        expected = set(scenario.cont_names) | set(scenario.cat_names)
        if set(params) != expected:
            raise YahpoDataError(
                f"The config space of {scenario.name!r} has the parameters {sorted(params)}; "
                f"the surrogate expects {sorted(expected)}. Is this yahpo_data v1.0.2?"
            )
        for name in scenario.cat_names:
            param = params[name]
            codes = encoding.get(name, {})
            choices = param.choices if isinstance(param, Categorical) else ()
            missing = [choice for choice in choices if choice not in codes]
            if not choices or missing:
                raise YahpoDataError(
                    f"encoding.json of {scenario.name!r} must give a code to every value of the "
                    f"categorical {name!r}; it misses {missing or 'all of them'}."
                )

    # The ONNX session -------------------------------------------------------------------
    def _get_session(self) -> Any:
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._make_session()
                session = self._session
        return session

    def _make_session(self) -> Any:
        try:
            import onnxruntime
        except ImportError as exc:
            raise ImportError(
                "The YAHPO Gym problems need onnxruntime: install the 'bench' extra "
                "(pip install 'metahpo-bench[peers]')."
            ) from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.n_threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(self._model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs, outputs = session.get_inputs(), session.get_outputs()
        widths = [len(self.scenario.cat_names), len(self.scenario.cont_names)]
        if [i.shape[-1] for i in inputs] != widths or outputs[0].shape[-1] != len(
            self.scenario.y_names
        ):
            raise YahpoDataError(
                f"The ONNX model {str(self._model_path)!r} takes inputs of widths "
                f"{[i.shape[-1] for i in inputs]} and returns {outputs[0].shape[-1]} outputs; "
                f"{self.scenario.name!r} needs {widths} and {len(self.scenario.y_names)}."
            )
        return session

    # The session is not picklable (Dask ships problems to workers): rebuild it there.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class LCBench(YahpoProblem):
    """LCBench (Zimmer et al., 2021) through YAHPO Gym: funnel MLPs on 34 OpenML datasets.

    Seven hyperparameters; the budget is the number of epochs, 1 to 52. The loss is
    ``1 - val_accuracy / 100`` (LCBench reports accuracy in percent).
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, n_threads: int = 1) -> None:
        super().__init__("lcbench", data_dir=data_dir, n_threads=n_threads)


class RBv2XGBoost(YahpoProblem):
    """rbv2_xgboost (Binder et al., 2020) through YAHPO Gym: XGBoost on 119 OpenML datasets.

    Fourteen hyperparameters; the booster-specific ones are conditional: a ``gblinear``
    config holds only the six it uses, as the benchmark's official configurations do
    (YAHPO imputes the rest). The budget is
    the training-set fraction ``trainsize``, 0.05 to 1; ``repl`` is fixed at 10. The
    loss is ``1 - acc``.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, n_threads: int = 1) -> None:
        super().__init__("rbv2_xgboost", data_dir=data_dir, n_threads=n_threads)
