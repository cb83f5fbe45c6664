"""The docstring examples of the storage protocol, the SQL storage and of the conformance suite
run as written.

(The examples of docs/storage.md run in tests/test_doc_examples.py with every docs page.)
"""

from __future__ import annotations

import doctest

import pytest

import metahpo.storage._base
import metahpo.storage._cache
import metahpo.storage._sql
import metahpo.testing.storage


@pytest.mark.parametrize("module", [metahpo.storage._base, metahpo.storage._cache, metahpo.storage._sql,
                                    metahpo.testing.storage])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
