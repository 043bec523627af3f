"""Rank a codebook's codes for each sentence by similarity to their definitions and exemplars.

How definition and exemplars are combined: every code has several pieces of evidence (its definition line,
each exemplar, and each sentence of a long exemplar). A code's score is the mean cosine similarity of the
sentence to the code's `evidence_k` best-matching pieces (3 by default; all of them if it has fewer),
clipped to [0, 1]. The mean of the best few behaves like a nearest-neighbour vote: a code scores high when
its definition and exemplars agree about the sentence, not when one stray exemplar happens to share a word
with it, and codes with many exemplars gain less from sheer numbers than under a plain maximum. The evidence
shown to the coder is the single best-matching piece. On held-out quotes this beat the plain maximum, the
definition alone and fixed weightings of definition and best exemplar (README, "How suggestions are scored").

Two corrections then turn similarity to the topic into evidence of the technique (README, "How good are the
suggestions?", ablation):
- Counterexamples: when a sentence is closer to one of a code's counterexamples (sentences that look like the
  code but are not it) than to any of the code's own evidence, the code loses the difference, times
  `counter_weight`.
- Background: ordinary interview talk competes with the codes. The sentence's background match is scored like
  a code (mean of its best `evidence_k` background sentences); a code that does not beat it by `margin` loses
  `background_weight` times the shortfall. Interview talk about peer support is close to every relational
  exemplar, and closer still to the background, so it falls under the threshold and stays uncoded.
Where the codebook has a background to learn from, the background margin gives way to what the codebook teaches
about itself (app/engine/gate.py): codes are ranked by similarity blended with a classifier fitted on their own
definitions and exemplars, and a gate fitted on exemplars against the background decides whether a sentence
shows a technique at all; the served score carries the gate's verdict on the best code (ANCHOR, the service
threshold, at the gate's operating point) and falls off for the codes behind it. The margin rule stays for
codebooks with no background, and for comparison (`gate=False`).
Scores stay on one scale whatever the request's threshold, so "score >= threshold" means "suggested"
everywhere (stored runs, filters, reports, presence).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.engine import gate as gating
from app.engine.code_index import CodeIndex, EvidenceUnit

RANK_FLOOR = 0.1


@dataclass(frozen=True)
class ScoringParams:
    """How counterexamples and the background correct similarity; the defaults were set on the development
    half of the interview set (bench/interview_ablation.py), never on its test half."""

    evidence_k: int = 5
    margin: float = 0.04
    background_weight: float = 2.0
    counter_weight: float = 1.0
    use_background: bool = True
    use_counterexamples: bool = True
    # The gate and codebook classifier (app/engine/gate.py) where the index has them; `gate_bias` moves the
    # gate's operating point (positive: fewer sentences shown, fewer techniques too; docs/evaluation.md).
    gate: bool = True
    gate_bias: float = gating.OPERATING_BIAS
    blend: float = gating.BLEND
    spread: float = gating.SPREAD


# A confirmed sentence this close to a new one makes its code a suggestion on its own, at that similarity:
# near-copies and close paraphrases (MiniLM puts them over 0.8), not sentences that merely share the topic.
# Each encoder has its own scale: its registry entry's paraphrase_similarity (app/engine/encoders.py).
CONFIRMED_MIN_SIMILARITY = 0.75


@dataclass(frozen=True)
class ConfirmedExamples:
    """Sentences coders confirmed, as evidence for their codes (unit.code indexes the CodeIndex's codes)."""

    vectors: np.ndarray
    units: tuple[EvidenceUnit, ...]
    min_similarity: float = CONFIRMED_MIN_SIMILARITY  # on the encoder's own scale
    segment_ids: tuple[int, ...] = ()  # the confirmed sentence of each unit (a sentence is no example for itself)


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
    # A passage suggestion (app/engine/passages.py): the row of the span's last sentence; None for one sentence.
    end: int | None = None


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


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of each row's k largest values."""
    k = min(k, sims.shape[1])
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:].mean(axis=1)


def background_match(index: CodeIndex, vectors: np.ndarray, evidence_k: int = 3) -> np.ndarray | None:
    """Each sentence's match to the codebook's background of ordinary talk (None without a background)."""
    if index.background_vectors is None or len(vectors) == 0:
        return None
    return _top_mean(vectors @ index.background_vectors.T, evidence_k)


