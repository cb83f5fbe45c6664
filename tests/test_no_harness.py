"""metahpo and its tests never import the benchmark harness (the metahpo-bench distribution)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_neither_the_library_nor_its_tests_import_the_harness() -> None:
    offenders = []
    for folder in (ROOT / "src" / "metahpo", ROOT / "tests"):
        for path in sorted(folder.rglob("*.py")):
            harness = {
                name
                for name in _imported_modules(path)
                if name.split(".")[0] == "metahpo_bench" or name.startswith("metahpo.benchmarks")
            }
            if harness:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(harness)}")
    assert offenders == []
