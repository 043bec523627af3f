"""Reads and writes for review: segments, suggestions and runs by id, codebook snapshots, decisions.

Callers own the transaction: nothing here commits.
"""

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.tables import CodebookSnapshot, Decision, Segment, Suggestion, SuggestionRun


def segments_by_id(session: Session, *, ids: set[int]) -> dict[int, Segment]:
    return {s.id: s for s in session.scalars(select(Segment).where(Segment.id.in_(ids)))} if ids else {}


def current_suggestions(session: Session, *, segment_ids: set[int]) -> dict[int, tuple[list[Suggestion], float]]:
    """segment id -> its current run's suggestions (by rank) and that run's threshold, for these segments."""
    if not segment_ids:
        return {}
    query = (select(Suggestion, SuggestionRun.threshold).join(SuggestionRun, SuggestionRun.id == Suggestion.run_id)
             .where(SuggestionRun.current.is_(True), Suggestion.segment_id.in_(segment_ids))
             .order_by(Suggestion.segment_id, Suggestion.rank))
    out: dict[int, tuple[list[Suggestion], float]] = {}
    for suggestion, threshold in session.execute(query):
        out.setdefault(suggestion.segment_id, ([], threshold))[0].append(suggestion)
    return out


def segments_in_range(session: Session, *, transcript_id: int, first: int, last: int) -> list[Segment]:
    """A transcript's segments from position `first` to `last`, both included, in order."""
    query = select(Segment).where(Segment.transcript_id == transcript_id, Segment.position >= first,
                                  Segment.position <= last)
    return list(session.scalars(query.order_by(Segment.position)))


def suggestions_by_id(session: Session, *, ids: set[int]) -> dict[int, Suggestion]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Suggestion).where(Suggestion.id.in_(ids)))}


def runs_by_id(session: Session, *, ids: set[int]) -> dict[int, SuggestionRun]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(SuggestionRun).where(SuggestionRun.id.in_(ids)))}


def snapshot(session: Session, *, digest: str) -> CodebookSnapshot | None:
    return session.get(CodebookSnapshot, digest)


def add_decisions(session: Session, *, rows: Sequence[dict]) -> list[Decision]:
    decisions = [Decision(**row) for row in rows]
    session.add_all(decisions)
    session.flush()
    return decisions


def decisions(session: Session, *, transcript_ids: Sequence[int] | None = None,
              segment_ids: Sequence[int] | None = None, coder_id: int | None = None,
              coder_ids: Iterable[int] | None = None, until_id: int | None = None,
              stage: str | None = "coding") -> list[Decision]:
    """Decisions in the order they were made (id order), filtered (coder_ids None: every coder's). By default
    coders' own coding; stage "consensus" reads adjudicated codes, None both."""
    query = select(Decision)
    if stage is not None:
        query = query.where(Decision.stage == stage)
    if until_id is not None:
        query = query.where(Decision.id <= until_id)
    if transcript_ids is not None:
        query = query.where(Decision.transcript_id.in_(transcript_ids))
    if segment_ids is not None:
        query = query.where(Decision.segment_id.in_(segment_ids))
    if coder_id is not None:
        query = query.where(Decision.coder_id == coder_id)
    if coder_ids is not None:
        query = query.where(Decision.coder_id.in_(sorted(coder_ids)))
    return list(session.scalars(query.order_by(Decision.id)))


def decided_by(*, coder_id: int) -> Select:
    """The segments one coder decided on in their own coding, as a subquery. A memo alone is a note, not a
    decision about codes: the sentence stays open (docs/review-page.md), in progress and the queue alike."""
    return select(Decision.segment_id).where(Decision.coder_id == coder_id, Decision.stage == "coding",
                                             Decision.action != "memo")


def decided_segment_ids(session: Session, *, coder_id: int) -> list[int]:
    """The segments one coder made any decision on in their own coding (consensus decisions are not theirs)."""
    return list(session.scalars(decided_by(coder_id=coder_id).distinct()))


def current_runs(session: Session, *, transcript_ids: Sequence[int] | None = None) -> list[SuggestionRun]:
    query = select(SuggestionRun).where(SuggestionRun.current.is_(True))
    if transcript_ids is not None:
        query = query.where(SuggestionRun.transcript_id.in_(transcript_ids))
    return list(session.scalars(query))