def score_codes(index: CodeIndex, vectors: np.ndarray, evidence_k: int | ScoringParams = 3,
                words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores (sentences x codes) in [0, 1], and for each the row of the best-matching evidence unit.
    `words`: each sentence's number of words, which the gate weighs (gate.word_counts(texts)); None counts
    every sentence as of average length."""
    params = evidence_k if isinstance(evidence_k, ScoringParams) else ScoringParams(evidence_k=evidence_k)
    sims = vectors @ index.vectors.T
    scores = np.empty((len(vectors), len(index.codes)), dtype=np.float32)
    best = np.empty((len(vectors), len(index.codes)), dtype=np.int64)
    nearest = np.empty((len(vectors), len(index.codes)), dtype=np.float32)
    for c, (start, end) in enumerate(index.slices):
        block = sims[:, start:end]
        scores[:, c] = _top_mean(block, params.evidence_k)
        best[:, c] = start + block.argmax(axis=1)
        nearest[:, c] = block.max(axis=1)
    similarity = scores.copy()
    gated = params.gate and index.model is not None and len(vectors) > 0
    if params.use_counterexamples and index.counter_vectors is not None and len(vectors):
        counter = vectors @ index.counter_vectors.T
        closest = np.full(scores.shape, -np.inf, dtype=np.float32)  # each code's closest counterexample
        for j, unit in enumerate(index.counter_units):
            closest[:, unit.code] = np.maximum(closest[:, unit.code], counter[:, j])
        scores -= params.counter_weight * np.maximum(closest - nearest, 0.0)
    if gated:
        model = index.model
        logit = model.gate_logit(similarity, _top_mean(vectors @ index.background_vectors.T, gating.EVIDENCE_K),
                                 words)
        return gating.served(scores, model.log_proba(vectors), logit, model.pieces, blend=params.blend,
                             spread=params.spread, bias=params.gate_bias, temperature=model.temperature), best
    if params.use_background:
        background = background_match(index, vectors, params.evidence_k)
        if background is not None:
            shortfall = np.maximum(background[:, None] + params.margin - scores, 0.0)
            scores -= params.background_weight * shortfall
    # A code pushed down keeps a tenth of its similarity, so codes stay in a meaningful order for a coder who
    # wants to add one by hand, while every such score stays under any sensible threshold.
    scores = np.maximum(scores, RANK_FLOOR * similarity)
    return np.clip(scores, 0.0, 1.0), best


def apply_confirmed(scores: np.ndarray, vectors: np.ndarray, confirmed: ConfirmedExamples) -> np.ndarray:
    """Raise each code to the similarity of its closest confirmed sentence where that is at least
    confirmed.min_similarity and higher; returns, per (row, code), the confirmed unit used or -1."""
    used = np.full(scores.shape, -1, dtype=np.int64)
    sims = vectors @ confirmed.vectors.T
    for m, unit in enumerate(confirmed.units):
        stronger = (sims[:, m] >= confirmed.min_similarity) & (sims[:, m] > scores[:, unit.code])
        scores[stronger, unit.code] = np.minimum(sims[stronger, m], 1.0)
        used[stronger, unit.code] = m
    return used


@dataclass(frozen=True)
class Served:
    """The served scores of some texts for every code, and where each score's evidence comes from."""

    scores: np.ndarray  # rows x codes, in [0, 1]
    best: np.ndarray  # rows x codes: the best-matching evidence unit of the code index
    used: np.ndarray | None  # rows x codes: the confirmed unit that raised the score, or -1; None without any

    def candidate(self, index: CodeIndex, confirmed: ConfirmedExamples | None, row: int, c: int) -> Candidate:
        """Code `c` for text `row`, with the evidence shown for it."""
        code = index.codes[c]
        by_confirmed = self.used is not None and self.used[row, c] >= 0
        unit = confirmed.units[self.used[row, c]] if by_confirmed else index.units[self.best[row, c]]
        return Candidate(code.id, code.label, index.groups[c], round(float(self.scores[row, c]), 4),
                         unit.kind, unit.text, unit.source)


def score_served(index: CodeIndex, vectors: np.ndarray, evidence_k: int | ScoringParams = 3,
                  rescore: Callable[[np.ndarray], np.ndarray] | None = None,
                  confirmed: ConfirmedExamples | None = None, words: np.ndarray | None = None) -> Served:
    """Every code's served score for every row of `vectors` (see suggest())."""
    scores, best = score_codes(index, vectors, evidence_k, words)
    if rescore is not None:
        scores = rescore(scores)
    used = apply_confirmed(scores, vectors, confirmed) if confirmed is not None else None
    return Served(scores, best, used)


def rank(index: CodeIndex, served: Served, top_k: int,
         confirmed: ConfirmedExamples | None = None) -> list[list[Candidate]]:
    """The top_k codes of every row of `served`, best first."""
    scores = served.scores
    k = min(top_k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return [[served.candidate(index, confirmed, row, c) for c in codes[np.argsort(-scores[row, codes], kind="stable")]]
            for row, codes in enumerate(top)]


def suggest(index: CodeIndex, vectors: np.ndarray, top_k: int, evidence_k: int | ScoringParams = 3,
            rescore: Callable[[np.ndarray], np.ndarray] | None = None,
            confirmed: ConfirmedExamples | None = None, words: np.ndarray | None = None) -> list[list[Candidate]]:
    """The top_k codes for every row of `vectors`, best first, each with its best-matching evidence.

    `rescore` turns the similarity matrix into the served scores (a trained classifier blended in); the
    evidence shown stays the codebook text the sentence matched best, or the confirmed sentence that raised
    the code (`confirmed`: coders' confirmations, counted at once, before any retrain).
    """
    if len(vectors) == 0:
        return []
    return rank(index, score_served(index, vectors, evidence_k, rescore, confirmed, words), top_k, confirmed)
