"""The figures: what each draws from a stored study, and the errors for bad arguments."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.visualization import (
    KINDS,
    param_importances,
    plot,
    plot_brackets,
    plot_contour,
    plot_knowledge_map,
    plot_learning_curves,
    plot_optimization_history,
    plot_param_importances,
    plot_studies,
    plot_why,
    read_study,
    write_figure,
)


def test_history_colours_trials_by_source(drawn_storage):
    fig = plot_optimization_history("finished-hb", drawn_storage)
    names = {trace.name for trace in fig.data}
    assert {"random", "promotion", "best so far"} <= names
    promoted = next(t for t in fig.data if t.name == "promotion")
    data = read_study("finished-hb", drawn_storage)
    assert sorted(promoted.x) == sorted(t.number for t in data.complete() if t.parent is not None)
    best = next(t for t in fig.data if t.name == "best so far")
    assert best.y[-1] == pytest.approx(data.best().value)
    assert np.all(np.diff(best.y) <= 0)


def test_portfolio_trials_are_marked(drawn_storage):
    names = {trace.name for trace in plot_optimization_history("warm", drawn_storage).data}
    assert "portfolio" in names and "surrogate" in names


def test_every_kind_draws(drawn_storage):
    for kind in KINDS:
        others = ["past-1"] if kind == "compare" else ()
        fig = plot("warm" if kind == "why" else "finished-hb", kind, drawn_storage, others=others)
        assert len(fig.data) >= 1, kind


def test_unknown_kind_is_refused_in_sklearn_form(drawn_storage):
    with pytest.raises(InvalidParameterError, match=r"The 'kind' parameter of plot \(`metahpo plot KIND`\) must be one of \[.*'history'.*\]\. Got 'pie' instead\."):
        plot("finished-hb", "pie", drawn_storage)


def test_a_conditional_space_draws_every_kind_with_its_inactive_trials_marked():
    space = mh.Space(
        {"model": mh.Categorical(["svm", "rf"]), "C": mh.Float(1e-3, 10.0, log=True), "depth": mh.Int(1, 10),
         "lr": mh.Float(0.0, 1.0)},
        conditions={"C": mh.Equals("model", "svm"), "depth": mh.Equals("model", "rf")},
    )
    study = mh.create_study(name="conditional", space=space, optimizer="random", seed=1)
    study.optimize(lambda t: (t.config.get("C") or t.config.get("depth")) + t.config["lr"], n_trials=12,
                   show_progress=False)
    for kind in KINDS:
        if kind not in ("compare", "why", "knowledge-map"):
            figure = plot(study, kind)  # none fails on inactive parameters
            # The contour's default pair is the first two numeric parameters active together.
            assert kind not in ("parallel", "slice", "contour", "importance") or len(figure.data) >= 1, kind
    axes = {d["label"]: d for d in plot(study, "parallel").data[0].dimensions}
    inactive_c = sum(t.config.get("C") is None for t in study.trials)
    assert 0 < inactive_c < 12 and axes["C"]["ticktext"][0] == "inactive"
    assert sum(v == axes["C"]["tickvals"][0] for v in axes["C"]["values"]) == inactive_c
    # C and depth are never active together: no trial to interpolate, and the figure says why.
    contour = plot(study, "contour", params=["C", "depth"])
    assert "both C and depth active" in contour.layout.annotations[0].text


def _one_numeric_study() -> mh.Study:
    space = mh.Space({"x": mh.Float(0.0, 1.0), "act": mh.Categorical(["relu", "tanh"])})
    study = mh.create_study(name="one-numeric", space=space, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
    return study


def test_a_contour_of_one_numeric_parameter_says_why_and_points_to_the_slice_plot():
    with pytest.raises(InvalidParameterError, match=re.escape(
            "A contour needs two numeric (float or int) parameters; study 'one-numeric' has only ['x'], "
            "among its parameters ['x', 'act']. Its slice plot shows one parameter: plot_slice(study)")):
        plot_contour(_one_numeric_study())


def test_contour_params_choose_the_axes_and_bad_names_list_the_parameters(drawn_storage):
    fig = plot("finished-hb", "contour", drawn_storage, params=["depth", "lr"])
    assert fig.layout.xaxis.title.text == "depth" and fig.layout.yaxis.title.text == "lr"
    assert fig.layout.yaxis.type == "log"
    listed = "among ['x', 'lr', 'depth'] (its parameters: ['x', 'lr', 'depth', 'kind'])"
    for params, reason in [(["x", "nope"], "'nope' is not a parameter of the study"),
                           (["x", "kind"], "'kind' is categorical"),
                           (["x", "x"], "the two are the same"),
                           (["x"], None)]:
        with pytest.raises(InvalidParameterError, match=re.escape(listed)) as caught:
            plot_contour("finished-hb", drawn_storage, params=params)
        assert f"Got {params!r}" in str(caught.value)
        assert reason is None or f"({reason}) instead." in str(caught.value)
    with pytest.raises(InvalidParameterError) as twice:
        plot_contour("finished-hb", drawn_storage, params=["kind", "kind"])
    assert str(twice.value).count("'kind' is categorical") == 1
    with pytest.raises(InvalidParameterError):  # not a name at all
        plot_contour("finished-hb", drawn_storage, params=[["x"], "lr"])
    with pytest.raises(InvalidParameterError, match=r"'params' parameter of plot .* is for a 'contour' figure only"):
        plot("finished-hb", "slice", drawn_storage, params=["x", "lr"])


@pytest.mark.parametrize(("option", "value", "only"), [("trial", 0, "why"), ("others", ["finished-hb"], "compare")])
def test_an_option_of_another_figure_is_refused(drawn_storage, option, value, only):
    # Drawing the history while the user asked about trial 0 would hide the mistake.
    with pytest.raises(InvalidParameterError, match=f"'{option}' parameter of plot .* is for a '{only}' figure only"):
        plot("finished-hb", "history", drawn_storage, **{option: value})


def test_brackets_draw_each_promotion(drawn_storage):
    fig = plot_brackets("finished-hb", drawn_storage)
    data = read_study("finished-hb", drawn_storage)
    promotions = sum(1 for t in data.trials if t.parent is not None)
    segments = sum(sum(1 for v in trace.x if v is None) for trace in fig.data if trace.name == "promotion")
    assert promotions > 0 and segments == promotions
    assert len({t.bracket for t in data.trials}) == sum(1 for a in fig.layout.annotations if "bracket" in a.text)


def test_importance_finds_the_parameter_that_matters():
    space = mh.Space({"x": mh.Float(0, 1), "y": mh.Float(0, 1), "z": mh.Float(0, 1)})
    study = mh.create_study(space=space, optimizer="random", seed=0)
    study.optimize(lambda t: 10 * t.config["y"] + 0.01 * t.config["x"], n_trials=40, show_progress=False)
    importances = param_importances(study)
    assert set(importances) == {"x", "y", "z"}
    assert sum(importances.values()) == pytest.approx(1.0)
    assert importances["y"] > 0.9


def test_importance_of_a_constant_objective_is_none_not_equal_shares():
    space = mh.Space({"x": mh.Float(0, 1), "y": mh.Float(0, 1)})
    study = mh.create_study(space=space, optimizer="random", seed=0)
    study.optimize(lambda t: 0.25, n_trials=8, show_progress=False)
    assert param_importances(study) == {"x": 0.0, "y": 0.0}
    fig = plot_param_importances(study)
    assert not fig.data and "No parameter explains the values" in fig.layout.annotations[0].text


def test_compare_keeps_best_so_far(drawn_storage):
    fig = plot_studies(["finished-hb", "past-1"], drawn_storage, x="budget")
    assert [t.name for t in fig.data] == ["finished-hb", "past-1"]
    for trace in fig.data:
        assert np.all(np.diff(trace.y) <= 0) and np.all(np.diff(trace.x) > 0)
    with pytest.raises(InvalidParameterError, match="The 'x' parameter of plot_studies"):
        plot_studies(["past-1"], drawn_storage, x="time")


def test_why_shows_similar_tasks_and_their_weights(drawn_storage):
    fig = plot_why("warm", drawn_storage)
    assert "suggested by surrogate" in fig.layout.title.text
    assert dict(zip(fig.data[0].y, fig.data[0].x, strict=True)) == {"past-1": 0.7, "finished-hb": 0.3}
    with pytest.raises(InvalidParameterError, match="The 'trial' parameter of plot_why"):
        plot_why("warm", drawn_storage, trial=99)


def test_knowledge_map_places_the_study(drawn_storage):
    fig = plot("running", "knowledge-map", drawn_storage)
    placed = [name for trace in fig.data if trace.text is not None for name in trace.text]
    assert {"finished-hb", "past-1", "past-2", "warm", "running"} <= set(placed)
    assert any(trace.name == "this study (running)" for trace in fig.data)


def test_knowledge_map_of_a_preset_study_shows_the_bundle_it_learns_from(tmp_path, monkeypatch):
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path / "home"))
    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = mh.create_study(name="lr", storage=url, preset="logistic-regression", seed=0)
    for value in (0.3, 0.2, 0.25):
        study.tell(study.ask(), value)
    bundle = {task.name for task in mh.presets.get("logistic-regression").knowledge()}
    fig = plot("lr", "knowledge-map", url)
    placed = {name for trace in fig.data if trace.text is not None for name in trace.text}
    assert bundle <= placed and "lr" in placed
    # Without a study, the map is the storage's own tasks: no bundle task among them.
    alone = plot_knowledge_map(storage=url)
    assert not bundle & {name for trace in alone.data if trace.text is not None for name in trace.text}


def test_write_figure_html_and_refuses_other_formats(drawn_storage, tmp_path):
    fig = plot("finished-hb", "history", drawn_storage)
    out = write_figure(fig, tmp_path / "h.html")
    text = out.read_text()
    assert "Optimization history of finished-hb" in text and "cdn.plot.ly" not in text.split("<body>")[0]
    with pytest.raises(InvalidParameterError, match=r"must end in one of \['.html', '.png'\]"):
        write_figure(fig, tmp_path / "h.svg")
    # A directory named like a figure: IsADirectoryError was a traceback from `metahpo plot`.
    for name in ("d.html", "d.png"):
        (tmp_path / name).mkdir()
        with pytest.raises(InvalidParameterError, match=r"must be a file. Got .*, which is a directory"):
            write_figure(fig, tmp_path / name)


class _FlakyFigure:
    """A figure whose PNG rendering fails the first ``failures`` times, as Kaleido's page
    sometimes does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def write_html(self, path, **kwargs):
        raise AssertionError("a PNG is asked for")

    def write_image(self, path, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            from kaleido.errors import JavascriptError

            raise JavascriptError(-32000, "ReferenceError: kaleido_scopes is not defined")
        Path(path).write_bytes(b"png")


def test_png_export_tries_a_second_time_then_says_what_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/usr/bin/true")  # never started: the figure is a stand-in
    once = _FlakyFigure(failures=1)
    assert write_figure(once, tmp_path / "a.png").read_bytes() == b"png" and once.calls == 2
    with pytest.raises(MetahpoError, match="PNG export failed twice"):
        write_figure(_FlakyFigure(failures=2), tmp_path / "b.png")


def test_why_says_when_the_study_alone_shaped_a_suggestion(tmp_path):
    url = f"sqlite:///{tmp_path / 'why.db'}"
    study = mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}), storage=url,
                            optimizer="random", seed=0)
    attrs = [
        {"source": "surrogate", "model": "meta-learned", "similar_tasks": [["a", 0.6], ["b", 0.4]]},
        {"source": "surrogate", "model": "study GP", "loo_nll": {"meta-learned": -1.2, "study GP": -2.5},
         "similar_tasks": [["a", 0.6], ["b", 0.4]]},
    ]
    for why in attrs:
        trial = study.ask()
        study.storage.set_trial_user_attrs(study.study_id, trial.number, {"why": why})
        study.tell(trial, trial.config["x"])
    alone = plot_why("s", url, trial=1)
    assert not alone.data and "a GP on this study alone" in alone.layout.title.text
    assert "-2.5 against -1.2" in alone.layout.annotations[0].text
    default = plot_why("s", url)  # the latest trial the knowledge shaped
    assert default.layout.title.text.startswith("Why trial 0") and "(meta-learned)" in default.layout.title.text
    assert list(default.data[0].y) == ["b", "a"]


