"""Bodies of the review queue routes (app/api/routes/queue.py): the next segments to review, and similar ones."""

from pydantic import BaseModel, Field

from app.api.schemas.transcripts import SegmentOut


class QueueItemOut(BaseModel):
    segment: SegmentOut
    uncertainty: float = Field(description="Higher: the model is less sure whether or which code applies")
    why: str


class ReviewQueueOut(BaseModel):
    codebook: str | None
    items: list[QueueItemOut]


class SimilarOut(BaseModel):
    segment: SegmentOut
    similarity: float
