"""The ``workdir`` the tests of ``metahpo tune`` run in: a temporary working directory with a
three-parameter ``space.yaml`` and a ``train.py`` that fails for ``n == 4`` (a module that
defines its own ``workdir`` uses that one)."""

from __future__ import annotations

import textwrap

import pytest


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    (tmp_path / "space.yaml").write_text(textwrap.dedent("""
        x: {type: float, low: -5, high: 5}
        lr: {type: float, low: 1e-4, high: 1, log: true}
        n: {type: int, low: 1, high: 4}
    """))
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        import json, sys
        x, lr, n, budget = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        if n == 4:
            sys.stderr.write("n=4 is not supported\\n")
            sys.exit(3)
        print("epoch 1 ...")
        loss = (x - 1) ** 2 + n + (1 / float(budget) if budget else 0)
        print(json.dumps({"value": loss, "budget": budget}) if n == 2 else loss)
    """))
    return tmp_path