def test_importances_are_the_same_for_values_near_the_float_limit():
    space = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    studies = {}
    for scale in (1.0, 1e300, 1e308):
        study = mh.create_study(space=space, optimizer="random", seed=0)
        study.optimize(lambda t, s=scale: s * t.config["x"], n_trials=20, show_progress=False)
        studies[scale] = param_importances(study)
    assert studies[1.0]["x"] > 0.9
    for scale in (1e300, 1e308):
        assert studies[scale] == pytest.approx(studies[1.0], abs=1e-3)


def test_a_multi_fidelity_studys_best_is_the_studys_best_everywhere(tmp_path):
    from metahpo.visualization import plot_optimization_history, plot_studies, read_study

    url = f"sqlite:///{tmp_path / 'hb.db'}"
    study = mh.create_study(name="hb", space=mh.Space({"x": mh.Float(0, 1)}), storage=url, optimizer="random",
                            seed=0, scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    # Loss grows with the budget: a low-budget trial's loss is not comparable, however low.
    study.optimize(lambda t: t.config["x"] + t.budget / 10, n_trials=13, show_progress=False)
    assert read_study(study).best().number == study.best_trial.number
    line = plot_optimization_history(study).data[-1]
    assert line.name == "best so far" and line.y[-1] == pytest.approx(study.best_value)
    assert plot_studies([study]).data[0].y[-1] == pytest.approx(study.best_value)


def test_learning_curves_without_budgets_end_at_the_last_reported_step(tmp_path):
    # The final value of a trial without a budget was drawn at x = (number of reports + 1):
    # at step 4 after reports at steps 10, 20 and 30.
    study = mh.create_study(name="steps", space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
    reports = {10: 0.5, 20: 0.3, 30: 0.4}

    def objective(trial):
        if trial.number == 2:
            return 0.9  # reported nothing: no step to draw it at
        for step, value in reports.items():
            trial.report(step, value)
        return 0.4 if trial.number == 0 else 0.3  # the last report, or the best one

    study.optimize(objective, n_trials=3, show_progress=False)
    fig = plot_learning_curves(study)
    curves = {trace.name: trace for trace in fig.data if trace.name.startswith("config of trial")}
    assert sorted(curves) == ["config of trial 0", "config of trial 1"]
    last_report = curves["config of trial 0"]
    assert list(last_report.x) == [10, 20, 30] and list(last_report.y) == [0.5, 0.3, 0.4]
    best = curves["config of trial 1"]
    assert list(best.x) == [10, 20, 30, 30] and list(best.y) == [0.5, 0.3, 0.4, 0.3]
    assert list(best.marker.symbol) == ["circle", "circle", "circle", "diamond"]
    assert fig.layout.xaxis.title.text == "step" and fig.layout.xaxis.type == "linear"


def test_learning_curves_of_a_study_without_budgets_or_reports_say_why_they_are_empty():
    study = mh.create_study(name="plain", space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
    fig = plot_learning_curves(study)
    assert not fig.data and "reported an intermediate value" in fig.layout.annotations[0].text


def test_why_defaults_to_the_latest_trial_the_knowledge_shaped_a_portfolio_trial_included(tmp_path):
    url = f"sqlite:///{tmp_path / 'why.db'}"
    study = mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}), storage=url,
                            optimizer="random", seed=0)
    portfolio = {"source": "portfolio", "rank": 2, "tasks": ["t1", "t2"], "n_tasks": 12, "chosen_among": 20}
    attrs = [
        {"source": "surrogate", "model": "meta-learned", "similar_tasks": [["a", 0.6], ["b", 0.4]]},
        portfolio,
        {"source": "random"},
        {"source": "surrogate", "model": "study GP", "similar_tasks": [["a", 0.6], ["b", 0.4]]},
    ]
    for why in attrs:
        trial = study.ask()
        study.storage.set_trial_user_attrs(study.study_id, trial.number, {"why": why})
        study.tell(trial, trial.config["x"])
    for fig in (plot_why("s", url), plot_why("s", url, trial=1)):
        title = fig.layout.title.text
        assert title.startswith("Why trial 1 of s: suggested by portfolio (config 3 of the portfolio)"), title
        table = fig.data[0]
        assert table.type == "table" and "among the 20 tasks" in table.header.values[1]
        assert [list(column) for column in table.cells.values] == [["1", "2", ""], ["t1", "t2", "and 10 more"]]


