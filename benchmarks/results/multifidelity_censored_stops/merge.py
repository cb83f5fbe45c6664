"""Writes one directory holding this run's rows and the reference rows of
`../multifidelity_study_gp_gate/lcbench` (MetaBO alone and the `;before` rows, the current
code), with this directory's union bounds, for `benchmarks/budget_to_target.py`.

    python benchmarks/results/multifidelity_censored_stops/merge.py /tmp/merged
"""

import json
import shutil
import sys
from pathlib import Path


def current_code(line: str) -> bool:
    """MetaBO alone, or a row of the code the reference directory calls `;before`."""
    name = json.loads(line)["optimizer"]
    return name == "metabo" or name.endswith(";before")


here = Path(__file__).parent / "lcbench"
reference = Path(__file__).parent.parent / "multifidelity_study_gp_gate" / "lcbench"
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
with open(out / "results.jsonl", "w") as merged:
    merged.writelines(filter(current_code, (reference / "results.jsonl").read_text().splitlines(keepends=True)))
    merged.write((here / "results.jsonl").read_text())
shutil.copy(here / "bounds.json", out / "bounds.json")
shutil.copy(reference / "run_before.json", out / "run.json")
