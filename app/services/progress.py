"""Who has finished which transcript: a coder marks a transcript finished (or reopens it); an adjudicator marks
its consensus finished. Agreement compares coders only on transcripts each of them finished, and an admin's
progress view lists every coder per transcript.

Marks are appended, never changed: the newest mark per transcript, coder and stage holds.
"""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.db import marks, store
from app.db.tables import User
from app.errors import NotFound
from app.services.accounts import require

STAGES = ("coding", "consensus")


def mark(session: Session, user: User, transcript_id: int, *, finished: bool = True,
         stage: str = "coding") -> None:
    """Record that `user` finished (or reopened) their coding, or the consensus, of a transcript."""
    require(user, "adjudicator" if stage == "consensus" else "coder")
    if store.get_transcript(session, transcript_id=transcript_id) is None:
        raise NotFound(f"no transcript with id {transcript_id}")
    marks.add_mark(session, transcript_id=transcript_id, coder_id=user.id, finished=finished, stage=stage)
    session.commit()


def finished_coders(session: Session, transcript_ids: Sequence[int] | None = None,
                    stage: str = "coding") -> dict[int, set[int]]:
    """transcript id -> ids of the coders who have it marked finished (stage "consensus": adjudicators)."""
    return marks.finished(session, transcript_ids=transcript_ids, stage=stage)