def test_why_of_a_portfolio_study_names_the_tasks_each_config_was_chosen_for(drawn_storage):
    data = read_study("warm", drawn_storage)
    first = data.trials[0].user_attrs["why"]
    assert first["source"] == "portfolio" and first["tasks"]
    fig = plot_why("warm", drawn_storage, trial=0)
    assert list(fig.data[0].cells.values[1])[: len(first["tasks"])] == first["tasks"]


def _learning_curves_of_promotions(count_steps: str) -> dict[str, list[float | None]]:
    """The x of each configuration's curve when promotions count their steps ``count_steps``."""
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0,
                            scheduler=mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3))

    def objective(trial):
        done = int(trial.parent_budget or 0)  # the epochs the parent's checkpoint holds
        epochs = range(done + 1, int(trial.budget) + 1)
        for epoch in epochs:
            step = {"on": epoch, "from 1": epoch - done, "from scratch": epoch}[count_steps]
            if count_steps == "from scratch" and epoch == done + 1:
                for early in range(1, done + 1):  # the parent's epochs trained again
                    trial.report(early, trial.config["x"] + 1 / early)
            trial.report(step, trial.config["x"] + 1 / epoch)
        return trial.config["x"] + 1 / trial.budget

    study.optimize(objective, n_trials=13, show_progress=False)
    assert sum(1 for t in study.trials if t.parent is not None) == 4
    fig = plot_learning_curves(study)
    return {trace.name: list(trace.x) for trace in fig.data if trace.name.startswith("config of trial")}


