"""The storage documentation's examples run as written."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import metahpo.storage._sql
import metahpo.testing.storage

DOC = Path(__file__).parents[2] / "docs" / "storage.md"
EXAMPLES = [block for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
            if "MyStorage" not in block]


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_docs_storage_examples_run(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {})


@pytest.mark.parametrize("module", [metahpo.storage._sql, metahpo.testing.storage])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
