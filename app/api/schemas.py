"""Request and response models of the HTTP API."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.validation import check_value

Role = Literal["peer_worker", "supported_peer", "interviewer", "other"]
# A stored row's id, in a path, query or body. Id columns are INTEGER: 32 bits on PostgreSQL (64 on SQLite), so
# a larger number cannot name a row, and sending it to the database would overflow there (a 500, not a 404).
MAX_ID = 2**31 - 1
Id = Annotated[int, Ge(0), Le(MAX_ID)]
# Stored times are UTC; SQLite hands them back without the offset, which an RFC 3339 date-time must carry.
Timestamp = Annotated[datetime, AfterValidator(lambda t: t if t.tzinfo else t.replace(tzinfo=UTC))]
MAX_EXTRA = 20_000  # characters of a transcript's `extra` metadata, as JSON


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


class TurnIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(min_length=1, max_length=100)
    role: Role | None = None
    text: str
    start: float | None = Field(None, ge=0, description="seconds into the recording (kept on its sentences)")
    end: float | None = Field(None, ge=0)


class TranscriptIn(RequestIn):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "Interviewer: How did you get on with your peer worker?\n"
                 "SP3: She never judged me. She came with me to the housing office and helped with the forms.\n",
         "participant_id": "SP3", "role": "supported_peer", "site": "Setting_5", "trial_arm": "peer support"},
        {"turns": [{"speaker": "Interviewer", "text": "What do you share with the people you support?"},
                   {"speaker": "PW6", "role": "peer_worker",
                    "text": "I tell them I have been on the ward myself. They open up a bit more."}],
         "participant_id": "PW6", "codebook": "bcttv1+relational-aspects", "context": 1}]})

    text: str | None = Field(None, description="plain text with a speaker label starting each turn")
    turns: list[TurnIn] | None = Field(None, description="or: the turns as a list")
    title: str | None = Field(None, max_length=300)
    participant_id: str | None = Field(None, max_length=100)
    role: Role | None = Field(None, description="the participant's role")
    site: str | None = Field(None, max_length=100)
    trial_arm: str | None = Field(None, max_length=100)
    extra: dict = Field(default_factory=dict, description="any other metadata to keep (at most "
                                                          f"{MAX_EXTRA} characters as JSON)")
    speaker_roles: dict[str, Role] = Field(default_factory=dict, description="speaker label -> role")
    default_speaker: str | None = Field(None, max_length=100, description="speaker for text with no labels at all")
    code_interviewer: bool = False
    codebook: str | None = Field(None, max_length=200)
    top_k: int | None = Field(None, ge=1, le=50)
    threshold: float | None = Field(None, ge=0, le=1)
    context: int = Field(0, ge=0, le=5)
    deidentify: bool | None = Field(None, description="replace names, places, dates and participant ids in "
                                                      "the text with placeholders before storing it (default: "
                                                      "AUTOCODER_DEIDENTIFY)")

    @field_validator("extra")
    @classmethod
    def _extra_small(cls, value: dict) -> dict:
        if len(json.dumps(value, ensure_ascii=False)) > MAX_EXTRA:
            raise ValueError(f"extra is longer than {MAX_EXTRA} characters as JSON")
        return value


class RunIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    codebook: str | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    threshold: float | None = Field(None, ge=0, le=1)
    context: int = Field(0, ge=0, le=5)


class SegmentOut(BaseModel):
    id: int
    transcript_id: int
    position: int
    turn_index: int
    sentence_index: int
    speaker: str
    role: str
    start: int
    end: int
    text: str
    time_start: float | None = None
    time_end: float | None = None
    status: Literal["suggested", "uncoded", "skipped"]
    skip_reason: str | None
    suggestions: list[CodeSuggestion]
    confirmed: list[CodeSuggestion] = Field(
        default_factory=list, description="codes that sentences you may see confirmed elsewhere give this one "
        "(near-copies; under blind coding, only your own confirmations), computed for you when read, never "
        "stored; add one with a decision of action 'add'")


class RunOut(BaseModel):
    id: int
    codebook: str
    codebook_version: str
    codebook_digest: str
    model: str
    classifier_version: int | None = None
    top_k: int
    threshold: float
    evidence_k: int
    context: int
    created_at: Timestamp


class TranscriptSummary(BaseModel):
    id: int
    title: str | None
    participant_id: str | None
    role: str | None
    site: str | None
    trial_arm: str | None
    extra: dict
    source_format: str
    created_at: Timestamp
    segment_count: int
    speaker_roles: dict[str, str] = Field(default_factory=dict, description="the speaker label -> role map the "
                                                                            "sentences' roles were derived with")
    warnings: list[str] = Field(default_factory=list, description="what to fix, e.g. speakers read as 'other'")


class TranscriptEditIn(RequestIn):
    """Fields to change; a field sent as null is cleared, one left out is kept. speaker_roles replaces the
    whole map; changing it or the participant's role re-derives the sentences' roles."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"site": "Setting_5", "speaker_roles": {"R": "interviewer", "P": "supported_peer"}}]})

    title: str | None = Field(None, max_length=300)
    participant_id: str | None = Field(None, max_length=100)
    role: Role | None = Field(None, description="the participant's role")
    site: str | None = Field(None, max_length=100)
    trial_arm: str | None = Field(None, max_length=100)
    speaker_roles: dict[Annotated[str, StringConstraints(min_length=1, max_length=100)], Role] | None = Field(
        None, max_length=500, description="speaker label -> role")


