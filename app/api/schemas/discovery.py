"""Bodies of /discovery (app/api/routes/discovery.py): starting a run, its candidates and their sentences,
and naming, dismissing, merging and promoting candidates."""

from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.schemas.common import Id, RequestIn, Role, Timestamp
from app.engine.discovery import LIMITS, REDUCERS, DiscoveryParams


def _tunable(name: str) -> Any:
    """A whole number within the clustering parameter's limits (LIMITS), for the schema to show."""
    low, high = LIMITS[name]
    return Annotated[int, Ge(low), Le(high)]


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
    # How to cluster: the limits and defaults are DiscoveryParams' (app/engine/discovery.py), which checks them
    # (the route builds it with app.services.discovery.check_params); read here, they are the schema's bounds.
    min_cluster_size: _tunable("min_cluster_size") | None = None
    min_samples: _tunable("min_samples") = DiscoveryParams.min_samples
    dims: _tunable("dims") = DiscoveryParams.dims
    resamples: _tunable("resamples") = DiscoveryParams.resamples
    seed: _tunable("seed") = DiscoveryParams.seed
    reduce: Literal[REDUCERS] = Field(DiscoveryParams.reduce, description="umap: UMAP before clustering "
                                      "(umap-learn installed); best with min_cluster_size 5")


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
