"""Deleting a transcript and everything derived from its text; the audit row that is all that stays."""

from collections.abc import Callable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.db import discovery
from app.db.tables import (
    CodebookSnapshot,
    Decision,
    Segment,
    Suggestion,
    SuggestionRun,
    Transcript,
    TranscriptDeletion,
    TranscriptEdit,
    UploadedCodebook,
)

REDACTED = "[deleted transcript]"


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def delete_transcript(session: Session, *, transcript: Transcript, confirmed_kind: str,
                      terms_in: Callable[[list[str]], set[str]]) -> tuple[dict[str, int], list[str]]:
    """Delete the transcript, its segments (text and vectors), runs, suggestions and the decisions on it;
    redact other transcripts' suggestions that quoted one of its sentences as confirmed evidence (their
    evidence_kind is `confirmed_kind`).
    Returns the counts removed and its sentence texts (for caches outside the database). Nothing commits."""
    tid = transcript.id
    places = list(session.execute(select(Segment.id, Segment.role, Segment.text).where(Segment.transcript_id == tid)))
    texts = [text for _, _, text in places]
    runs = select(SuggestionRun.id).where(SuggestionRun.transcript_id == tid)
    segment_ids = select(Segment.id).where(Segment.transcript_id == tid)
    counts = {
        "segments": len(texts),
        "vectors": _count(session, select(Segment.id).where(Segment.transcript_id == tid,
                                                             Segment.embedding.is_not(None))),
        "runs": _count(session, runs),
        "suggestions": _count(session, select(Suggestion.id).where(Suggestion.run_id.in_(runs))),
        "decisions": _count(session, select(Decision.id).where(
            (Decision.transcript_id == tid) | Decision.segment_id.in_(segment_ids))),
    }
    # A confirmed sentence is shown as evidence for similar sentences elsewhere (app/services/confirmed.py):
    # those suggestions keep their code and score, but not the deleted participant's words.
    # So is a sentence promoted into a codebook as an exemplar (app/services/discovery.py): see below.
    quoted = (Suggestion.evidence_kind.in_((confirmed_kind, "exemplar")) & Suggestion.evidence_text.in_(set(texts))
              & Suggestion.run_id.not_in(runs))
    counts["evidence_redacted"] = session.execute(
        update(Suggestion).where(quoted).values(evidence_text=REDACTED, evidence_source=REDACTED)
        .execution_options(synchronize_session=False)).rowcount
    # Discovery: its sentences leave candidates and maps; promoted as exemplars, they leave every codebook
    # version and snapshot that holds them (the code stays, with its definition and other exemplars).
    counts["discovery_sentences"] = discovery.forget_segments(
        session, segment_ids={i for i, _, _ in places}, roles={i: r for i, r, _ in places}, transcript_id=tid,
        terms_in=terms_in)
    counts["codebook_exemplars"] = _drop_exemplars(session, set(texts))
    # Children first, explicitly: the same on SQLite with or without foreign keys and on PostgreSQL.
    session.execute(delete(Decision).where((Decision.transcript_id == tid) | Decision.segment_id.in_(segment_ids))
                    .execution_options(synchronize_session=False))
    session.execute(delete(Suggestion).where(Suggestion.run_id.in_(runs)).execution_options(synchronize_session=False))
    session.execute(delete(SuggestionRun).where(SuggestionRun.transcript_id == tid)
                    .execution_options(synchronize_session=False))
    session.execute(delete(Segment).where(Segment.transcript_id == tid).execution_options(synchronize_session=False))
    # Its metadata edits held the participant's old ids and sites: they go too (the deletion row stays).
    session.execute(delete(TranscriptEdit).where(TranscriptEdit.transcript_id == tid)
                    .execution_options(synchronize_session=False))
    session.expunge(transcript)
    session.execute(delete(Transcript).where(Transcript.id == tid))
    return counts, texts


def _without(codes: list, texts: set[str]) -> tuple[list, int]:
    """The codes with every exemplar whose text is in `texts` taken out, and how many went."""
    out, gone = [], 0
    for code in codes:
        exemplars = code.get("exemplars") or []
        kept = [e for e in exemplars if not (isinstance(e, dict) and e.get("text") in texts)]
        gone += len(exemplars) - len(kept)
        out.append({**code, "exemplars": kept} if len(kept) != len(exemplars) else code)
    return out, gone


def _drop_exemplars(session: Session, texts: set[str]) -> int:
    """Take exemplars quoting these sentences out of every uploaded codebook version and every stored snapshot
    (a snapshot is a list of parts, each with its codes). Returns how many exemplars went."""
    if not texts:
        return 0
    gone = 0
    for row in session.scalars(select(UploadedCodebook)):
        codes, n = _without(row.content.get("codes") or [], texts)
        if n:
            row.content, gone = {**row.content, "codes": codes}, gone + n
    for snapshot in session.scalars(select(CodebookSnapshot)):
        parts, changed = [], 0
        for part in snapshot.content:
            codes, n = _without(part.get("codes") or [], texts)
            parts.append({**part, "codes": codes} if n else part)
            changed += n
        if changed:
            snapshot.content = parts
    session.flush()
    return gone


def add_deletion(session: Session, **fields) -> TranscriptDeletion:
    row = TranscriptDeletion(**fields)
    session.add(row)
    session.flush()
    return row


def deletions(session: Session) -> list[TranscriptDeletion]:
    return list(session.scalars(select(TranscriptDeletion).order_by(TranscriptDeletion.id)))
