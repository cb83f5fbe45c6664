"""Experiment: the meta-learned trend m(x) clamped to its range over the knowledge's designs."""
import numpy as np
import torch
from torch.func import functional_call

import metahpo.optimizers._metabo as mb
from metahpo.surrogates import _deep_kernel as dk

STATE: dict = {}


def forward(self, x):
    learned = self.body(x)
    if self.trend:
        m = self.trend_head(learned)
        lo = getattr(self, "_m_lo", None)
        if lo is not None:
            m = torch.minimum(torch.maximum(m, lo), self._m_hi)
        return torch.cat([x, learned, m], dim=-1)
    return torch.cat([x, learned], dim=-1)


dk.DeepKernelNet.forward = forward
_fit = dk.DeepKernelGP.fit


def fit(self, X, y):
    design = STATE.get("design")
    if design is not None and getattr(self.net, "trend", False):
        self.net._m_lo = None
        with torch.no_grad():
            m = functional_call(self.net, dict(self.meta_params), (design,))[..., -1]
        self.net._m_lo, self.net._m_hi = m.min().detach(), m.max().detach()
    return _fit(self, X, y)


dk.DeepKernelGP.fit = fit
_mfit = mb.MetaBO._fit


def metabo_fit(self, kb, history, encoding, own):
    rows = []
    for task in kb.tasks(history.space):
        if task.name in own:
            continue
        at = task.at_budget(None)
        rows.append(encoding.inputs(np.asarray(at.unit), None))
    STATE["design"] = torch.as_tensor(np.unique(np.vstack(rows), axis=0), dtype=torch.float64)
    try:
        return _mfit(self, kb, history, encoding, own)
    finally:
        STATE["design"] = None


mb.MetaBO._fit = metabo_fit
