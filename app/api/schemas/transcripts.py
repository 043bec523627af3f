"""Bodies of /transcripts (app/api/routes/transcripts.py): a transcript in (text or turns), edits to its
metadata, re-suggesting, and a transcript out with its run, sentences and suggestions."""

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.api.schemas.common import CodeSuggestion, RequestIn, Role, Timestamp
from app.ingest.readers import MAX_SECONDS

MAX_EXTRA = 20_000  # characters of a transcript's `extra` metadata, as JSON


class TurnIn(RequestIn):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(min_length=1, max_length=100)
    role: Role | None = None
    text: str
    start: float | None = Field(None, ge=0, le=MAX_SECONDS, allow_inf_nan=False,
                                description="seconds into the recording (kept on its sentences)")
    end: float | None = Field(None, ge=0, le=MAX_SECONDS, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ends_after_start(self) -> "TurnIn":
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the turn ends ({self.end}) before it starts ({self.start})")
        return self


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
