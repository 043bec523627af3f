"""Review: decide on segments, read labels and the audit trail, and measure agreement."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from app.api.deps import CoderUser, LearnerDep, ReviewDep, SessionDep, Viewer
from app.api.media import JSON, TEXT, answers
from app.api.schemas.common import ErrorOut, Id, SpanOut
from app.api.schemas.review import (
    AcceptOverIn,
    AgreementOut,
    BatchIn,
    DecidedOut,
    DecisionIn,
    DecisionOut,
    LabelsOut,
    LabelSpanOut,
    SegmentLabelsOut,
)
from app.db.tables import Decision, User
from app.services import agreement
from app.services.learning import Learner
from app.services.review import DecisionInput, Review, SegmentLabels
from app.services.spans import Span, describe
from app.services.visibility import Visibility

router = APIRouter(tags=["review"])
ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _span_out(span: Span) -> SpanOut:
    return SpanOut(start_segment_id=span.first_segment_id, end_segment_id=span.last_segment_id, start=span.start,
                   end=span.end, text=span.text)


def _labels_out(segment_id: int, state: SegmentLabels, spans: dict[tuple[int, int], Span]) -> SegmentLabelsOut:
    on_spans = [LabelSpanOut(code=code, **_span_out(spans[(segment_id, end)]).model_dump())
                for code, end in sorted(state.ends.items()) if code in state.labels and (segment_id, end) in spans]
    return SegmentLabelsOut(segment_id=segment_id, labels=state.labels, rejected=state.rejected, memos=state.memos,
                            no_code=state.no_code, spans=on_spans)


def _all_labels_out(session: SessionDep, states: dict[int, SegmentLabels],
                    segment_ids: list[int]) -> list[SegmentLabelsOut]:
    spans = describe(session, [(s, end) for s in segment_ids if s in states for end in states[s].ends.values()])
    return [_labels_out(s, states.get(s, SegmentLabels()), spans) for s in segment_ids]


def _decisions_out(session: SessionDep, scope: Visibility, rows: list[Decision]) -> list[DecisionOut]:
    names = scope.names(session, rows)
    spans = describe(session, [(d.segment_id, d.end_segment_id) for d in rows if d.end_segment_id is not None])
    return [DecisionOut(id=d.id, segment_id=d.segment_id, end_segment_id=d.end_segment_id,
                        span=_span_out(spans[(d.segment_id, d.end_segment_id)])
                        if (d.segment_id, d.end_segment_id) in spans else None,
                        transcript_id=d.transcript_id, coder=names[d.coder_id],
                        action=d.action, code_id=d.code_id, from_code_id=d.from_code_id,
                        suggestion_id=d.suggestion_id, run_id=d.run_id, model=d.model_id,
                        classifier_version=d.classifier_id,
                        codebook_version=d.codebook_version, memo=d.memo, batch_id=d.batch_id,
                        created_at=d.created_at) for d in rows]


def _decided(session: SessionDep, review: Review, user: User, rows: list[Decision],
             learner: Learner) -> DecidedOut:
    learner.after_decisions(session)  # a fit starts in the background if AUTOCODER_RETRAIN_EVERY is reached
    touched = sorted({d.segment_id for d in rows})
    _, labels = review.labels(session, user, rows[0].transcript_id, segment_ids=touched)
    return DecidedOut(decisions=_decisions_out(session, review.scope(user), rows),
                      labels=_all_labels_out(session, labels, touched))


@router.post("/segments/{segment_id}/decisions", status_code=201, response_model=DecidedOut, responses=ERRORS)
def decide(segment_id: Id, body: DecisionIn, user: CoderUser, session: SessionDep, review: ReviewDep,
           learner: LearnerDep) -> DecidedOut:
    """Accept, reject, change, add, remove, memo, or none (no code applies), on one segment."""
    item = DecisionInput(segment_id, body.action, body.suggestion_id, body.code, body.memo, body.run_id,
                         body.end_segment_id)
    return _decided(session, review, user, review.decide(session, user, [item]), learner)


@router.get("/segments/{segment_id}/decisions", response_model=list[DecisionOut], responses=ERRORS)
def segment_history(segment_id: Id, user: Viewer, session: SessionDep, review: ReviewDep,
                    coder: str | None = None) -> list[DecisionOut]:
    transcript_id = review.segment_transcript(session, segment_id)
    rows = review.visible_decisions(session, user, transcript_id, coder=coder, segment_id=segment_id)
    return _decisions_out(session, review.scope(user), rows)


@router.post("/transcripts/{transcript_id}/decisions", status_code=201, response_model=DecidedOut, responses=ERRORS)
def decide_batch(transcript_id: Id, body: BatchIn, user: CoderUser, session: SessionDep,
                 review: ReviewDep, learner: LearnerDep) -> DecidedOut:
    """Several decisions on one transcript in one transaction: all are kept, or none (the error says which)."""
    items = [DecisionInput(d.segment_id, d.action, d.suggestion_id, d.code, d.memo, d.run_id, d.end_segment_id)
             for d in body.decisions]
    return _decided(session, review, user, review.decide(session, user, items, transcript_id), learner)


@router.post("/transcripts/{transcript_id}/accept", status_code=201, response_model=DecidedOut, responses=ERRORS)
def accept_over(transcript_id: Id, body: AcceptOverIn, user: CoderUser, session: SessionDep,
                review: ReviewDep, learner: LearnerDep) -> DecidedOut:
    """Accept every current suggestion scoring at least min_score, in one transaction."""
    return _decided(session, review, user, review.accept_over(session, user, transcript_id, body.min_score,
                                                               body.run_id), learner)


@router.get("/transcripts/{transcript_id}/decisions", response_model=list[DecisionOut], responses=ERRORS)
def transcript_history(transcript_id: Id, user: Viewer, session: SessionDep, review: ReviewDep,
                       coder: str | None = None) -> list[DecisionOut]:
    """The audit trail, oldest first. Under blind coding, coders see only their own."""
    return _decisions_out(session, review.scope(user),
                          review.visible_decisions(session, user, transcript_id, coder=coder))


@router.get("/transcripts/{transcript_id}/labels", response_model=LabelsOut, responses=ERRORS)
def labels(transcript_id: Id, user: Viewer, session: SessionDep, review: ReviewDep,
           coder: str | None = None) -> LabelsOut:
    """A coder's current labels (yours by default), replayed from their decisions."""
    who, states = review.labels(session, user, transcript_id, coder)
    return LabelsOut(transcript_id=transcript_id, coder=who.name,
                     segments=_all_labels_out(session, states, sorted(states)))


