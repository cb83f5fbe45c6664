"""The examples of docs/knowledge.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge.md"


def test_docs_examples_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for index, block in enumerate(blocks):
        exec(compile(block, f"{DOC.name}[{index}]", "exec"), namespace)
    assert namespace["clustering"].k == 2
    assert namespace["study"].best_value < 0.05
    assert namespace["choice"].k_nearest == 3
