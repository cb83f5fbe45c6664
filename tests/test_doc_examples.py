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
# Pages whose examples need long runs or optional data are tested where those live.
YAHPO_DATA = Path(os.environ.get("METAHPO_YAHPO_DATA", DOCS.parents[1] / "shared" / "data" / "yahpo"))
PAGES = sorted(p for p in DOCS.glob("*.md"))

DOCTEST_MODULES = [
    "metahpo",
    "metahpo.space._params",
    "metahpo.space._space",
    "metahpo.exceptions",
    "metahpo.study._study",
    "metahpo.study._create",
    "metahpo.optimizers._random",
    "metahpo.schedulers._hyperband",
    "metahpo.schedulers._asha",
    "metahpo_bench.keel",
    "metahpo_bench.training",
    "metahpo_bench.metadata",
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
    if "lcbench" in code or "rbv2_xgboost" in code:
        if not YAHPO_DATA.is_dir():
            pytest.skip(f"{page.name} needs the YAHPO data at {YAHPO_DATA}")
        env["METAHPO_YAHPO_DATA"] = str(YAHPO_DATA)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=240, env=env)
    assert done.returncode == 0, f"{page.name} examples failed:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
