"""Keyword-only reads and writes. Callers own the transaction: nothing here commits."""

from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.db.tables import (
    CodebookSnapshot,
    Segment,
    Suggestion,
    SuggestionRun,
    Transcript,
    UploadedCodebook,
    utcnow,
)


def latest_uploaded_codebook(session: Session, *, name: str) -> UploadedCodebook | None:
    query = select(UploadedCodebook).where(UploadedCodebook.name == name).order_by(UploadedCodebook.id.desc())
    return session.scalars(query.limit(1)).first()


def latest_uploaded_digest(session: Session, *, name: str) -> tuple[int, str] | None:
    """(row id, digest) of the newest upload under `name`, without loading its content."""
    query = (select(UploadedCodebook.id, UploadedCodebook.digest).where(UploadedCodebook.name == name)
             .order_by(UploadedCodebook.id.desc()).limit(1))
    row = session.execute(query).first()
    return (row[0], row[1]) if row else None


def uploaded_codebook(session: Session, *, row_id: int) -> UploadedCodebook | None:
    return session.get(UploadedCodebook, row_id)


def uploaded_codebook_names(session: Session) -> list[str]:
    return list(session.scalars(select(UploadedCodebook.name).distinct().order_by(UploadedCodebook.name)))


def add_uploaded_codebook(session: Session, *, name: str, version: str, digest: str,
                          content: dict) -> UploadedCodebook:
    row = UploadedCodebook(name=name, version=version, digest=digest, content=content)
    session.add(row)
    session.flush()
    return row


def ensure_snapshot(session: Session, *, digest: str, name: str, version: str, content: list) -> None:
    """Store a resolved codebook once, so every run can be traced to its exact text."""
    if session.get(CodebookSnapshot, digest) is None:
        session.add(CodebookSnapshot(digest=digest, name=name, version=version, content=content))
        session.flush()


def add_transcript(session: Session, *, fields: dict, segments: Sequence[dict]) -> Transcript:
    transcript = Transcript(**fields)
    transcript.segments = [Segment(**row) for row in segments]
    session.add(transcript)
    session.flush()
    return transcript


def lock_transcript(session: Session, *, transcript_id: int) -> bool:
    """Mark activity on the transcript, as the transaction's first write; False if there is no such transcript.

    The row update is the lock: on PostgreSQL it holds the row until commit, on SQLite it starts the write
    transaction. A decision and a re-suggestion of the same transcript therefore run one after the other, and
    whatever the caller reads next is the newest committed state.
    """
    result = session.execute(update(Transcript).where(Transcript.id == transcript_id).values(activity_at=utcnow()))
    return result.rowcount == 1


def add_run(session: Session, *, transcript_id: int, fields: dict, suggestions: Sequence[dict]) -> SuggestionRun:
    """A new current run for a transcript; earlier runs are kept but stop being current."""
    lock_transcript(session, transcript_id=transcript_id)  # no decision on the old run slips in meanwhile
    session.execute(update(SuggestionRun).where(SuggestionRun.transcript_id == transcript_id)
                    .values(current=False))
    run = SuggestionRun(transcript_id=transcript_id, current=True, **fields)
    session.add(run)
    session.flush()
    if suggestions:
        session.execute(insert(Suggestion), [{**row, "run_id": run.id} for row in suggestions])
    return run


def get_transcript(session: Session, *, transcript_id: int) -> Transcript | None:
    return session.get(Transcript, transcript_id)


def list_transcripts(session: Session, *, limit: int, offset: int) -> tuple[int, list[Transcript]]:
    total = session.scalar(select(func.count()).select_from(Transcript)) or 0
    rows = session.scalars(select(Transcript).order_by(Transcript.id).limit(limit).offset(offset))
    return total, list(rows)


def current_run(session: Session, *, transcript_id: int) -> SuggestionRun | None:
    query = select(SuggestionRun).where(SuggestionRun.transcript_id == transcript_id,
                                        SuggestionRun.current.is_(True))
    return session.scalars(query).first()


def run_suggestions(session: Session, *, run_id: int) -> list[Suggestion]:
    query = select(Suggestion).where(Suggestion.run_id == run_id)
    return list(session.scalars(query.order_by(Suggestion.segment_id, Suggestion.rank)))
