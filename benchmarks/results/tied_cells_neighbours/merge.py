"""Writes one result directory from runs of the fixed rule and the matching directory of
`../tied_cells/`: the new runs' rows as they are, the earlier rows of the broad mask
relabelled `;broad`, and the `;before` (current code) and peer rows kept, with the union
of both directories' bounds. A run given as `DIR;SUFFIX` has its optimizers renamed with
`;SUFFIX` (a run of the current code: `DIR;before`); its runs replace the earlier
directory's runs of the same name, task and seed.

    python benchmarks/results/tied_cells_neighbours/merge.py OUT ../tied_cells/pool_keel_hgb NEW_RUN...
"""

import json
import shutil
import sys
from pathlib import Path

MEASURED = ("metabo", "gpbo")  # the optimizers the rule was measured on


def relabelled(line: str) -> str | None:
    row = json.loads(line)
    if row["optimizer"] == "gpbo[first_spread]":  # an earlier variant, not compared here
        return None
    if row["optimizer"] in MEASURED:
        row["optimizer"] += ";broad"
    return json.dumps(row) + "\n"


def run_key(line: str) -> tuple[str, str, int]:
    row = json.loads(line)
    return row["optimizer"], row["task"], row["seed"]


out, earlier = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
rows = [row for line in (earlier / "results.jsonl").read_text().splitlines() if (row := relabelled(line))]
bounds = json.loads((earlier / "bounds.json").read_text())
for arg in sys.argv[3:]:
    name, _, suffix = arg.partition(";")
    run = Path(name)
    new = []
    for line in (run / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        row["optimizer"] += f";{suffix}" if suffix else ""
        new.append(json.dumps(row) + "\n")
    replaced = {run_key(line) for line in new}
    rows = [line for line in rows if run_key(line) not in replaced] + new
    for task, (low, high) in json.loads((run / "bounds.json").read_text()).items():
        known = bounds.get(task, [low, high])
        bounds[task] = [min(low, known[0]), max(high, known[1])]
    shutil.copy(run / "run.json", out / f"run_{run.name}.json")
(out / "results.jsonl").write_text("".join(rows))
(out / "bounds.json").write_text(json.dumps(bounds))
print(f"{len(rows)} rows")
