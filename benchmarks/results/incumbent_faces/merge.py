"""Join a reference run's MetaBO and peer rows with the variant's runs (named
``metabo[faces]``), under the union of both runs' regret bounds.

    merge.py REFERENCE_DIR VARIANT_DIR OUT_DIR
"""

import json
import sys
from pathlib import Path

KEPT = ("metabo", "optuna-gp", "gpbo", "smac")


def main() -> None:
    reference, variant, out = map(Path, sys.argv[1:4])
    label = sys.argv[4] if len(sys.argv) > 4 else "metabo[faces]"
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((reference / "bounds.json").read_text())
    new = json.loads((variant / "bounds.json").read_text())
    bounds = {task: [min(old[task][0], new[task][0]), max(old[task][1], new[task][1])] for task in old}
    (out / "bounds.json").write_text(json.dumps(bounds))
    lines = []
    for line in (reference / "results.jsonl").read_text().splitlines():
        if json.loads(line)["optimizer"] in KEPT:
            lines.append(line)
    for line in (variant / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        record["optimizer"] = label
        lines.append(json.dumps(record))
    (out / "results.jsonl").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
