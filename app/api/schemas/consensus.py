"""Bodies of the finishing and consensus routes (app/api/routes/consensus.py): marking a transcript finished,
consensus decisions, the adjudication view and the list of disagreements."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import Id, RequestIn, Timestamp


class FinishIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    finished: bool = Field(True, description="false reopens the transcript")
    unresolved_ok: bool = Field(False, description="consensus only: finish although rows are unresolved "
                                                   "(without it, unresolved rows make a 409 that lists them)")


class FinishOut(BaseModel):
    transcript_id: int
    coder: str
    stage: str
    finished: bool
    finished_by: list[str] = Field(description="Everyone whose newest mark at this stage says finished")
    undecided: int | None = Field(None, description="coding: the sentences to code you have not decided on (a "
                                                    "memo alone is not a decision); finishing is allowed, this says "
                                                    "what is left. Null for the consensus")


class ConsensusItemIn(RequestIn):
    """One consensus decision: add a final code to a sentence (or a span, with end_segment_id), remove one,
    or note why (memo)."""

    model_config = {"extra": "forbid",
                    "json_schema_extra": {"examples": [{"segment_id": 5, "action": "add", "code": "1.2"}]}}
    segment_id: Id
    end_segment_id: Id | None = Field(None, description="The span's last sentence (same turn); none: one sentence")
    action: Literal["add", "remove", "memo"]
    code: str | None = Field(None, max_length=64)
    memo: str | None = Field(None, max_length=4000)


class ConsensusIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    decisions: list[ConsensusItemIn] = Field(min_length=1, max_length=5000)


class ConsensusDecisionOut(BaseModel):
    id: int
    segment_id: int
    end_segment_id: int | None
    adjudicator: str
    action: str
    code: str | None
    memo: str | None
    created_at: Timestamp


class SuggestedOut(BaseModel):
    code: str
    label: str
    score: float
    shown: bool = Field(description="At or over the run's threshold: the coders saw it as a suggestion")
    evidence_kind: str
    evidence_text: str


class AdjudicationRowOut(BaseModel):
    segment_id: int
    end_segment_id: int | None
    number: int = Field(description="The sentence's number in the transcript (1 is the first)")
    end_number: int | None = Field(description="The span's last sentence number, or null for one sentence")
    speaker: str
    role: str
    text: str
    coders: dict[str, list[str]] = Field(description="Every coder of the transcript -> their codes here")
    no_code: list[str] = Field(description="Coders who decided that no code applies here")
    coder_memos: dict[str, list[str]] = Field(description="Coder -> their memos on this sentence")
    agreed: bool = Field(description="Every coder gave the same codes (none counts as the same)")
    consensus: list[str]
    memos: list[str] = Field(description="The adjudicator's notes on this row")
    unresolved: bool = Field(description="Coders disagree and the adjudicator has recorded nothing here yet")
    question: str | None = Field(description="The interviewer's turn before this one")
    before: str | None = Field(description="The sentence before")
    after: str | None = Field(description="The sentence after")
    suggestion: SuggestedOut | None = Field(description="The model's best code for the first sentence")


class AdjudicationOut(BaseModel):
    transcript_id: int
    title: str | None
    coders: list[str]
    finished: dict[str, bool] = Field(description="Coder -> marked the transcript finished")
    consensus_finished: bool
    unresolved: int
    rows: list[AdjudicationRowOut]


class DisagreementOut(BaseModel):
    transcript_id: int
    title: str | None
    segment_id: int
    end_segment_id: int | None
    number: int = Field(description="the sentence number in its transcript, as the pages show it (from 1)")
    end_number: int | None = Field(None, description="a span's last sentence number")
    speaker: str
    text: str
    coders: dict[str, list[str]]
