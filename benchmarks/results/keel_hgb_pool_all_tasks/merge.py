"""Merge the fold directories of one problem into one directory (pool bounds are per task)."""
import json, sys
from pathlib import Path
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
bounds, lines = {}, []
for d in map(Path, sys.argv[2:]):
    bounds.update(json.loads((d / "bounds.json").read_text()))
    lines += (d / "results.jsonl").read_text().splitlines()
(out / "bounds.json").write_text(json.dumps(bounds, indent=1))
(out / "results.jsonl").write_text("\n".join(lines) + "\n")
print(len(bounds), "tasks", len(lines), "lines")
