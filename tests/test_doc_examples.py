"""The examples in docs/ and in docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"(<!-- no-test -->\s*)?```python\n(.*?)```", re.S)
# Pages that use the benchmark harness (metahpo_bench) are tested with it, in
# benchmarks/tests/test_bench_doc_examples.py: metahpo's own tests run without it.
PAGES = sorted(p for p in DOCS.glob("*.md") if "metahpo_bench" not in p.read_text())

DOCTEST_MODULES = [
    "metahpo",
    "metahpo.space._params",
    "metahpo.space._space",
    "metahpo.optimizers._taken",
    "metahpo.exceptions",
    "metahpo.study._study",
    "metahpo.study._create",
    "metahpo.study._optimizer_choice",
    "metahpo.study._labels",
    "metahpo.knowledge._kind",
    "metahpo.knowledge._optuna",
    "metahpo.presets",
    "metahpo.presets._preset",
    "metahpo.presets._registry",
    "metahpo.presets._mlp",
    "metahpo.optimizers._random",
    "metahpo.schedulers._hyperband",
    "metahpo.schedulers._asha",
    "metahpo.testing.optimizers",
    "metahpo.testing.schedulers",
    "metahpo.testing.synthetic",
    "metahpo.testing._synthetic",
    "metahpo.visualization._data",
    "metahpo.visualization._export",
    "metahpo.visualization._history",
    "metahpo.visualization._importance",
    "metahpo.metalearn._frank_wolfe",
    "metahpo.metalearn._l2l",
    "metahpo.metalearn._l2l_lstm",
    "metahpo.metalearn._l2l_problems",
    "metahpo.metalearn._l2l_torch",
    "metahpo.metalearn._lmo",
    "metahpo.metalearn._maml_rl",
    "metahpo.metalearn._point_env",
    "metahpo.metalearn._policy",
    "metahpo.metalearn._policy_gradient",
    "metahpo.metalearn._prox_operators",
    "metahpo.metalearn._proximal",
    "metahpo.metalearn._rollout",
    "metahpo.metalearn._step_rules",
]


def python_blocks(page: Path) -> str:
    blocks = [code for skip, code in BLOCK.findall(page.read_text()) if not skip]
    return "\n".join(blocks)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_page_examples_run(page, tmp_path):
    code = python_blocks(page)
    if not code.strip():
        pytest.skip(f"{page.name} has no Python examples")
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    if os.environ.get("PYTHONPATH"):  # a checkout run without installing it
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, f"{page.name} examples failed:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
