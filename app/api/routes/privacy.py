"""Participants' data: delete a transcript and everything made from its words (admins); the audit rows."""

from fastapi import APIRouter

from app.api.deps import Admin, CoderDep, SessionDep
from app.api.schemas.common import ErrorOut, Id
from app.api.schemas.privacy import DeletionOut
from app.db.tables import TranscriptDeletion
from app.services import privacy

router = APIRouter(tags=["participants' data"])


def deletion_out(row: TranscriptDeletion) -> DeletionOut:
    return DeletionOut(id=row.id, transcript_id=row.transcript_id, title=row.title,
                       participant_id=row.participant_id, deleted_by=row.deleted_by_name,
                       deleted_at=row.deleted_at, removed=row.removed)


@router.delete("/transcripts/{transcript_id}", response_model=DeletionOut, responses={404: {"model": ErrorOut}})
def delete_transcript(transcript_id: Id, user: Admin, session: SessionDep, coder: CoderDep) -> DeletionOut:
    """Delete a transcript: its text, segments and their vectors, suggestion runs and suggestions, every
    decision on it, its sentences in the embedding cache, and its words quoted as evidence in other
    transcripts' suggestions. An audit row stays: who, which transcript, its title and participant id, when,
    and how many rows went; never the text."""
    return deletion_out(privacy.delete_transcript(session, coder, transcript_id, user))


@router.get("/deletions", response_model=list[DeletionOut])
def list_deletions(user: Admin, session: SessionDep) -> list[DeletionOut]:
    """Every transcript deletion, oldest first."""
    return [deletion_out(r) for r in privacy.deletions(session, user)]
