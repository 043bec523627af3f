"""Transcript metadata edits: the audit rows (who changed which field from what to what), and the counts an
edit needs to say what it left stale."""

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.db.tables import Decision, TranscriptEdit


def add_edit(session: Session, *, transcript_id: int, edited_by: int | None, edited_by_name: str,
             changes: dict) -> TranscriptEdit:
    row = TranscriptEdit(transcript_id=transcript_id, edited_by=edited_by, edited_by_name=edited_by_name,
                         changes=changes)
    session.add(row)
    session.flush()
    return row


def edits(session: Session, *, transcript_id: int) -> list[TranscriptEdit]:
    """A transcript's edits, oldest first."""
    query = select(TranscriptEdit).where(TranscriptEdit.transcript_id == transcript_id)
    return list(session.scalars(query.order_by(TranscriptEdit.id)))


def decisions_touching(session: Session, *, segment_ids: Sequence[int]) -> int:
    """How many decisions (any coder, any stage) start or end on these segments."""
    if not segment_ids:
        return 0
    ids = list(segment_ids)
    query = select(func.count()).select_from(Decision).where(
        or_(Decision.segment_id.in_(ids), Decision.end_segment_id.in_(ids)))
    return session.scalar(query) or 0
