"""Draw a :class:`~metahpo.knowledge.TaskMap` as a PNG (matplotlib) or a self-contained HTML page.

The HTML page is an inline SVG written here: a few kilobytes, no script and no link to
anything outside the file (the page must open offline), with each task's name, cluster
and source in a tooltip. Plotly's self-contained HTML would embed about 4.5 MB of
JavaScript for the same picture.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from metahpo.knowledge import TaskMap

__all__ = ["write_map", "write_map_html", "write_map_png"]

# matplotlib's "tab10" colours, so the PNG and the HTML page agree.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# Names are written beside the points up to this many tasks; beyond, only in tooltips (HTML).
MAX_LABELS = 60


def write_map(mapped: TaskMap, out: Path, title: str, sources: Mapping[str, str] | None = None) -> None:
    """Write ``mapped`` to ``out``; the suffix (``.png`` or ``.html``) chooses the format."""
    if out.suffix.lower() == ".png":
        write_map_png(mapped, out, title)
    else:
        write_map_html(mapped, out, title, sources or {})


def write_map_png(mapped: TaskMap, out: Path, title: str) -> None:
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "Drawing the task map as PNG needs matplotlib: pip install 'metahpo[plot]' "
            "(or write --out FILE.html)."
        ) from exc
    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    try:
        for label in range(mapped.k):
            rows = [i for i, lab in enumerate(mapped.labels) if lab == label]
            ax.scatter(mapped.xy[rows, 0], mapped.xy[rows, 1], s=60,
                       color=PALETTE[label % len(PALETTE)], edgecolor="white",
                       label=f"cluster {label} ({len(rows)})", zorder=3)
        if len(mapped.names) <= MAX_LABELS:
            for (x, y), name in zip(mapped.xy, mapped.names, strict=True):
                # Names are text: a "$" would start matplotlib's math mode.
                ax.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                            parse_math=False)
        ax.set_title(textwrap.fill(title, 90), fontsize=10, parse_math=False)
        ax.set_xlabel("MDS 1 (distance = 1 - task similarity)")
        ax.set_ylabel("MDS 2")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
        fig.tight_layout()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)


def write_map_html(mapped: TaskMap, out: Path, title: str, sources: Mapping[str, str]) -> None:
    width, height, margin = 900, 640, 50
    xy = mapped.xy
    low, high = xy.min(axis=0), xy.max(axis=0)
    span = float(max(np.max(high - low), 1e-9))
    # One scale for both axes, so distances on the page are distances of the embedding.
    scale = min((width - 2 * margin), (height - 2 * margin)) / span
    centre = (low + high) / 2.0
    points = []
    for (x, y), name, label in zip(xy, mapped.names, mapped.labels, strict=True):
        px = width / 2 + (x - centre[0]) * scale
        py = height / 2 - (y - centre[1]) * scale
        colour = PALETTE[label % len(PALETTE)]
        tip = html.escape(f"{name} · cluster {label} · {sources.get(name, '')}".rstrip(" ·"))
        text = (f'<text x="{px + 6:.1f}" y="{py - 6:.1f}">{html.escape(name)}</text>'
                if len(mapped.names) <= MAX_LABELS else "")
        points.append(
            f'<g><title>{tip}</title><circle cx="{px:.1f}" cy="{py:.1f}" r="6" '
            f'fill="{colour}" stroke="white"/>{text}</g>'
        )
    legend = "".join(
        f'<li><span style="background:{PALETTE[label % len(PALETTE)]}"></span>cluster {label} '
        f"({mapped.labels.count(label)})</li>"
        for label in range(mapped.k)
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
svg text {{ font-size: 11px; fill: #333; }}
ul {{ list-style: none; padding: 0; }} li {{ display: inline-block; margin-right: 1.2em; }}
li span {{ display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; border-radius: 50%; }}
</style></head><body>
<h2>{html.escape(title)}</h2>
<p>Each point is a task; distances approximate 1 &minus; task similarity (descriptors and
response surfaces), embedded by MDS (stress {mapped.stress:.3f}). Hover a point for its name
and source.</p>
<ul>{legend}</ul>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"
 style="border:1px solid #ccc; background:#fafafa">
{"".join(points)}
</svg>
</body></html>
"""
    out.write_text(page, encoding="utf-8")
