"""Per run: the best loss, and how many of trials 21-50 were far from it and poor."""
import json
import sys
from pathlib import Path

import numpy as np

print("| run | best | trials 21-50 with loss > 0.2 | their mean distance to the best config (unit cube) |")
print("|---|---:|---:|---:|")
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    data = json.loads(path.read_text())
    x = np.array([row[0] for row in data["log"]])
    y = np.array([row[1] for row in data["log"]])
    best = int(np.argmin(y))
    late = np.arange(20, len(y))
    poor = late[y[late] > 0.2]
    distance = np.linalg.norm(x[poor] - x[best], axis=1).mean() if len(poor) else 0.0
    print(f"| {path.stem} | {y[best]:.4f} | {len(poor)} of {len(late)} | {distance:.2f} |")
