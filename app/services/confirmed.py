"""Confirmed sentences as evidence at once: after a coder confirms a code on a sentence, similar sentences in
any transcript are suggested that code with the confirmed sentence shown as the evidence, before any retrain.

Which confirmations count follows the blind rule for the person asking, read through their Visibility
(app/services/visibility.py): under blind coding a coder's suggestions draw only on their own confirmations
(another coder's would tell them how that coder coded); admins, viewers, the command line, and everyone when
coding is not blind, draw on every coder's.

They are never stored: a stored suggestion run is read by every coder, so confirmed evidence is computed for
each reader when a transcript is read (`near_confirmed`), and for the caller of the stateless POST /suggest.
(A run once stored "confirmed example: transcript 1, PW2, coded by <coder A>" and coder B read it.)
"""

import threading

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import decisions as decisions_db
from app.db.tables import Decision, TranscriptDeletion
from app.engine.code_index import CONFIRMED, CodeIndex, EvidenceUnit
from app.engine.suggest import CONFIRMED_MIN_SIMILARITY, Candidate, ConfirmedExamples
from app.services.visibility import Visibility, replay


class ConfirmedCache:
    """Confirmed examples per (codes, embedding model, scope), rebuilt only when a decision was added."""

    def __init__(self) -> None:
        self._cache: dict[tuple, ConfirmedExamples | None] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every cached set (a transcript was deleted: its confirmed sentences must not be shown)."""
        with self._lock:
            self._cache.clear()

    def get(self, session: Session, codes: tuple[str, ...], model_id: str, visibility: Visibility,
            min_similarity: float = CONFIRMED_MIN_SIMILARITY) -> ConfirmedExamples | None:
        last = session.scalar(select(func.max(Decision.id))) or 0
        # A deletion removes decisions without adding one: its audit row changes the key, in every process of
        # the service (with two workers, the other one once kept quoting a deleted sentence).
        erased = session.scalar(select(func.max(TranscriptDeletion.id))) or 0
        coders = visibility.coder_ids(session)
        key = (codes, model_id, frozenset(coders) if coders is not None else None, last, erased, min_similarity)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        examples = confirmed_examples(session, list(codes), model_id, visibility, min_similarity)
        with self._lock:
            if len(self._cache) > 64:  # older decision ids are never asked for again
                self._cache.clear()
            self._cache[key] = examples
        return examples


def confirmed_examples(session: Session, codes: list[str], model_id: str, visibility: Visibility,
                       min_similarity: float = CONFIRMED_MIN_SIMILARITY) -> ConfirmedExamples | None:
    """Every sentence a coder `visibility` may read currently labels with one of `codes`."""
    column = {c: j for j, c in enumerate(codes)}
    given: dict[tuple[int, str], int] = {}  # (segment, code) -> the first coder who confirmed it
    decisions = visibility.decisions(session)
    for (segment, coder), state in replay(decisions).items():
        for code in state.labels:
            if code in column and code not in state.ends:  # a span's code belongs to the passage, not its first
                given.setdefault((segment, code), coder)    # sentence: that sentence alone is no example of it
    if not given:
        return None
    vectors = decisions_db.segment_vectors(session, ids=sorted({s for s, _ in given}), model_id=model_id)
    segments = decisions_db.segments_by_id(session, ids=set(vectors))
    names = visibility.names(session, decisions)
    rows, units, segment_ids = [], [], []
    for (segment, code), coder in sorted(given.items()):
        if segment not in vectors:
            continue  # embedded by another model: its vector is not comparable
        seg = segments[segment]
        segment_ids.append(segment)
        rows.append(np.frombuffer(vectors[segment][1], dtype=np.float32))
        units.append(EvidenceUnit(column[code], CONFIRMED, seg.text,
                                  f"confirmed example: transcript {seg.transcript_id}, {seg.speaker}, "
                                  f"coded by {names.get(coder, f'coder {coder}')}"))
    if not rows:
        return None
    return ConfirmedExamples(np.stack(rows), tuple(units), min_similarity, tuple(segment_ids))


def near_confirmed(segments: list, model_id: str, confirmed: ConfirmedExamples | None, index: CodeIndex,
                   ) -> dict[int, list[Candidate]]:
    """segment id -> the codes the reader's confirmations give it (best evidence per code, most similar first):
    each confirmed sentence at least `confirmed.min_similarity` similar to it, other than the sentence itself.
    Computed from the stored vectors when a transcript is read; never stored."""
    rows = [s for s in segments if s.skip_reason is None and s.embedding is not None and s.embedding_model == model_id]
    if confirmed is None or not rows:
        return {}
    vectors = np.stack([np.frombuffer(s.embedding, dtype=np.float32) for s in rows])
    sims = vectors @ confirmed.vectors.T
    best: dict[int, dict[str, Candidate]] = {}  # segment id -> code -> its best evidence
    for r, c in zip(*np.nonzero(sims >= confirmed.min_similarity), strict=True):
        seg, unit = rows[r], confirmed.units[c]
        if confirmed.segment_ids and confirmed.segment_ids[c] == seg.id:
            continue
        code = index.codes[unit.code]
        here = best.setdefault(seg.id, {})
        score = round(float(min(sims[r, c], 1.0)), 4)
        if code.id not in here or here[code.id].score < score:
            here[code.id] = Candidate(code.id, code.label, index.groups[unit.code], score, unit.kind, unit.text,
                                      unit.source)
    return {seg: sorted(codes.values(), key=lambda x: -x.score) for seg, codes in best.items()}
