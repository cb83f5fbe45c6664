"""The examples of the docs pages that use the harness, and of its docstrings, run as written."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from metahpo_bench.yahpo import default_data_dirs

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"(<!-- no-test -->\s*)?```python\n(.*?)```", re.S)
# metahpo's own tests (tests/test_doc_examples.py) run the pages that do not use the harness.
PAGES = sorted(p for p in DOCS.glob("*.md") if "metahpo_bench" in p.read_text())

DOCTEST_MODULES = [
    "metahpo_bench._registry",
    "metahpo_bench.keel",
    "metahpo_bench.training",
    "metahpo_bench.metadata",
    "metahpo_bench.options",
    "metahpo_bench.pool._snap",
    "metahpo_bench.pool._problem",
    "metahpo_bench.pool._surrogate",
    "metahpo_bench.pool._table",
    "metahpo_bench.runner._regret",
]


def _yahpo_data() -> Path | None:
    candidates = [os.environ.get("METAHPO_YAHPO_DATA")] + [str(p) for p in default_data_dirs()]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def python_blocks(page: Path) -> str:
    blocks = [code for skip, code in BLOCK.findall(page.read_text()) if not skip]
    return "\n".join(blocks)


def test_some_pages_use_the_harness() -> None:
    assert {p.name for p in PAGES} >= {"benchmarks.md", "metadata.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_docs_page_examples_run(page: Path, tmp_path: Path) -> None:
    code = python_blocks(page)
    if not code.strip():
        pytest.skip(f"{page.name} has no Python examples")
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    if os.environ.get("PYTHONPATH"):  # a checkout run without installing it
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if "lcbench" in code or "rbv2_xgboost" in code:
        data = _yahpo_data()
        if data is None:
            pytest.skip(
                f"{page.name} needs the YAHPO data (../shared/data/yahpo or $METAHPO_YAHPO_DATA)"
            )
        env["METAHPO_YAHPO_DATA"] = str(data)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang only
        env=env,
    )
    assert done.returncode == 0, f"{page.name} examples failed:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
