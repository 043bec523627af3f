"""Reads and writes for discovery runs and their candidates, and the sentences a run looks at. Callers own the
transaction: nothing here commits."""

from collections.abc import Iterator, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.tables import (
    DiscoveryCandidate,
    DiscoveryRun,
    Segment,
    Suggestion,
    SuggestionRun,
    Transcript,
    utcnow,
)


def add_run(session: Session, **fields) -> DiscoveryRun:
    row = DiscoveryRun(**fields)
    session.add(row)
    session.flush()
    return row


def get_run(session: Session, *, run_id: int) -> DiscoveryRun | None:
    return session.get(DiscoveryRun, run_id)


def list_runs(session: Session, *, limit: int = 100) -> list[DiscoveryRun]:
    return list(session.scalars(select(DiscoveryRun).order_by(DiscoveryRun.id.desc()).limit(limit)))


def fail_unfinished(session: Session, *, message: str) -> int:
    """Mark runs left queued or running by a stopped process as failed; how many there were."""
    result = session.execute(update(DiscoveryRun).where(DiscoveryRun.status.in_(("queued", "running")))
                             .values(status="failed", message=message, finished_at=utcnow()))
    return result.rowcount


def add_candidates(session: Session, *, run_id: int, rows: Sequence[dict]) -> None:
    session.add_all(DiscoveryCandidate(run_id=run_id, **row) for row in rows)
    session.flush()


def candidates(session: Session, *, run_id: int) -> list[DiscoveryCandidate]:
    query = select(DiscoveryCandidate).where(DiscoveryCandidate.run_id == run_id)
    return list(session.scalars(query.order_by(DiscoveryCandidate.number)))


def candidate(session: Session, *, run_id: int, number: int) -> DiscoveryCandidate | None:
    query = select(DiscoveryCandidate).where(DiscoveryCandidate.run_id == run_id,
                                             DiscoveryCandidate.number == number)
    return session.scalars(query).first()


def chosen_transcripts(session: Session, *, codebook_name: str, role: str | None = None, site: str | None = None,
                       arm: str | None = None,
                       transcript_ids: Sequence[int] | None = None) -> list[tuple[int, int, float]]:
    """(transcript id, current run id, run threshold) of the transcripts whose current suggestion run used
    `codebook_name`, narrowed by the transcript's role, site and arm."""
    query = (select(Transcript.id, SuggestionRun.id, SuggestionRun.threshold)
             .join(SuggestionRun, SuggestionRun.transcript_id == Transcript.id)
             .where(SuggestionRun.current.is_(True), SuggestionRun.codebook_name == codebook_name))
    if site is not None:
        query = query.where(Transcript.site == site)
    if arm is not None:
        query = query.where(Transcript.trial_arm == arm)
    if transcript_ids is not None:
        query = query.where(Transcript.id.in_(list(transcript_ids)))
    del role  # a role filters sentences (the speaker's), not transcripts: see codable_segments
    return [tuple(row) for row in session.execute(query.order_by(Transcript.id))]


def codable_segments(session: Session, *, transcript_ids: Sequence[int], role: str | None = None,
                     chunk: int = 500) -> Iterator[tuple]:
    """(segment id, transcript id, role, text, embedding, embedding model) of the sentences to code (not
    skipped) in these transcripts, said by `role` if given; read in chunks of transcripts."""
    ids = list(transcript_ids)
    for start in range(0, len(ids), chunk):
        query = (select(Segment.id, Segment.transcript_id, Segment.role, Segment.text, Segment.embedding,
                        Segment.embedding_model)
                 .where(Segment.transcript_id.in_(ids[start:start + chunk]), Segment.skip_reason.is_(None)))
        if role is not None:
            query = query.where(Segment.role == role)
        yield from (tuple(row) for row in session.execute(query.order_by(Segment.transcript_id, Segment.position)))


def sentence_suggestions(session: Session, *, run_ids: Sequence[int], chunk: int = 500) -> Iterator[tuple]:
    """(segment id, code id, score, run threshold) of the one-sentence suggestions of these runs."""
    ids = list(run_ids)
    for start in range(0, len(ids), chunk):
        query = (select(Suggestion.segment_id, Suggestion.code_id, Suggestion.score, SuggestionRun.threshold)
                 .join(SuggestionRun, SuggestionRun.id == Suggestion.run_id)
                 .where(Suggestion.run_id.in_(ids[start:start + chunk]), Suggestion.end_segment_id.is_(None)))
        yield from (tuple(row) for row in session.execute(query))


def segment_texts(session: Session, *, ids: Sequence[int]) -> dict[int, tuple[int, str, str]]:
    """segment id -> (transcript id, role, text)."""
    out: dict[int, tuple[int, str, str]] = {}
    ids = list(ids)
    for start in range(0, len(ids), 1000):
        query = select(Segment.id, Segment.transcript_id, Segment.role, Segment.text).where(
            Segment.id.in_(ids[start:start + 1000]))
        out |= {sid: (tid, role, text) for sid, tid, role, text in session.execute(query)}
    return out


def transcripts_on_codebooks(session: Session, *, names: Sequence[str]) -> list[int]:
    """The transcripts whose current run used one of these codebooks (what a re-code re-suggests)."""
    query = (select(SuggestionRun.transcript_id).where(SuggestionRun.current.is_(True),
                                                       SuggestionRun.codebook_name.in_(list(names))))
    return sorted(set(session.scalars(query)))
