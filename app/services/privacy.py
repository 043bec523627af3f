"""Participants' data: an admin deletes a transcript and everything derived from its words; an audit row
(who, which transcript, its title and participant id, when, how many rows went) is all that stays."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.batch.cache import forget
from app.db import deletions as db
from app.db import store
from app.db.tables import TranscriptDeletion, User
from app.engine.code_index import CONFIRMED
from app.engine.discovery import terms_in
from app.errors import NotFound
from app.services.accounts import require
from app.services.coding import Coder


def delete_transcript(session: Session, coder: Coder, transcript_id: int, who: User) -> TranscriptDeletion:
    """Delete a transcript, its segments and vectors, runs, suggestions, the decisions on it, its sentences in
    the batch embedding cache, and its words quoted as evidence elsewhere; commit, and return the audit row."""
    require(who, "admin")
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:  # freed pages are overwritten, so the words do not linger in the database file either
        session.execute(text("PRAGMA secure_delete=ON"))
    if not store.lock_transcript(session, transcript_id=transcript_id):  # no run or decision slips in meanwhile
        raise NotFound(f"no transcript with id {transcript_id}")
    transcript = store.get_transcript(session, transcript_id=transcript_id)
    title, participant = transcript.title, transcript.participant_id
    removed, sentences = db.delete_transcript(session, transcript=transcript, confirmed_kind=CONFIRMED,
                                              terms_in=terms_in)
    # The cache of precoding jobs is keyed by sentence text: a sentence said in another transcript too is
    # only encoded again there.
    removed["cached_embeddings"] = forget(coder.settings.cache_dir / "embeddings", sentences)
    row = db.add_deletion(session, transcript_id=transcript_id, title=title, participant_id=participant,
                          deleted_by=who.id, deleted_by_name=who.name, removed=removed)
    session.commit()
    coder.confirmed.clear()  # its confirmed sentences were evidence for everyone's suggestions
    if removed["codebook_exemplars"]:  # promoted exemplars: codebooks parsed and indexed before hold its words
        coder.catalog.forget_parsed()
        coder.indexes.forget(sentences)
    if sqlite:
        session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # out of the write-ahead log too
        session.commit()
    return row


def deletions(session: Session, who: User) -> list[TranscriptDeletion]:
    """Every deletion's audit row, oldest first (admins)."""
    require(who, "admin")
    return db.deletions(session)
