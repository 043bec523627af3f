"""Reads and writes for discovery runs and their candidates, and the sentences a run looks at. Callers own the
transaction: nothing here commits."""

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import func, select, update
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


def chosen_transcripts(session: Session, *, codebook_name: str, site: str | None = None, arm: str | None = None,
                       transcript_ids: Sequence[int] | None = None) -> list[tuple[int, int, float]]:
    """(transcript id, current run id, run threshold) of the transcripts whose current suggestion run used
    `codebook_name`, narrowed by site and arm (a role narrows sentences: see codable_segments)."""
    query = (select(Transcript.id, SuggestionRun.id, SuggestionRun.threshold)
             .join(SuggestionRun, SuggestionRun.transcript_id == Transcript.id)
             .where(SuggestionRun.current.is_(True), SuggestionRun.codebook_name == codebook_name))
    if site is not None:
        query = query.where(Transcript.site == site)
    if arm is not None:
        query = query.where(Transcript.trial_arm == arm)
    if transcript_ids is not None:
        query = query.where(Transcript.id.in_(list(transcript_ids)))
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


def transcript_names(session: Session, *, ids: Sequence[int]) -> dict[int, str]:
    """transcript id -> how a quote names it: the participant id, else the title, else "transcript N"."""
    query = select(Transcript.id, Transcript.participant_id, Transcript.title).where(Transcript.id.in_(set(ids)))
    return {tid: participant or title or f"transcript {tid}" for tid, participant, title in session.execute(query)}


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


def current_codebooks(session: Session) -> dict[str, int]:
    """codebook name -> transcripts whose current run used it."""
    query = (select(SuggestionRun.codebook_name, func.count()).where(SuggestionRun.current.is_(True))
             .group_by(SuggestionRun.codebook_name))
    return {name: n for name, n in session.execute(query)}


def fail_unfinished_recodes(session: Session, *, message: str) -> int:
    """Mark re-codes left queued or running by a stopped process as failed (they can be asked for again)."""
    rows = session.scalars(select(DiscoveryCandidate).where(DiscoveryCandidate.status == "promoted",
                                                            DiscoveryCandidate.recode.is_not(None)))
    failed = 0
    for row in rows:
        if row.recode.get("status") in ("queued", "running"):
            row.recode = {**row.recode, "status": "failed", "message": message}
            failed += 1
    session.flush()
    return failed


def forget_segments(session: Session, *, segment_ids: set[int], roles: dict[int, str], transcript_id: int,
                    terms_in: Callable[[list[str]], set[str]]) -> int:
    """Take a deleted transcript's sentences out of discovery runs: candidates' members, quotes, exemplars,
    counts and the words of their labels (only terms `terms_in` finds in a remaining member sentence stay: a
    phrase that joined a deleted participant's words goes, even when each word is said elsewhere), and the
    runs' maps. Returns how many candidate memberships were removed."""
    removed = 0
    key = str(transcript_id)
    for row in session.scalars(select(DiscoveryCandidate)):
        if key not in (row.by_transcript or {}):
            continue
        gone = [s for s in row.members if s in segment_ids]
        removed += len(gone)
        row.members = [s for s in row.members if s not in segment_ids]
        row.quotes = [s for s in row.quotes if s not in segment_ids]
        if row.exemplars is not None:
            row.exemplars = [s for s in row.exemplars if s not in segment_ids] or None
        row.size = len(row.members)
        row.by_transcript = {t: n for t, n in row.by_transcript.items() if t != key}
        by_role = dict(row.by_role)
        for s in gone:
            by_role[roles.get(s, "other")] = by_role.get(roles.get(s, "other"), 0) - 1
        row.by_role = {r: n for r, n in by_role.items() if n > 0}
        remaining = terms_in([text for _, _, text in segment_texts(session, ids=row.members).values()])
        row.terms = [[t, w] for t, w in row.terms if t in remaining]
        row.label = ", ".join(t for t, _ in row.terms[:4]) or "[sentences deleted]"
    for run in session.scalars(select(DiscoveryRun).where(DiscoveryRun.points.is_not(None))):
        kept = [p for p in run.points if p[0] not in segment_ids]
        if len(kept) != len(run.points):
            run.points = kept
    session.flush()
    return removed
