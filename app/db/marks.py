"""Reads and writes of finish marks: a coder (or the adjudicator, stage "consensus") saying a transcript is done.

Callers own the transaction: nothing here commits.
"""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.tables import FinishMark


def add_mark(session: Session, *, transcript_id: int, coder_id: int, finished: bool,
             stage: str = "coding") -> FinishMark:
    mark = FinishMark(transcript_id=transcript_id, coder_id=coder_id, finished=finished, stage=stage)
    session.add(mark)
    session.flush()
    return mark


def finished(session: Session, *, transcript_ids: Sequence[int] | None = None,
             stage: str = "coding") -> dict[int, set[int]]:
    """transcript id -> the coders whose newest mark there says finished."""
    query = select(FinishMark).where(FinishMark.stage == stage)
    if transcript_ids is not None:
        query = query.where(FinishMark.transcript_id.in_(transcript_ids))
    newest: dict[tuple[int, int], bool] = {}
    for mark in session.scalars(query.order_by(FinishMark.id)):
        newest[(mark.transcript_id, mark.coder_id)] = mark.finished
    out: dict[int, set[int]] = {}
    for (tid, coder), done in newest.items():
        if done:
            out.setdefault(tid, set()).add(coder)
    return out
