"""Presets: the model families users tune most, each with a space, a model builder and
bundled knowledge.

* :func:`names`, :func:`list_presets` — the presets and the size of their knowledge.
* :func:`get` — a :class:`Preset`: ``space``, ``build(config, budget)``,
  ``objective(X, y, cv=5)``, ``knowledge()``, ``meta_model()``.
* :func:`objective` — ``get(name).objective(X, y, cv=cv)``.

``create_study(preset=NAME, task=mh.Task.from_data(X, y))`` takes the preset's space,
and its bundled knowledge is part of the study's default knowledge.

Example:
    >>> import metahpo as mh
    >>> "lightgbm-classifier" in mh.presets.names()
    True
"""

from metahpo.presets._preset import Preset, Split
from metahpo.presets._registry import PresetInfo, get, list_presets, names, objective
from metahpo.presets._trees import HGB_SPACE

__all__ = ["HGB_SPACE", "Preset", "PresetInfo", "Split", "get", "list_presets", "names", "objective"]
