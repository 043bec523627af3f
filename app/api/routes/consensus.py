"""Finishing and consensus: a coder marks a transcript finished (agreement counts only finished transcripts);
an adjudicator sees every coder's codes side by side, records the final codes, and marks the consensus
finished; anyone who may see everyone's work lists the disagreements still unresolved."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.api.deps import CoderUser, SessionDep, Visible, role
from app.api.schemas.common import ErrorOut, Id
from app.api.schemas.consensus import (
    AdjudicationOut,
    AdjudicationRowOut,
    ConsensusDecisionOut,
    ConsensusIn,
    DisagreementOut,
    FinishIn,
    FinishOut,
    SuggestedOut,
)
from app.db import accounts
from app.db.tables import Decision, User
from app.services import consensus, progress
from app.services.visibility import Visibility

router = APIRouter(tags=["consensus"])
ERRORS = {403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}
Adjudicator = Annotated[User, Depends(role("adjudicator"))]


def _finish(session: SessionDep, scope: Visibility, user: User, transcript_id: int, finished: bool) -> FinishOut:
    progress.mark(session, user, transcript_id, finished=finished, stage="coding")
    out = _finished_out(session, scope, user, transcript_id, finished, "coding")
    return out.model_copy(update={"undecided": progress.undecided(session, user, transcript_id)})


def _finished_out(session: SessionDep, scope: Visibility, user: User, transcript_id: int, finished: bool,
                  stage: str) -> FinishOut:
    """Who has now finished the transcript's coding (or its consensus), as this user may see it."""
    ids = progress.finished_coders(session, [transcript_id], stage).get(transcript_id, set())
    if not scope.sees_everyone:  # blind coding: who else has finished is other coders' business
        ids &= {user.id}
    names = sorted(u.name for u in accounts.users_by_id(session, ids=ids).values())
    return FinishOut(transcript_id=transcript_id, coder=user.name, stage=stage, finished=finished, finished_by=names)


@router.post("/transcripts/{transcript_id}/finished", response_model=FinishOut, responses=ERRORS)
def mark_finished(transcript_id: Id, user: CoderUser, scope: Visible, session: SessionDep,
                  body: FinishIn | None = None) -> FinishOut:
    """Mark your coding of the transcript finished (or, with {"finished": false}, reopen it). Agreement
    compares coders only on transcripts both have finished."""
    return _finish(session, scope, user, transcript_id, body.finished if body else True)


@router.delete("/transcripts/{transcript_id}/finished", response_model=FinishOut, responses=ERRORS)
def reopen(transcript_id: Id, user: CoderUser, scope: Visible, session: SessionDep) -> FinishOut:
    """Reopen your coding of the transcript: it leaves agreement until you mark it finished again."""
    return _finish(session, scope, user, transcript_id, False)


@router.post("/transcripts/{transcript_id}/consensus/finished", response_model=FinishOut, responses=ERRORS)
def mark_consensus_finished(transcript_id: Id, user: Adjudicator, scope: Visible, session: SessionDep,
                            body: FinishIn | None = None) -> FinishOut:
    """Mark the transcript's consensus finished (or reopen it with {"finished": false}). While rows are
    unresolved this is a 409 listing their sentence numbers, unless {"unresolved_ok": true}."""
    finished = body.finished if body else True
    consensus.finish(session, user, scope, transcript_id, finished=finished,
                     unresolved_ok=bool(body and body.unresolved_ok))
    return _finished_out(session, scope, user, transcript_id, finished, "consensus")


def _rows(view: consensus.Adjudication) -> list[AdjudicationRowOut]:
    return [AdjudicationRowOut(
        segment_id=r.segment_id, end_segment_id=r.end_segment_id, number=r.number, end_number=r.end_number,
        speaker=r.speaker, role=r.role, text=r.text, coders=r.coders, no_code=r.no_code, coder_memos=r.coder_memos,
        agreed=r.agreed, consensus=r.consensus, memos=r.memos, unresolved=r.unresolved, question=r.question,
        before=r.before, after=r.after,
        suggestion=SuggestedOut(**r.suggestion.__dict__) if r.suggestion else None) for r in view.rows]


@router.get("/transcripts/{transcript_id}/adjudication", response_model=AdjudicationOut, responses=ERRORS)
def adjudication(transcript_id: Id, scope: Visible, session: SessionDep,
                 unresolved: Annotated[bool, Query(description="Only the rows still to resolve")] = False
                 ) -> AdjudicationOut:
    """Every coder's codes side by side per codable sentence (and per coded span), whether they agree, and
    the consensus so far. Needs a role that sees everyone's work (adjudicator, admin, viewer) under blind
    coding."""
    view = consensus.adjudication(session, scope, transcript_id)
    rows = [r for r in _rows(view) if r.unresolved or not unresolved]
    return AdjudicationOut(transcript_id=view.transcript_id, title=view.title, coders=view.coders,
                           finished=view.finished, consensus_finished=view.consensus_finished,
                           unresolved=len(view.unresolved), rows=rows)


def _decisions_out(session: SessionDep, rows: list[Decision]) -> list[ConsensusDecisionOut]:
    names = {u.id: u.name for u in accounts.users_by_id(session, ids={d.coder_id for d in rows}).values()}
    return [ConsensusDecisionOut(id=d.id, segment_id=d.segment_id, end_segment_id=d.end_segment_id,
                                 adjudicator=names[d.coder_id], action=d.action, code=d.code_id, memo=d.memo,
                                 created_at=d.created_at) for d in rows]


@router.post("/transcripts/{transcript_id}/consensus", status_code=201, response_model=list[ConsensusDecisionOut],
             responses=ERRORS)
def record_consensus(transcript_id: Id, body: ConsensusIn, user: Adjudicator,
                     session: SessionDep) -> list[ConsensusDecisionOut]:
    """Record final codes: add or remove a consensus code on a sentence or span, or a memo. All in one
    transaction: every decision is kept, or none (the error says which one failed)."""
    items = [consensus.ConsensusInput(d.segment_id, d.action, d.code, d.end_segment_id, d.memo)
             for d in body.decisions]
    return _decisions_out(session, consensus.record(session, user, transcript_id, items))


@router.post("/transcripts/{transcript_id}/consensus/agreed", status_code=201,
             response_model=list[ConsensusDecisionOut], responses=ERRORS)
def take_agreed(transcript_id: Id, user: Adjudicator, scope: Visible,
                session: SessionDep) -> list[ConsensusDecisionOut]:
    """Record as consensus the codes of every row where all coders agree and nothing is decided yet."""
    return _decisions_out(session, consensus.take_agreed(session, user, scope, transcript_id))


@router.get("/disagreements", response_model=list[DisagreementOut], responses=ERRORS)
def disagreements(scope: Visible, session: SessionDep,
                  transcript: Annotated[list[Id] | None, Query(description="Transcript id(s); all by default")] = None
                  ) -> list[DisagreementOut]:
    """Rows where coders disagree and no consensus decision has been recorded, over every transcript two or
    more coders coded."""
    return [DisagreementOut(transcript_id=view.transcript_id, title=view.title, segment_id=row.segment_id,
                            end_segment_id=row.end_segment_id, number=row.number, end_number=row.end_number,
                            speaker=row.speaker, text=row.text, coders=row.coders)
            for view, row in consensus.disagreements(session, scope, transcript)]
