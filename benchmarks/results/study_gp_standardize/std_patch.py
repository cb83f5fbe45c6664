"""Experiment: MetaBO's study GP models standardised losses only (no log candidate)."""
import metahpo.optimizers._metabo as mb

_f = mb.fit_exact_gp


def fit_exact_gp(history, encoding, inputs, losses, output_transform, n_restarts, previous):
    return _f(history, encoding, inputs, losses, "standardize", n_restarts, previous)


mb.fit_exact_gp = fit_exact_gp
