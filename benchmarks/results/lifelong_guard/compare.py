import json, sys, numpy as np
from scipy.stats import wilcoxon
preset = sys.argv[1]
def load(path):
    return {r["key"].split("|")[2]: np.array(r["curves"]) for r in map(json.loads, open(path)) if r["key"].startswith(preset + "|0|")}
new = load(f"benchmarks/results/lifelong_guard/after/runs_{preset}.jsonl"); start = load(f"benchmarks/results/lifelong_guard/before/runs_{preset}.jsonl")
old = load("benchmarks/results/lifelong_rerun/report/runs.jsonl")
allc = [new[w] for w in new] + [start[w] for w in start if w.startswith("metabo")] + [old[w] for w in old if w.startswith("metabo")]
best = np.min([c.min(axis=1) for c in allc], axis=0)
for way in ("metabo+bundle", "metabo-empty"):
    for n in (5, 10, 20):
        a = new[way][:, n - 1] - best; b = start[way][:, n - 1] - best; o = old[way][:, n - 1] - best
        d = a - b; nz = d[np.abs(d) > 1e-12]
        p = wilcoxon(nz).pvalue if len(nz) > 1 else float("nan")
        print(f"{way:14s} n={n:2d} median new {np.median(a):.4f} start {np.median(b):.4f} old-run {np.median(o):.4f} | new-start {d.mean():+.4f} ± {d.std(ddof=1)/np.sqrt(len(d)):.4f}, better {int((d < -1e-12).sum())} worse {int((d > 1e-12).sum())}, p={p:.2g}")
g = new["gpbo"][:, 9] - best
print("gpbo median n=10", round(float(np.median(g)), 4))
