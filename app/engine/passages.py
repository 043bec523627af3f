"""Passage suggestions: a code that a run of consecutive sentences of one speaker turn supports more than any
one of its sentences does, suggested once for the whole span.

Techniques in interviews often run across sentences ("We wrote down what kept going wrong. Then we went through
each thing and worked out what she could try instead."): no single sentence says problem solving, the passage
does. Every run of 2 to `longest` consecutive codable sentences of one turn (a window) is embedded as the
passage's own text and scored like a sentence. A window's code becomes a span suggestion only when

- the window scores at least the run's threshold for it,
- at least `margin` more than the best of its own sentences does for that code: where one sentence already
  carries the code, that sentence's own suggestion says it, and a span adds nothing but noise, and
- it is the window's best code (`top`): a longer text matches many codes a little.

With the bundled MiniLM model these rules keep spans rare (about one per interview) and they seldom match what
coders code as a passage: docs/spans.md has the figures; coders code such spans by hand.

Per code, spans never overlap: the best-scoring window is kept first (the longer on a tie), and any window
overlapping it is dropped, so a passage gets one span per code, not one per window start. A span is shown on
its first sentence, in that sentence's ranked list (top_k still holds: a span replaces the sentence's own
suggestion of the same code and the list keeps its best top_k).
"""

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from app.engine.code_index import CodeIndex
from app.engine.suggest import Candidate, ConfirmedExamples, Served


@dataclass(frozen=True)
class PassageParams:
    """longest: the most sentences in a window (1 turns passages off); margin: how much more than its best
    sentence a window must score for a code; top: only the window's best `top` codes may become spans. Margin
    and top were set on the interview development half (bench/passages.py, docs/spans.md): a passage matches
    more codes a little than a sentence does, so without them spans flood the list."""

    longest: int = 4
    margin: float = 0.2
    top: int = 1


def windows(turns: list[int], codable: list[bool], longest: int) -> list[tuple[int, int]]:
    """(first, last) rows of every run of 2..longest consecutive codable sentences of one turn."""
    out = []
    for first in range(len(turns)):
        if not codable[first]:
            continue
        last = first
        while (last + 1 < len(turns) and last + 2 - first <= longest and codable[last + 1]
               and turns[last + 1] == turns[first]):
            last += 1
            out.append((first, last))
    return out


def pick_spans(window_scores: np.ndarray, spans: list[tuple[int, int]], sentence_scores: np.ndarray,
               threshold: float, margin: float, top: int | None = None) -> list[tuple[int, int]]:
    """(window, code) pairs to suggest as spans: windows scoring at least `threshold` and `margin` over each of
    their sentences for the code, then, per code, the best non-overlapping ones (see the module docstring).
    `sentence_scores` has a row per sentence (the rows `spans` index)."""
    if not spans:
        return []
    inside = np.stack([sentence_scores[a:b + 1].max(axis=0) for a, b in spans])  # windows x codes
    ok = (window_scores >= threshold) & (window_scores >= inside + margin)
    if top is not None:  # only the window's own best `top` codes
        ranks = np.argsort(np.argsort(-window_scores, axis=1, kind="stable"), axis=1, kind="stable")
        ok &= ranks < top
    qualified = np.argwhere(ok)
    order = sorted(qualified.tolist(), key=lambda wc: (-window_scores[wc[0], wc[1]],
                                                       spans[wc[0]][0] - spans[wc[0]][1], spans[wc[0]][0]))
    taken: dict[int, list[tuple[int, int]]] = defaultdict(list)
    chosen = []
    for w, c in order:
        a, b = spans[w]
        if any(a <= y and x <= b for x, y in taken[c]):
            continue
        taken[c].append((a, b))
        chosen.append((w, c))
    return sorted(chosen, key=lambda wc: (spans[wc[0]][0], -window_scores[wc[0], wc[1]]))


def passage_candidates(index: CodeIndex, windows_served: Served, spans: list[tuple[int, int]],
                       sentence_scores: np.ndarray, threshold: float, margin: float, top: int | None = None,
                       confirmed: ConfirmedExamples | None = None) -> list[tuple[int, Candidate]]:
    """(first row, candidate with `end` = last row) for every span suggestion."""
    picked = pick_spans(windows_served.scores, spans, sentence_scores, threshold, margin, top)
    return [(spans[w][0], replace(windows_served.candidate(index, confirmed, w, c), end=spans[w][1]))
            for w, c in picked]


def window_texts(text: str, bounds: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[str]:
    """Each window's own text: from its first sentence's start to its last's end (marks and spacing kept)."""
    return [text[bounds[a][0]:bounds[b][1]] for a, b in spans]


def span_suggestions(index: CodeIndex, params: PassageParams, spans: list[tuple[int, int]],
                     windows_served: Served, served: Served, coded: list[int], rows: int, threshold: float,
                     confirmed: ConfirmedExamples | None = None) -> dict[int, list[Candidate]]:
    """Row of a span's first sentence -> the span suggestions that start there. `served` scores the coded rows
    (`coded`, of `rows` in all); `windows_served` scores `spans`' texts. Shared by stored transcripts, POST
    /suggest and batch pre-coding, so a passage is suggested the same way wherever it is coded."""
    if not spans:
        return {}
    sentence_scores = np.zeros((rows, len(index.codes)), dtype=np.float32)
    sentence_scores[coded] = served.scores
    out: dict[int, list[Candidate]] = defaultdict(list)
    for first, candidate in passage_candidates(index, windows_served, spans, sentence_scores, threshold,
                                               params.margin, params.top, confirmed):
        out[first].append(candidate)
    return dict(out)


def merge(ranked: list[Candidate], passages: list[Candidate], top_k: int) -> list[Candidate]:
    """A sentence's own ranked codes with the spans that start on it, best first, top_k in all; a span replaces
    the sentence's own suggestion of its code."""
    if not passages:
        return ranked
    spanned = {c.code_id for c in passages}
    both = passages + [c for c in ranked if c.code_id not in spanned]
    return sorted(both, key=lambda c: -c.score)[:top_k]