class TranscriptEditRecord(BaseModel):
    """One audit row: who changed which fields, from what to what (segment_roles: the roles re-derived)."""

    id: int
    transcript_id: int
    edited_by: str
    changes: dict[str, list]
    created_at: Timestamp


class TranscriptEditOut(BaseModel):
    transcript: TranscriptSummary
    edit: TranscriptEditRecord | None = Field(description="the audit row; null when nothing changed")
    roles_changed: dict[str, list[str]] = Field(description="speaker -> [old role, new role]")
    now_coded: int = Field(description="sentences that were skipped as the interviewer's and are now coded")
    now_skipped: int = Field(description="sentences now skipped as the interviewer's")
    decisions_kept: int = Field(description="decisions on sentences whose role changed (kept as they were)")
    stale: bool = Field(description="the current run's suggestions no longer match which sentences are coded")
    notes: list[str]


class ImportOut(BaseModel):
    transcripts: list[TranscriptSummary]
    skipped: list[str] = Field(description="Files in a zip left out: hidden, or of a type we do not read")


class TranscriptOut(TranscriptSummary):
    text: str
    run: RunOut | None = Field(description="the current suggestion run")
    segments: list[SegmentOut]


class TranscriptPage(BaseModel):
    total: int
    items: list[TranscriptSummary]


class CodebookSummary(BaseModel):
    name: str
    title: str
    version: str
    origin: Literal["builtin", "upload"]
    extends: list[str]
    codes: int
    leaves: int


class CodebookPart(BaseModel):
    name: str
    title: str
    version: str
    attribution: str
    licence: str


class CodebookOut(BaseModel):
    name: str
    version: str
    digest: str
    parts: list[CodebookPart]
    codes: list[dict] = Field(description="every code: id, label, parent, definition, synonyms, exemplars")
    leaves: list[str] = Field(description="ids of the codes that are suggested (codes with no children)")


class CodebookUploaded(BaseModel):
    name: str
    version: str
    digest: str
    codes: int
    leaves: int
    created: bool


class ErrorOut(BaseModel):
    detail: str
    problems: list | dict | None = None


# -- users and review -----------------------------------------------------------------------------------------

UserRole = Literal["viewer", "coder", "adjudicator", "admin"]
Action = Literal["accept", "reject", "change", "add", "remove", "memo", "none"]


class DeletionOut(BaseModel):
    """What is kept of a deleted transcript: never its text."""

    id: int
    transcript_id: int
    title: str | None
    participant_id: str | None
    deleted_by: str
    deleted_at: Timestamp
    removed: dict[str, int] = Field(description="rows and cache entries removed, by kind")


class UserIn(RequestIn):
    name: str = Field(min_length=1, max_length=100)
    role: UserRole


class UserOut(BaseModel):
    name: str
    role: UserRole
    active: bool
    created_at: Timestamp


class NewTokenOut(BaseModel):
    user: UserOut
    token: str = Field(description="Shown this once; only its hash is stored. Send as 'Authorization: Bearer …'.")


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


class RetrainIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    codebook: str | None = None
    force: bool = Field(False, description="Promote the new version even if it does not beat the served one")


