"""Adapters for peers that live in their own virtualenv, driven over a JSON-lines pipe.

DEHB pins ``numpy<2`` and Syne Tune pulls xgboost; neither may enter metahpo's
environment. Each run starts ``python _bridge_worker.py`` with the peer's interpreter
and exchanges one JSON object per line (no pickle): the worker proposes a config and
a budget, this side evaluates it and sends the loss back.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from metahpo.exceptions import MetahpoError
from metahpo.space import Categorical, Config, Float, Int, Space
from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import Evaluator

__all__ = ["BridgeAdapter", "PeerUnavailable", "bridge_python", "check_bridge"]

WORKER = Path(__file__).with_name("_bridge_worker.py")

# Peer family -> (environment variable naming its interpreter, module the interpreter must import).
# There is no default interpreter: a peer runs only where its variable points.
ENVIRONMENTS = {
    "dehb": ("METAHPO_DEHB_PYTHON", "dehb"),
    "synetune": (
        "METAHPO_SYNETUNE_PYTHON",
        "syne_tune.optimizer.schedulers.transfer_learning.zero_shot",
    ),
}
INSTALL_HINT = {
    "dehb": "python -m venv VENV && VENV/bin/pip install dehb==0.1.2",
    "synetune": "python -m venv VENV && VENV/bin/pip install syne-tune==0.16.0 huggingface_hub",
}


class PeerUnavailable(MetahpoError):
    """A peer optimizer is not installed where the runner looks for it."""


def bridge_python(family: str) -> str | None:
    """The peer's interpreter from its environment variable; ``None`` when it is unset."""
    variable, _ = ENVIRONMENTS[family]
    return os.environ.get(variable) or None


@functools.cache
def check_bridge(family: str) -> str | None:
    """``None`` when the peer's interpreter imports the peer, else why not."""
    variable, module = ENVIRONMENTS[family]
    python = bridge_python(family)
    hint = INSTALL_HINT[family]
    if python is None:
        return (
            f"${variable} is not set; point it at the Python of a virtualenv with the peer "
            f"(install with: {hint}; then export {variable}=VENV/bin/python)"
        )
    if not Path(python).exists():
        return f"${variable} names {python}, which does not exist (install with: {hint})"
    done = subprocess.run(
        [python, "-c", f"import {module}"], capture_output=True, text=True, check=False, timeout=300
    )
    if done.returncode != 0:
        return f"{python} (${variable}) cannot import {module}: {done.stderr.strip().splitlines()[-1:]}"
    return None


def coerce_config(space: Space, config: dict[str, Any]) -> Config:
    """A peer's config as metahpo values: ints rounded, floats clipped (peers return numpy floats)."""
    out: Config = {}
    for name, param in space.items():
        value = config[name]
        if isinstance(param, Int):
            out[name] = int(min(max(round(float(value)), param.low), param.high))
        elif isinstance(param, Float):
            out[name] = float(min(max(float(value), param.low), param.high))
        elif isinstance(param, Categorical):
            out[name] = param.choices[param.index(value)]
    return out


class BridgeAdapter(Adapter):
    """A peer in its own environment: ``"dehb"`` or a Syne Tune transfer method
    (``"synetune-zeroshot"``, ``"synetune-boundingbox"``, ``"synetune-quantile"``)."""

    def __init__(self, method: str, eta: int = 3) -> None:
        self.name = method
        self.family = "dehb" if method == "dehb" else "synetune"
        self.eta = eta
        self.needs_fidelity = method == "dehb"
        self.needs_meta_train = method.startswith("synetune")

    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        problem = context.problem
        init = {
            "method": self.name,
            "space": problem.space.to_dict(),
            "seed": context.seed,
            "eta": self.eta,
            "min_budget": problem.min_budget,
            "max_budget": problem.max_budget,
            "meta_train": None if context.meta_train is None else context.meta_train.to_dict(),
        }
        python = bridge_python(self.family)
        if python is None:
            reason = check_bridge(self.family)
            raise PeerUnavailable(f"{self.name} cannot run: {reason}")
        with tempfile.TemporaryFile(mode="w+") as stderr:
            process = subprocess.Popen(
                [python, str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
                cwd=tempfile.gettempdir(),
            )
            assert process.stdin is not None and process.stdout is not None  # both are PIPEs
            try:
                self._send(process, init)
                self._receive(process, stderr, "ready")
                evaluator.restart_clock()  # the interpreter's start and imports are not the peer's time
                while not evaluator.exhausted:
                    reply = self._receive(process, stderr)
                    config = coerce_config(problem.space, reply["config"])
                    budget = reply.get("budget") if self.needs_fidelity else None
                    self._send(process, {"loss": evaluator(config, budget)})
                self._send(process, {"stop": True})
                process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()

    def _receive(
        self, process: subprocess.Popen[str], stderr: Any, key: str = "config"
    ) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        message = json.loads(line) if line.strip() else None
        if not isinstance(message, dict) or key not in message:
            process.wait(timeout=60)
            stderr.seek(0)
            detail = message.get("error") if isinstance(message, dict) else None
            raise MetahpoError(
                f"The {self.name} worker stopped (status {process.returncode}): "
                f"{detail or 'no reply'}\n{stderr.read()[-3000:]}"
            )
        return message
