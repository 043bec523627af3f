"""Figures a person would rather look at than read: how often each code was found, by the speaker's role, and
a transcript x code-group heat map. matplotlib with the Agg backend: no display needed; PNG or SVG."""

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from app.services.reports import Coding, code_by_role, transcript_by  # noqa: E402

FORMATS = ("png", "svg")
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
ROLE_COLOURS = {"peer_worker": "#3b6fb6", "supported_peer": "#3f9e6e", "other": "#a0a7b0"}


def _bytes(fig: plt.Figure, fmt: str) -> bytes:
    out = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text: searchable, editable in a paper
        fig.savefig(out, format=fmt, dpi=150, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return out.getvalue()


def code_frequency(coding: Coding, fmt: str = "png") -> bytes:
    """Horizontal bars: segments per code, split by who said them (codes nobody used are left out)."""
    rows = [r for r in code_by_role(coding) if r["total"]]
    names = [textwrap.fill(f"{r['code']} {r['label']}", 44) for r in rows][::-1]  # whole labels, wrapped
    lines = sum(n.count("\n") + 1 for n in names)
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.2 * lines + 0.12 * len(rows) + 1.2)))
    if not rows:
        ax.text(0.5, 0.5, "No coded segments yet", ha="center", va="center")
        ax.set_axis_off()
        return _bytes(fig, fmt)
    left = [0] * len(rows)
    for role, colour in ROLE_COLOURS.items():
        values = [(r[role] if role != "other" else r["interviewer"] + r["other"]) for r in rows][::-1]
        if any(values):
            ax.barh(names, values, left=left, color=colour, label=role.replace("_", " "))
            left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("coded segments")
    ax.set_xlim(0, max(left) * 1.08)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.01)
    ax.set_title(f"Codes by speaker role (source: {coding.source}; {coding.book.name})", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.04 - 1.0 / max(len(rows), 1)), ncol=3, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _bytes(fig, fmt)


def group_heatmap(coding: Coding, fmt: str = "png") -> bytes:
    """Transcripts (rows) x code groups (columns), coloured by the number of coded segments."""
    columns, rows = transcript_by(coding, "group")
    labels = {g.id: g.label for g in coding.book.codes if g.id in columns}
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(columns) + 2), max(2.5, 0.35 * len(rows) + 1.5)))
    if not rows:
        ax.text(0.5, 0.5, "No coded segments yet", ha="center", va="center")
        ax.set_axis_off()
        return _bytes(fig, fmt)
    matrix = [[row[c] for c in columns] for row in rows]
    image = ax.imshow(matrix, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(columns)), [textwrap.fill(f"{c} {labels.get(c, '')}", 26) for c in columns],
                  rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["title"] or f"transcript {r['transcript_id']}" for r in rows], fontsize=8)
    peak = max(max(r) for r in matrix) or 1
    for i, values in enumerate(matrix):
        for j, value in enumerate(values):
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > peak / 2 else "black")
    fig.colorbar(image, ax=ax, label="coded segments", shrink=0.8)
    ax.set_title(f"Transcripts x code groups (source: {coding.source}; {coding.book.name})", fontsize=10)
    return _bytes(fig, fmt)


PLOTS = {"code-frequency": code_frequency, "group-heatmap": group_heatmap}
