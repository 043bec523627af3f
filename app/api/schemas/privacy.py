"""Bodies of the participants' data routes (app/api/routes/privacy.py): what is kept of a deleted transcript."""

from pydantic import BaseModel, Field

from app.api.schemas.common import Timestamp


class DeletionOut(BaseModel):
    """What is kept of a deleted transcript: never its text."""

    id: int
    transcript_id: int
    title: str | None
    participant_id: str | None
    deleted_by: str
    deleted_at: Timestamp
    removed: dict[str, int] = Field(description="rows and cache entries removed, by kind")
