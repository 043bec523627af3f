"""A discovery run's 2-D map: each unexplained sentence a dot where the run's projection put it, coloured by
its candidate (grey: in none), each candidate's number and label at its centre. matplotlib, Agg; PNG or SVG."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from app.db.tables import DiscoveryCandidate, DiscoveryRun  # noqa: E402
from app.errors import InvalidInput  # noqa: E402
from app.services.plots import FORMATS, MEDIA, _bytes  # noqa: E402

__all__ = ["FORMATS", "candidate_map", "image"]
NOISE = "#c9ced6"


def image(run: DiscoveryRun, candidates: list[DiscoveryCandidate], fmt: str) -> tuple[bytes, str]:
    """The map in a format a route was asked for, and its media type (InvalidInput for another format)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose png or svg")
    return candidate_map(run, candidates, fmt), MEDIA[fmt]


def candidate_map(run: DiscoveryRun, candidates: list[DiscoveryCandidate], fmt: str = "png") -> bytes:
    fig, ax = plt.subplots(figsize=(8.5, 6.5))
    points = np.array([p[1:] for p in run.points or []], dtype=float).reshape(-1, 3)
    if not len(points):
        ax.text(0.5, 0.5, "No sentences to map" if run.status == "done" else f"Run {run.status}",
                ha="center", va="center")
        ax.set_axis_off()
        return _bytes(fig, fmt)
    number = points[:, 2].astype(int)
    # A merge made a new candidate after the run: its sentences are drawn under it, not the merged ones.
    into = {c.number: c.merged_into for c in candidates if c.merged_into}
    for old, new in into.items():
        while new in into:  # merged again later
            new = into[new]
        number[number == old] = new
    noise = number == 0
    ax.scatter(points[noise, 0], points[noise, 1], s=6, c=NOISE, linewidths=0, label="in no candidate")
    palette = plt.get_cmap("tab20")
    labels = {c.number: c for c in candidates}
    for k, n in enumerate(sorted(set(number[~noise]))):
        mine = number == n
        colour = palette(k % 20)
        cand = labels.get(n)
        name = (cand.name or cand.label) if cand else ""
        ax.scatter(points[mine, 0], points[mine, 1], s=10, color=colour, linewidths=0,
                   label=f"{n}. {name[:38]}" + (f" ({cand.status})" if cand and cand.status != "open" else ""))
        cx, cy = np.median(points[mine, 0]), np.median(points[mine, 1])
        ax.annotate(str(n), (cx, cy), fontsize=9, fontweight="bold", ha="center", va="center",
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": colour, "alpha": 0.85})
    shown = len(points)
    ax.set_title(f"Discovery run {run.id}: {run.units} unexplained sentences"
                 + (f" ({shown} shown)" if shown < run.units else ""), fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False, markerscale=1.6)
    return _bytes(fig, fmt)
