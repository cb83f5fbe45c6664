"""Optimizer adapters by benchmark name, and whether each can run here."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo_bench.runner._adapter import Adapter

__all__ = ["adapter_names", "make_adapter", "unavailable_reason"]

_METAHPO_OPTIMIZERS = ("random", "sobol", "gpbo", "metabo", "portfolio")
_METAHPO_SCHEDULERS = ("hyperband", "sh", "asha")
_PEERS: dict[str, Callable[[int], Adapter]] = {}


def _peer_factories() -> dict[str, Callable[[int], Adapter]]:
    if not _PEERS:
        from metahpo_bench.runner._bridge import BridgeAdapter
        from metahpo_bench.runner._optuna import OptunaAdapter
        from metahpo_bench.runner._smac import SMACAdapter

        _PEERS.update(
            {
                "optuna-tpe": lambda eta: OptunaAdapter("tpe", eta=eta),
                "optuna-gp": lambda eta: OptunaAdapter("gp", eta=eta),
                "optuna-random": lambda eta: OptunaAdapter("random", eta=eta),
                "optuna-tpe-hyperband": lambda eta: OptunaAdapter("tpe", hyperband=True, eta=eta),
                "smac": lambda eta: SMACAdapter(multi_fidelity=False, eta=eta),
                "smac-mf": lambda eta: SMACAdapter(multi_fidelity=True, eta=eta),
                "dehb": lambda eta: BridgeAdapter("dehb", eta=eta),
                "synetune-zeroshot": lambda eta: BridgeAdapter("synetune-zeroshot", eta=eta),
                "synetune-boundingbox": lambda eta: BridgeAdapter("synetune-boundingbox", eta=eta),
                "synetune-quantile": lambda eta: BridgeAdapter("synetune-quantile", eta=eta),
            }
        )
    return _PEERS


def adapter_names() -> list[str]:
    """Every name :func:`make_adapter` knows (whether or not it can run here)."""
    own = [f"{o}+{s}" for o in _METAHPO_OPTIMIZERS for s in _METAHPO_SCHEDULERS]
    return [*_METAHPO_OPTIMIZERS, *own, *_peer_factories()]


def make_adapter(name: str, eta: int = 3) -> Adapter:
    """The adapter of benchmark optimizer ``name`` (``"gpbo+hyperband"``, ``"optuna-tpe"``, ...)."""
    from metahpo_bench.runner._metahpo import MetahpoAdapter

    peers = _peer_factories()
    if name in peers:
        return peers[name](eta)
    # "random+asha@4": metahpo's own optimizers simulate parallel workers with "@N".
    own, at, count = name.rpartition("@") if "@" in name else (name, "", "")
    # The count as written (no sign, no leading zero), so the run keeps the name asked for.
    workers = int(count) if count.isdigit() and count == str(int(count)) and int(count) >= 2 else None
    optimizer, _, scheduler = own.partition("+")
    # "metabo[inner_steps=0]" names an ablation: the optimizer with some parameters set.
    base = optimizer.partition("[")[0]
    # "metabo+asha[min_budget=6]": a scheduler with some parameters set.
    known = base in _METAHPO_OPTIMIZERS and (
        not scheduler or scheduler.partition("[")[0] in _METAHPO_SCHEDULERS
    )
    if known and (not at or workers is not None):
        return MetahpoAdapter(optimizer, scheduler or None, eta=eta, workers=workers or 1)
    raise InvalidParameterError(
        f"The 'optimizers' option must name optimizers among {adapter_names()}; metahpo's "
        "own may end in @N for N >= 2 simulated parallel workers (random+asha@4). "
        f"Got {describe(name)} instead."
    )


def unavailable_reason(adapter: Adapter) -> str | None:
    """``None`` when ``adapter`` can run in this installation, else why not (to report)."""
    from metahpo_bench.runner._bridge import BridgeAdapter, check_bridge
    from metahpo_bench.runner._metahpo import SCHEDULERS, MetahpoAdapter
    from metahpo_bench.runner._optuna import OptunaAdapter
    from metahpo_bench.runner._smac import SMACAdapter

    if isinstance(adapter, BridgeAdapter):
        return check_bridge(adapter.family)
    if isinstance(adapter, OptunaAdapter):
        return _missing_module("optuna", "pip install 'metahpo-bench[peers]' (optuna)") or (
            _missing_module("torch", "Optuna's GPSampler needs torch")
            if adapter.sampler == "gp"
            else None
        )
    if isinstance(adapter, SMACAdapter):
        return _missing_module("smac", "pip install 'metahpo-bench[peers]' (smac==2.4.1)")
    if isinstance(adapter, MetahpoAdapter):
        try:
            from metahpo.optimizers import optimizer_names

            if adapter.optimizer.partition("[")[0] not in optimizer_names():
                return f"metahpo has no optimizer {adapter.optimizer!r} yet (known: {optimizer_names()})"
            if adapter.scheduler is not None:
                schedulers = importlib.import_module("metahpo.schedulers")
                scheduler = SCHEDULERS[adapter.scheduler.partition("[")[0]]
                if not hasattr(schedulers, scheduler):
                    return f"metahpo has no scheduler {scheduler} yet"
        except ImportError as exc:
            return f"metahpo's optimizers or schedulers failed to import: {exc}"
    return None


def _missing_module(module: str, hint: str) -> str | None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return f"{module} is not installed ({hint}): {exc}"
    return None
