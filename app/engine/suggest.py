"""Rank a codebook's codes for each sentence by similarity to their definitions and exemplars.

How the two are combined: a code's score is the cosine similarity of its best-matching piece of
evidence (its definition line, an exemplar, or one sentence of an exemplar), clipped to [0, 1]. Taking
the best match, rather than an average, keeps one apt exemplar from being diluted by the code's other
exemplars or by a definition written in a textbook register, and it makes the evidence shown to the coder
the exact text that produced the score. The README reports how this compared with the alternatives.
"""

from dataclasses import dataclass

import numpy as np

from app.engine.code_index import CodeIndex


@dataclass(frozen=True)
class Candidate:
    """One suggested code for one sentence, with the evidence that earned it."""

    code_id: str
    label: str
    group: str | None
    score: float
    evidence_kind: str
    evidence_text: str
    evidence_source: str


def with_context(vectors: np.ndarray, groups: list, window: int, weight: float = 0.5) -> np.ndarray:
    """Blend each vector with the mean of up to `window` neighbours on each side in the same group.

    Groups are speaker turns: a short sentence ("It really helped.") borrows meaning from what the same
    speaker said around it, but never from the interviewer's question.
    """
    if window <= 0 or len(vectors) == 0:
        return vectors
    out = vectors.copy()
    n = len(vectors)
    for i in range(n):
        lo, hi = max(0, i - window), min(n, i + window + 1)
        neighbours = [j for j in range(lo, hi) if j != i and groups[j] == groups[i]]
        if neighbours:
            out[i] = vectors[i] + weight * vectors[neighbours].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-12)


def _code_slices(index: CodeIndex) -> np.ndarray:
    """Start row of each code's units; units are stored grouped by code, in code order."""
    unit_code = np.fromiter((u.code for u in index.units), dtype=np.int64, count=len(index.units))
    return np.flatnonzero(np.r_[True, unit_code[1:] != unit_code[:-1]])


def code_scores(index: CodeIndex, vectors: np.ndarray) -> np.ndarray:
    """Per sentence (row) and code (column): the best similarity to any of the code's evidence, in [0, 1]."""
    sims = vectors @ index.vectors.T
    return np.clip(np.maximum.reduceat(sims, _code_slices(index), axis=1), 0.0, 1.0)


def suggest(index: CodeIndex, vectors: np.ndarray, top_k: int) -> list[list[Candidate]]:
    """The top_k codes for every row of `vectors`, best first, each with its best-matching evidence."""
    if len(vectors) == 0:
        return []
    sims = vectors @ index.vectors.T  # (sentences, evidence units)
    starts = _code_slices(index)
    ends = np.r_[starts[1:], len(index.units)]
    scores = np.clip(np.maximum.reduceat(sims, starts, axis=1), 0.0, 1.0)
    k = min(top_k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    results: list[list[Candidate]] = []
    for row, codes in enumerate(top):
        candidates = []
        for c in codes[np.argsort(-scores[row, codes], kind="stable")]:
            unit = index.units[starts[c] + int(np.argmax(sims[row, starts[c]:ends[c]]))]
            code = index.codes[c]
            candidates.append(Candidate(code.id, code.label, index.groups[c], round(float(scores[row, c]), 4),
                                        unit.kind, unit.text, unit.source))
        results.append(candidates)
    return results