def _agreement(session: SessionDep, review: Review, user: User, transcript_ids: list[int] | None,
               coders: list[str] | None, fmt: str):
    report = agreement.compare(**agreement.gather(session, review.scope(user), transcript_ids, coders))
    if fmt == "table":
        return PlainTextResponse(agreement.table(report) + "\n")
    return report


FORMAT = Annotated[Literal["json", "table"], Query(description="json, or table for plain text")]


@router.get("/transcripts/{transcript_id}/agreement", response_model=AgreementOut,
            responses={**ERRORS, **answers(JSON, TEXT)})
def transcript_agreement(transcript_id: Id, user: Viewer, session: SessionDep, review: ReviewDep,
                         coder: Annotated[list[str] | None, Query()] = None, format: FORMAT = "json"):
    """Agreement between coders, and between the model and each coder, on one transcript: its codable
    sentences if both coders of a pair marked it finished (POST /transcripts/{id}/finished)."""
    return _agreement(session, review, user, [transcript_id], coder, format)


@router.get("/agreement", response_model=AgreementOut, responses={**ERRORS, **answers(JSON, TEXT)})
def overall_agreement(user: Viewer, session: SessionDep, review: ReviewDep,
                      transcript: Annotated[list[Id] | None, Query()] = None,
                      coder: Annotated[list[str] | None, Query()] = None, format: FORMAT = "json"):
    """Agreement over several transcripts (all by default): every codable sentence of the transcripts both
    coders finished is a unit, a sentence without a code a 0 for that code; kappa per code and pooled,
    Krippendorff's alpha pooled and per code, each beside the code's prevalence."""
    return _agreement(session, review, user, transcript, coder, format)