def test_a_promotion_that_counts_its_steps_from_1_again_moves_forward_on_the_x_axis():
    # Such a promotion's curve went back to step 1, joined to its parent's at its budget.
    counted_on = _learning_curves_of_promotions("on")
    from_one = _learning_curves_of_promotions("from 1")
    assert from_one == counted_on
    assert max(counted_on.values(), key=len) == [float(step) for step in range(1, 10)]  # through 3 rungs
    # A promotion that trained from scratch (steps 1 .. its budget) is drawn apart.
    scratch = max(_learning_curves_of_promotions("from scratch").values(), key=len)
    segments: list[list[float]] = [[]]
    for x in scratch:
        if x is None:
            segments.append([])
        else:
            segments[-1].append(x)
    assert [s[0] for s in segments] == [1, 1, 1] and [s[-1] for s in segments] == [1, 3, 9]
    assert all(s == sorted(s) for s in segments)


def _segments(xs: list[float | None]) -> list[list[float]]:
    segments: list[list[float]] = [[]]
    for x in xs:
        if x is None:
            segments.append([])
        else:
            segments[-1].append(x)
    return segments


@pytest.mark.parametrize("saves", [True, False])
def test_a_running_promotion_is_drawn_by_whether_it_was_handed_its_parents_checkpoint(saves):
    # A promotion at budget 9 that has reported steps 1 and 2 so far: from its steps alone
    # it may have counted from 1 again after resuming (joined, shifted by 3) or be training
    # from scratch. What the objective was handed settles it.
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0,
                            scheduler=mh.SuccessiveHalving(min_budget=3, max_budget=9, eta=3))
    for _ in range(3):
        trial = study.ask()
        if saves:
            (trial.checkpoint_dir / "model.txt").write_text("3 epochs")
        study.tell(trial, trial.config["x"])
    promotion = study.ask()
    assert promotion.parent_number is not None and promotion.budget == 9
    assert (promotion.parent_checkpoint_dir is not None) is saves
    promotion.report(1, 0.5)
    promotion.report(2, 0.4)
    record = next(t for t in study.trials if t.number == promotion.number)
    assert mh.trial.resumed(record) is saves
    curves = {trace.name: list(trace.x) for trace in plot_learning_curves(study).data
              if trace.name == f"config of trial {promotion.parent_number}"}
    (xs,) = curves.values()
    segments = _segments(xs)
    if saves:  # counted from 1 again over the epochs it adds: 4, 5 after the parent's 3
        assert segments == [[3.0, 4.0, 5.0]]
    else:  # a training from scratch, apart from the parent's curve
        assert segments == [[3.0], [1.0, 2.0]]


