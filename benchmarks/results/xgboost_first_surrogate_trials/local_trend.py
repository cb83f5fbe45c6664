"""Experiment, applied by monkeypatching (the library is unchanged): the trend weight's prior
(w0, s) estimated on the tasks the portfolio is chosen among (the study's related tasks)
instead of on every task of the knowledge."""
import logging

import metahpo.optimizers._metabo as mb
from metahpo.knowledge import KnowledgeBase, Task, descriptor_of
from metahpo.surrogates.meta import _model
from metahpo.surrogates.meta._train import tasks_to_data
from metahpo.surrogates.meta._trend import trend_prior

STATE: dict = {}
LOG = []
_surrogate = _model.MetaModel.surrogate


def surrogate(self, adapt_steps=None, output_transform="standardize", validate=False):
    gp = _surrogate(self, adapt_steps, output_transform, validate)
    local = STATE.get("prior")
    if local is not None and self.config.trend:
        gp.trend_prior = local
    return gp


_model.MetaModel.surrogate = surrogate
_fit = mb.MetaBO._fit


def metabo_fit(self, kb, history, encoding, own):
    port = self._portfolio
    kbt = port.knowledge.of_task_type(history.task_type)
    k = port._neighbours(kbt, history)
    descriptor = descriptor_of(history.descriptor)
    target = None if descriptor is None else Task(name="__target__", descriptor=descriptor)
    pool = KnowledgeBase([t for t in kbt if t.name not in own]) if own else kbt
    chosen = pool.relevant(history.space, target, k)
    model = self._provider.model(kb, encoding, exclude=own)
    key = (id(model), tuple(sorted(t.name for t in chosen)))
    if STATE.get("key") != key:
        STATE["key"] = key
        STATE["cached"] = trend_prior(model, tasks_to_data(chosen, encoding)) if len(chosen) >= 2 else None
        LOG.append((len(chosen), model.info.get("trend_prior"), STATE["cached"]))
        logging.getLogger(__name__).info("local trend prior on %d tasks: %s (global %s)", len(chosen),
                                         STATE["cached"], model.info.get("trend_prior"))
    STATE["prior"] = STATE["cached"]
    try:
        return _fit(self, kb, history, encoding, own)
    finally:
        STATE["prior"] = None


mb.MetaBO._fit = metabo_fit
