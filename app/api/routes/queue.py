"""The review queue (what to code next to teach the model most) and 'more like this'."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CoderUser, QueueDep, SessionDep, Viewer
from app.api.presenters import segment_out
from app.api.schemas.common import ErrorOut, Id
from app.api.schemas.queue import QueueItemOut, ReviewQueueOut, SimilarOut

router = APIRouter(tags=["review queue"])


@router.get("/review-queue", response_model=ReviewQueueOut)
def review_queue(user: CoderUser, session: SessionDep, queue: QueueDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 20,
                 codebook: str | None = None) -> ReviewQueueOut:
    """Your next segments to review: those the served model is least sure about, kept varied."""
    items = queue.next_for(session, user, limit=limit, codebook=codebook)
    return ReviewQueueOut(codebook=codebook, items=[
        QueueItemOut(segment=segment_out(i.segment, i.suggestions, i.threshold, 0.0), uncertainty=i.uncertainty,
                     why=i.why) for i in items])


@router.get("/segments/{segment_id}/similar", response_model=list[SimilarOut], responses={404: {"model": ErrorOut}})
def more_like_this(segment_id: Id, user: Viewer, session: SessionDep, queue: QueueDep,
                   limit: Annotated[int, Query(ge=1, le=200)] = 10, undecided: bool = False) -> list[SimilarOut]:
    """The segments of every transcript most similar in meaning to this one (undecided: only those you have
    not decided on yet)."""
    found = queue.similar(session, user, segment_id, limit=limit, undecided_only=undecided)
    return [SimilarOut(segment=segment_out(i.segment, i.suggestions, i.threshold, i.threshold),
                       similarity=i.similarity) for i in found]
