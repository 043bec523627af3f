"""Bodies of the review routes (app/api/routes/review.py): decisions in and out, a coder's labels, and
agreement between coders, the model and the consensus."""

from typing import Literal

from pydantic import BaseModel, Field

from app.api.schemas.common import Id, RequestIn, SpanOut, Timestamp

Action = Literal["accept", "reject", "change", "add", "remove", "memo", "none"]


class DecisionIn(RequestIn):
    """One decision. accept / reject answer a suggestion; change replaces a suggestion's code with `code`;
    add puts `code` on the segment; remove takes off a code you added or accepted; memo attaches a note."""

    model_config = {"json_schema_extra": {"examples": [{"action": "accept", "suggestion_id": 12, "run_id": 1},
                                                        {"action": "add", "code": "17.2"}]}}
    action: Action
    suggestion_id: Id | None = None
    code: str | None = Field(None, max_length=64)
    memo: str | None = Field(None, max_length=4000)
    run_id: Id | None = Field(None, description="The suggestion run you were looking at: 409 if it was replaced.")
    end_segment_id: Id | None = Field(None, description=(
        "accept, change or add on a span: the last sentence (same turn, codable sentences only) of the span that "
        "starts at the segment. Left out: one sentence, or for accept / change a passage suggestion's own span."))


class SegmentDecisionIn(DecisionIn):
    segment_id: Id


class BatchIn(RequestIn):
    decisions: list[SegmentDecisionIn] = Field(min_length=1, max_length=5000)


class AcceptOverIn(RequestIn):
    min_score: float = Field(ge=0, le=1)
    run_id: Id | None = None


class DecisionOut(BaseModel):
    id: int
    segment_id: int
    end_segment_id: int | None = Field(None, description="the span's last sentence; null for one sentence")
    span: SpanOut | None = Field(None, description="the span's characters, when the decision covers several")
    transcript_id: int
    coder: str
    action: Action
    code_id: str | None
    from_code_id: str | None
    suggestion_id: int | None
    run_id: int | None
    model: str | None
    classifier_version: int | None = None
    codebook_version: str | None
    memo: str | None
    batch_id: str | None
    created_at: Timestamp


class LabelSpanOut(SpanOut):
    code: str


class SegmentLabelsOut(BaseModel):
    segment_id: int
    labels: list[str]
    rejected: list[str]
    memos: list[str]
    spans: list[LabelSpanOut] = Field(default_factory=list, description=(
        "labels that cover a span starting at this segment (each also in `labels`)"))
    no_code: bool = Field(False, description="the coder decided that no code applies (action 'none')")


class DecidedOut(BaseModel):
    decisions: list[DecisionOut]
    labels: list[SegmentLabelsOut] = Field(description="Your labels now, on the segments these decisions touched.")


class LabelsOut(BaseModel):
    transcript_id: int
    coder: str
    segments: list[SegmentLabelsOut]


class PairOut(BaseModel):
    a: str
    b: str
    transcripts: int = Field(description="Transcripts both marked finished")
    units: int = Field(description="Codable sentences of those transcripts")
    kappa: float | None
    percent_agreement: float | None
    prevalence_a: float | None = Field(description="Share of units a gave the code (pooled: sentence x code)")
    prevalence_b: float | None


class CodeAgreementOut(BaseModel):
    code: str
    applied: dict[str, int]
    prevalence: dict[str, float | None]
    alpha: float | None
    pairs: list[PairOut]
    model_consensus: PairOut | None = Field(None, description="The model against the finished consensus, on this code")


class AgreementOut(BaseModel):
    coders: list[str]
    transcripts: list[int] = Field(description="Transcripts every compared coder marked finished")
    units: int
    codes: list[str]
    alpha: float | None
    pairs: list[PairOut]
    model: list[PairOut]
    per_code: list[CodeAgreementOut]
    model_consensus: PairOut | None = Field(
        None, description="The model's shown codes against the consensus, pooled, over the transcripts whose "
                          "consensus is marked finished (none: null)")
    model_consensus_codes: list[CodeAgreementOut] = Field(
        default_factory=list, description="Per code, the model against the consensus, for codes no coder "
                                          "compared here used")
    coder_consensus: list[PairOut] = Field(
        default_factory=list, description="Each coder against the consensus, pooled, over the transcripts the "
                                          "coder and the adjudicator both finished")
    unfinished: dict[str, list[int]] = Field(description="Coder -> transcripts they coded but have not finished")
    note: str