class ModelVersionOut(BaseModel):
    version: int
    codebook: str
    embedding_model: str
    status: str
    trigger: str
    triggered_by: str | None
    forced: bool
    serving: bool
    message: str | None
    created_at: Timestamp
    finished_at: Timestamp | None
    card: dict | None = None


class ServingOut(BaseModel):
    codebook: str
    version: int | None = Field(description="null: similarity to the codebook alone")
    reason: str | None
    changed_by: str | None
    changed_at: Timestamp | None


class RollbackIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    codebook: str | None = None
    version: int | None = Field(None, description="The version to serve again; by default the one served "
                                                  "before the current one")
    similarity_only: bool = Field(False, description="Serve no classifier: similarity to the codebook alone")


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


# -- discovery ----------------------------------------------------------------------------------------------------

CodeIdText = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class DiscoveryIn(RequestIn):
    """Which sentences to look at, and how to cluster them (every field optional)."""

    model_config = ConfigDict(extra="forbid")
    codebook: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    role: Role | None = None
    site: Annotated[str, StringConstraints(max_length=100)] | None = None
    arm: Annotated[str, StringConstraints(max_length=100)] | None = None
    transcripts: Annotated[list[Id], Field(min_length=1, max_length=10_000)] | None = Field(
        None, description="only these transcripts (at least one id; leave out for all)")
    kinds: Annotated[list[Literal["under_threshold", "weak_fit", "all_rejected", "flagged"]],
                     Field(min_length=1, max_length=4)] | None = Field(
        None, description="which unexplained sentences (default all): no code reached the threshold, the best "
                          "code shown fits weakly, coders rejected every code shown, or a coder wrote a memo and "
                          "gave no code")
    min_cluster_size: Annotated[int, Ge(2), Le(5000)] | None = None
    min_samples: Annotated[int, Ge(1), Le(500)] = 2
    dims: Annotated[int, Ge(0), Le(384)] = 20
    resamples: Annotated[int, Ge(0), Le(50)] = 10
    seed: Annotated[int, Ge(0), Le(MAX_ID)] = 0
    reduce: Literal["pca", "umap"] = Field("pca", description="umap: UMAP before clustering (umap-learn "
                                                             "installed); best with min_cluster_size 5")


class QuoteOut(BaseModel):
    segment_id: int
    transcript_id: int
    role: str
    text: str


class CandidateOut(BaseModel):
    number: int
    status: Literal["open", "dismissed", "merged", "promoted"]
    label: str
    name: str | None
    definition: str | None
    size: int
    by_role: dict[str, int]
    by_transcript: dict[str, int]
    terms: list[tuple[str, float]]
    quotes: list[QuoteOut]
    exemplars: list[int] | None
    nearest_codes: list[tuple[str, float]]
    stability: float | None
    merged_from: list[int] | None
    merged_into: int | None
    reason: str | None
    promoted_codebook: str | None
    promoted_version: str | None
    promoted_code: str | None
    recode: dict | None
    updated_by: str | None
    updated_at: Timestamp | None


class CandidateSentencesOut(BaseModel):
    candidate: CandidateOut
    total: int
    offset: int
    sentences: list[QuoteOut]


class DiscoveryRunOut(BaseModel):
    id: int
    status: Literal["queued", "running", "done", "failed"]
    stage: str | None
    progress: float
    codebook: str
    model_id: str
    filters: dict
    params: dict
    units: int
    summary: dict | None
    message: str | None
    created_by: str | None
    created_at: Timestamp
    finished_at: Timestamp | None
    candidates: list[CandidateOut] | None = None


class CandidateEditIn(RequestIn):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    definition: Annotated[str, StringConstraints(max_length=4000)] | None = None
    exemplars: Annotated[list[Id], Field(min_length=1, max_length=50)] | None = None


class DismissIn(RequestIn):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class MergeIn(RequestIn):
    model_config = ConfigDict(extra="forbid")
    candidates: Annotated[list[Annotated[int, Ge(1), Le(100_000)]], Field(min_length=2, max_length=100)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None


class PromoteIn(RequestIn):
    """Make the candidate a code in a new version of an uploaded codebook (default '<base>-discovered',
    extending the run's codebook). Label and definition default to the candidate's name and definition."""

    model_config = ConfigDict(extra="forbid")
    codebook: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    code_id: CodeIdText | None = None
    label: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    definition: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    parent: CodeIdText | None = None
    parent_label: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    recode: bool = False