def shown_suggestions(session: Session, *, run_ids: Sequence[int]) -> list[Suggestion]:
    """The suggestions a run showed: those at or over its threshold."""
    if not run_ids:
        return []
    query = (select(Suggestion).join(SuggestionRun, SuggestionRun.id == Suggestion.run_id)
             .where(Suggestion.run_id.in_(run_ids), Suggestion.score >= SuggestionRun.threshold))
    return list(session.scalars(query))


def coded_segment_ids(session: Session, *, transcript_ids: Sequence[int] | None = None) -> list[int]:
    query = select(Segment.id).where(Segment.skip_reason.is_(None))
    if transcript_ids is not None:
        query = query.where(Segment.transcript_id.in_(transcript_ids))
    return list(session.scalars(query))


def codable_per_transcript(session: Session, *, transcript_ids: Sequence[int]) -> dict[int, int]:
    """transcript id -> its sentences to code (those not skipped)."""
    query = (select(Segment.transcript_id, func.count()).where(Segment.transcript_id.in_(transcript_ids),
                                                                Segment.skip_reason.is_(None))
             .group_by(Segment.transcript_id))
    return {tid: n for tid, n in session.execute(query)}


def decided_per_coder(session: Session, *, transcript_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(transcript id, coder id) -> sentences to code on which that coder made any coding-stage decision."""
    query = (select(Decision.transcript_id, Decision.coder_id, func.count(func.distinct(Decision.segment_id)))
             .join(Segment, Segment.id == Decision.segment_id)
             .where(Decision.transcript_id.in_(transcript_ids), Decision.stage == "coding",
                    Decision.action != "memo", Segment.skip_reason.is_(None))
             .group_by(Decision.transcript_id, Decision.coder_id))
    return {(tid, coder): n for tid, coder, n in session.execute(query)}


def segment_vectors(session: Session, *, ids: Sequence[int], model_id: str,
                    chunk: int = 1000) -> dict[int, tuple[int, bytes]]:
    """segment id -> (transcript id, stored embedding) for segments embedded by `model_id`."""
    out: dict[int, tuple[int, bytes]] = {}
    ids = list(ids)
    for start in range(0, len(ids), chunk):
        query = select(Segment.id, Segment.transcript_id, Segment.embedding).where(
            Segment.id.in_(ids[start:start + chunk]), Segment.embedding_model == model_id,
            Segment.embedding.is_not(None))
        out |= {sid: (tid, emb) for sid, tid, emb in session.execute(query)}
    return out


def segments_not_embedded_by(session: Session, *, ids: Sequence[int], model_id: str,
                             chunk: int = 1000) -> list[Segment]:
    """The segments among `ids` with no stored vector from `model_id` (none, or another model's)."""
    out: list[Segment] = []
    ids = list(ids)
    for start in range(0, len(ids), chunk):
        query = select(Segment).where(Segment.id.in_(ids[start:start + chunk])).where(
            (Segment.embedding_model != model_id) | Segment.embedding_model.is_(None) | Segment.embedding.is_(None))
        out += session.scalars(query)
    return out


def decided_per_transcript(session: Session, *, coder_id: int, transcript_ids: Sequence[int]) -> dict[int, int]:
    """transcript id -> segments one coder made any decision on there, in their own coding."""
    query = (select(Decision.transcript_id, func.count(func.distinct(Decision.segment_id)))
             .where(Decision.transcript_id.in_(transcript_ids), Decision.coder_id == coder_id,
                    Decision.stage == "coding", Decision.action != "memo")
             .group_by(Decision.transcript_id))
    return {tid: n for tid, n in session.execute(query)}


def segment_places(session: Session, *, transcript_ids: Sequence[int] | None = None) -> list[tuple]:
    """(segment id, transcript id, turn, position, skip reason) of every segment, in transcript order: what
    agreement and consensus need to turn spans into sentences without loading texts."""
    query = select(Segment.id, Segment.transcript_id, Segment.turn_index, Segment.position, Segment.skip_reason)
    if transcript_ids is not None:
        query = query.where(Segment.transcript_id.in_(transcript_ids))
    return [tuple(row) for row in session.execute(query.order_by(Segment.transcript_id, Segment.position))]


def transcripts_with_stage(session: Session, *, stage: str, transcript_ids: Sequence[int] | None = None) -> set[int]:
    """The transcripts with any decision of this stage (for "consensus": those an adjudicator has begun)."""
    query = select(Decision.transcript_id).where(Decision.stage == stage).distinct()
    if transcript_ids is not None:
        query = query.where(Decision.transcript_id.in_(transcript_ids))
    return set(session.scalars(query))
