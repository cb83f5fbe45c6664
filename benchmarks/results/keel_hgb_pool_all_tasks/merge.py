"""Merge the fold directories of one problem into one directory (pool bounds are per task).

    merge.py OUT FOLD_DIR...
"""

import json
import sys
from pathlib import Path


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    bounds: dict[str, object] = {}
    lines: list[str] = []
    for folder in map(Path, sys.argv[2:]):
        bounds.update(json.loads((folder / "bounds.json").read_text()))
        lines += (folder / "results.jsonl").read_text().splitlines()
    (out / "bounds.json").write_text(json.dumps(bounds, indent=1))
    (out / "results.jsonl").write_text("\n".join(lines) + "\n")
    print(len(bounds), "tasks", len(lines), "lines")


if __name__ == "__main__":
    main()
