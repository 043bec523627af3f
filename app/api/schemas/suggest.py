"""Bodies of POST /suggest (app/api/routes/suggest.py): a passage in, its ranked codes out."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import RequestIn, SuggestionBase


class SuggestIn(RequestIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "I knew that whatever I told her would stay between the two of us.",
         "codebook": "bcttv1+relational-aspects", "top_k": 3}]})

    text: str = Field(description="the passage to code")
    codebook: str | None = Field(None, description="codebook name, e.g. 'bcttv1+relational-aspects'")
    top_k: int | None = Field(None, ge=1, le=50)
    threshold: float | None = Field(None, ge=0, le=1)
    split: bool = Field(False, description="code each sentence separately instead of the whole passage")
    context: int = Field(0, ge=0, le=5, description="neighbouring sentences blended in (with split)")


class SnippetSpanOut(BaseModel):
    """The sentences of the posted text that a passage suggestion covers: positions in `segments`, first to last,
    and the character offsets into the posted text."""

    first_segment: int
    last_segment: int
    start: int
    end: int
    text: str


class SnippetSuggestion(SuggestionBase):
    """A code for a piece of posted text (nothing is stored)."""

    span: SnippetSpanOut | None = Field(None, description="a passage suggestion (with split, when the service "
                                                          "suggests passages): the sentences it covers, "
                                                          "starting at this one; null for this one alone")


class SnippetSegmentOut(BaseModel):
    text: str
    start: int
    end: int
    status: Literal["suggested", "uncoded"]
    truncated: bool = Field(description="longer than the model reads: only its beginning was used; use split")
    suggestions: list[SnippetSuggestion]


class SuggestOut(BaseModel):
    codebook: str
    codebook_version: str
    codebook_digest: str
    model: str
    classifier_version: int | None = Field(None, description="The trained classifier blended into the scores; "
                                                             "null: similarity to the codebook alone")
    threshold: float
    segments: list[SnippetSegmentOut]
