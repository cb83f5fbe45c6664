"""Plotly figures of studies and of the knowledge base.

Every function takes a study (a :class:`~metahpo.Study`, or a name with ``storage=``)
and returns a ``plotly.graph_objects.Figure``; :func:`plot` picks one by kind name and
:func:`write_figure` saves it as HTML or PNG (what ``metahpo plot STUDY KIND --out FILE``
does). Studies are read straight from the storage: drawing writes nothing and opens no
optimizer or knowledge.

* :func:`plot_optimization_history` — values by trial, coloured by where each trial came from.
* :func:`plot_parallel_coordinate`, :func:`plot_slice`, :func:`plot_contour`.
* :func:`plot_param_importances` / :func:`param_importances` — random-forest permutation importance.
* :func:`plot_learning_curves`, :func:`plot_brackets` — rungs, brackets and promotions.
* :func:`plot_studies` — several studies on one axis.
* :func:`plot_knowledge_map`, :func:`plot_why`, :func:`plot_knowledge_updates` — the knowledge.
"""

from metahpo.visualization._budgets import plot_brackets, plot_learning_curves
from metahpo.visualization._data import (
    SOURCE_COLOURS,
    StudyData,
    read_studies,
    read_study,
    source_of,
)
from metahpo.visualization._export import KINDS, plot, write_figure
from metahpo.visualization._history import plot_optimization_history, plot_studies
from metahpo.visualization._importance import param_importances, plot_param_importances
from metahpo.visualization._knowledge import (
    knowledge_updates,
    plot_knowledge_map,
    plot_knowledge_updates,
    plot_why,
    tasks_by_space,
)
from metahpo.visualization._params import plot_contour, plot_parallel_coordinate, plot_slice

__all__ = [
    "KINDS",
    "SOURCE_COLOURS",
    "StudyData",
    "knowledge_updates",
    "param_importances",
    "plot",
    "plot_brackets",
    "plot_contour",
    "plot_knowledge_map",
    "plot_knowledge_updates",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_slice",
    "plot_studies",
    "plot_why",
    "read_studies",
    "read_study",
    "source_of",
    "tasks_by_space",
    "write_figure",
]
