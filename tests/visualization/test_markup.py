"""User strings in figures show as typed: Plotly draws a subset of HTML in titles, names,
ticks, annotations and hover labels, so every figure escapes the strings it did not write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from typing import Any

import pytest

import metahpo as mh
from metahpo.storage import get_storage
from metahpo.visualization import KINDS, plot, plot_knowledge_updates

NAME = '<a href="https://example.com">study</a> & co'
PARAM = "<b>lr</b>"
CHOICE = "<i>adam</i>"
TASK = "<u>past task</u>"
SOURCE = "<s>mine</s>"
MARKUP = (NAME, PARAM, CHOICE, TASK, SOURCE)

# What each figure names: the user strings it must show, escaped.
SHOWN = {
    "history": [NAME, SOURCE],
    "parallel": [NAME, PARAM],
    "slice": [NAME, PARAM, CHOICE],
    "contour": [NAME, PARAM],
    "importance": [NAME, PARAM],
    "learning-curves": [NAME],
    "brackets": [NAME],
    "knowledge-map": [NAME],
    "why": [NAME, SOURCE, TASK],
    "compare": [NAME],
}


@pytest.fixture(scope="module")
def marked_up(tmp_path_factory) -> str:
    """A Hyperband study whose name, a parameter, a choice, a similar task and a source
    hold markup, with a recorded meta-model update."""
    url = f"sqlite:///{tmp_path_factory.mktemp('markup') / 'm.db'}"
    space = mh.Space(
        {
            PARAM: mh.Float(1e-4, 1.0, log=True),
            "x": mh.Float(0.0, 1.0),
            "opt": mh.Categorical([CHOICE, "sgd"]),
        }
    )
    study = mh.create_study(
        name=NAME,
        space=space,
        storage=url,
        optimizer="random",
        seed=0,
        scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3),
    )

    def objective(trial: Any) -> float:
        return (
            trial.config[PARAM] * 10
            + trial.config["x"]
            + (trial.config["opt"] == CHOICE)
            + 1 / trial.budget
        )

    study.optimize(objective, n_trials=20, show_progress=False)
    storage = get_storage(url)
    trial = study.ask()
    storage.set_trial_user_attrs(
        study.study_id,
        trial.number,
        {"why": {"source": SOURCE, "similar_tasks": [[TASK, 0.9], ["plain", 0.1]]}},
    )
    study.tell(trial, objective(trial))
    storage.set_study_user_attrs(
        study.study_id,
        {
            "knowledge_update": {
                "meta_model": "k" * 20,
                "version": 1,
                "old_tasks_meta_test_loss_before": 1.0,
                "old_tasks_meta_test_loss_after": 0.5,
            }
        },
    )
    return url


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a figure's JSON, with where it is (``data.0.dimensions.1.label``)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}.{i}")


def _check(fig: Any, shown: list[str]) -> None:
    strings = list(_strings(json.loads(fig.to_json())))
    for path, value in strings:
        # plotly.js draws a parallel-coordinates tick as plain text: it stays as typed.
        if path.startswith("data.0.dimensions.") and ".ticktext." in path:
            continue
        raw = [m for m in MARKUP if m in value]
        assert not raw, f"{path} holds {raw} unescaped: {value!r}"
    for expected in shown:
        assert any(escape(expected, quote=False) in value for _, value in strings), expected


@pytest.mark.parametrize("kind", sorted(SHOWN))
def test_every_figure_escapes_the_users_strings(marked_up, kind):
    assert set(SHOWN) == set(KINDS)
    others = [NAME] if kind == "compare" else ()
    _check(plot(NAME, kind, marked_up, others=others), SHOWN[kind])


def test_the_parallel_coordinates_ticks_are_the_choices_as_typed(marked_up):
    ticks = [
        t for d in plot(NAME, "parallel", marked_up).data[0].dimensions for t in d["ticktext"] or []
    ]
    assert CHOICE in ticks


def test_knowledge_updates_escape_the_study_name(marked_up):
    _check(plot_knowledge_updates(marked_up), [NAME])


def test_empty_figures_escape_the_study_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    mh.create_study(
        name=NAME,
        space=mh.Space({PARAM: mh.Float(0, 1), "y": mh.Float(0, 1)}),
        storage=url,
        optimizer="random",
        seed=0,
    )
    for kind in KINDS:
        if kind != "knowledge-map":
            _check(plot(NAME, kind, url), [NAME])


def test_why_of_a_portfolio_trial_escapes_its_tasks(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = mh.create_study(
        name=NAME, space=mh.Space({"x": mh.Float(0, 1)}), storage=url, optimizer="random", seed=0
    )
    trial = study.ask()
    why = {"source": "portfolio", "rank": 0, "tasks": [TASK], "n_tasks": 1, "chosen_among": 3}
    study.storage.set_trial_user_attrs(study.study_id, trial.number, {"why": why})
    study.tell(trial, 0.5)
    _check(plot(NAME, "why", url), [NAME, TASK])
