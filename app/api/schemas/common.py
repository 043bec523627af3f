"""What the other schema modules share: the base of every request body (RequestIn), the error body,
ids and timestamps, participant roles, and a suggested code with its evidence and span."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.validation import check_value

Role = Literal["peer_worker", "supported_peer", "interviewer", "other"]
# A stored row's id, in a path, query or body. Id columns are INTEGER: 32 bits on PostgreSQL (64 on SQLite), so
# a larger number cannot name a row, and sending it to the database would overflow there (a 500, not a 404).
MAX_ID = 2**31 - 1
Id = Annotated[int, Ge(0), Le(MAX_ID)]
# Stored times are UTC; SQLite hands them back without the offset, which an RFC 3339 date-time must carry.
Timestamp = Annotated[datetime, AfterValidator(lambda t: t if t.tzinfo else t.replace(tzinfo=UTC))]


class RequestIn(BaseModel):
    """Every request body: its text is well-formed Unicode without NUL, nested at most a few levels, its
    numbers finite and within 64 bits, checked once here before anything is stored (app/validation.py).
    Strict: a value of another JSON type than the schema says is refused, not converted (`"force": 0` is not
    `false`, `"context": false` is not `0`), so the service accepts exactly what its schema documents."""

    model_config = ConfigDict(strict=True)

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        return check_value(data)


class Evidence(BaseModel):
    kind: Literal["definition", "exemplar", "confirmed"]
    text: str
    source: str


class SpanOut(BaseModel):
    """Consecutive sentences of one turn that one code covers: from the first segment's start to the last's end
    (character offsets into the transcript's text)."""

    start_segment_id: int
    end_segment_id: int
    start: int
    end: int
    text: str


class SuggestionBase(BaseModel):
    code_id: str
    label: str
    group: str | None
    score: float = Field(ge=0, le=1)
    rank: int
    evidence: Evidence


class CodeSuggestion(SuggestionBase):
    """A stored suggestion on a sentence of a transcript."""

    id: int | None = Field(None, description="stored suggestion id")
    span: SpanOut | None = Field(None, description="a passage suggestion: the sentences it covers, starting at "
                                                   "this one; null for this sentence alone")


class ErrorOut(BaseModel):
    detail: str
    problems: list | dict | None = None