def test_the_resumed_record_is_metahpos_own_and_never_fails_a_late_read(tmp_path):
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0,
                            scheduler=mh.SuccessiveHalving(min_budget=3, max_budget=9, eta=3),
                            storage=f"sqlite:///{tmp_path / 'late.db'}")
    trial = study.ask()
    with pytest.raises(InvalidParameterError, match="resumed_parent_checkpoint"):
        trial.set_user_attr(mh.trial.RESUMED_KEY, True)
    study.tell(trial, 0.5)
    for _ in range(2):
        trial = study.ask()
        study.tell(trial, trial.config["x"])
    promotion = study.ask()
    study.tell(promotion, 0.1)
    # Read after the trial was told: nothing to record any more, and no error.
    assert promotion.parent_checkpoint_dir is None
    assert mh.trial.resumed(study.trials[promotion.number]) is None


def test_write_figure_refuses_what_is_no_figure_or_path(drawn_storage, tmp_path):
    # Before: AttributeError ('int' object has no attribute 'write_html') and TypeError.
    with pytest.raises(InvalidParameterError, match=r"The 'fig' parameter of write_figure must be a Plotly "
                       r"figure .* Got 5 instead"):
        write_figure(5, tmp_path / "f.html")
    fig = plot("finished-hb", "history", drawn_storage)
    with pytest.raises(InvalidParameterError, match=r"The 'path' parameter of write_figure must be a file "
                       r"path .* Got 5 instead"):
        write_figure(fig, 5)
    assert list(tmp_path.iterdir()) == []
