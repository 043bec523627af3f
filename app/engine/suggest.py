"""Rank a codebook's codes for each sentence by similarity to their definitions and exemplars.

How definition and exemplars are combined: every code has several pieces of evidence (its definition line,
each exemplar, and each sentence of a long exemplar). A code's score is the mean cosine similarity of the
sentence to the code's `evidence_k` best-matching pieces (3 by default; all of them if it has fewer),
clipped to [0, 1]. The mean of the best few behaves like a nearest-neighbour vote: a code scores high when
its definition and exemplars agree about the sentence, not when one stray exemplar happens to share a word
with it, and codes with many exemplars gain less from sheer numbers than under a plain maximum. The evidence
shown to the coder is the single best-matching piece. On held-out quotes this beat the plain maximum, the
definition alone and fixed weightings of definition and best exemplar (README, "How suggestions are scored").
"""

from collections.abc import Callable
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
    for i in range(len(vectors)):
        lo, hi = max(0, i - window), min(len(vectors), i + window + 1)
        neighbours = [j for j in range(lo, hi) if j != i and groups[j] == groups[i]]
        if neighbours:
            out[i] = vectors[i] + weight * vectors[neighbours].mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _slices(index: CodeIndex) -> list[tuple[int, int]]:
    """(start, end) rows of each code's evidence; units are stored grouped by code, in code order."""
    bounds: list[tuple[int, int]] = []
    for row, unit in enumerate(index.units):
        if unit.code == len(bounds):
            bounds.append((row, row + 1))
        else:
            bounds[-1] = (bounds[-1][0], row + 1)
    return bounds


def score_codes(index: CodeIndex, vectors: np.ndarray, evidence_k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Scores (sentences x codes) in [0, 1], and for each the row of the best-matching evidence unit."""
    sims = vectors @ index.vectors.T
    scores = np.empty((len(vectors), len(index.codes)), dtype=np.float32)
    best = np.empty((len(vectors), len(index.codes)), dtype=np.int64)
    for c, (start, end) in enumerate(_slices(index)):
        block = sims[:, start:end]
        k = min(evidence_k, end - start)
        top = np.partition(block, end - start - k, axis=1)[:, end - start - k:]
        scores[:, c] = top.mean(axis=1)
        best[:, c] = start + block.argmax(axis=1)
    return np.clip(scores, 0.0, 1.0), best


def suggest(index: CodeIndex, vectors: np.ndarray, top_k: int, evidence_k: int = 3,
            rescore: Callable[[np.ndarray], np.ndarray] | None = None) -> list[list[Candidate]]:
    """The top_k codes for every row of `vectors`, best first, each with its best-matching evidence.

    `rescore` turns the similarity matrix into the served scores (a trained classifier blended in); the
    evidence shown stays the codebook text the sentence matched best.
    """
    if len(vectors) == 0:
        return []
    scores, best = score_codes(index, vectors, evidence_k)
    if rescore is not None:
        scores = rescore(scores)
    k = min(top_k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    results: list[list[Candidate]] = []
    for row, codes in enumerate(top):
        candidates = []
        for c in codes[np.argsort(-scores[row, codes], kind="stable")]:
            unit, code = index.units[best[row, c]], index.codes[c]
            candidates.append(Candidate(code.id, code.label, index.groups[c], round(float(scores[row, c]), 4),
                                        unit.kind, unit.text, unit.source))
        results.append(candidates)
    return results
