"""ORM tables: codebooks and snapshots, transcripts, segments, suggestion runs and suggestions, users, their
API tokens, coders' decisions (append-only), batch jobs, trained classifiers and which one is served, and what
is kept of deleted transcripts (an audit row, no text)."""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class UploadedCodebook(Base):
    """A codebook a user uploaded; a new version of the same name is a new row."""

    __tablename__ = "codebooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CodebookSnapshot(Base):
    """The exact (resolved) codebook a suggestion run used, stored once per digest."""

    __tablename__ = "codebook_snapshots"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(300))
    content: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Transcript(Base):
    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("source_key", name="uq_transcripts_source_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(300))
    participant_id: Mapped[str | None] = mapped_column(String(100), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    site: Mapped[str | None] = mapped_column(String(100))
    trial_arm: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    source_format: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When a run or a decision last changed this transcript. Writers update it first in their transaction,
    # which makes the row a lock: a decision and a re-suggestion of the same transcript never interleave.
    activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a batch job stored the transcript ("job:<id>:<n>"): a resumed job never stores it twice.
    source_key: Mapped[str | None] = mapped_column(String(200))
    # The speaker label -> role map the segments' roles were derived with (edited maps re-derive them).
    speaker_roles: Mapped[dict | None] = mapped_column(JSON)

    segments: Mapped[list["Segment"]] = relationship(
        back_populates="transcript", order_by="Segment.position", cascade="all, delete-orphan"
    )


class Segment(Base):
    """One sentence; transcript.text[char_start:char_end] == text."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    turn_index: Mapped[int] = mapped_column(Integer)
    sentence_index: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32), index=True)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # Seconds into the recording (the turn's), when the source had timestamps (captions, timed turns).
    time_start: Mapped[float | None] = mapped_column(Float)
    time_end: Mapped[float | None] = mapped_column(Float)
    # Why the segment was not coded ("interviewer", "too_short", "marker"), or None when it was.
    skip_reason: Mapped[str | None] = mapped_column(String(32))
    # float32 vector, kept so that retraining never re-encodes a sentence.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(200))

    transcript: Mapped[Transcript] = relationship(back_populates="segments")


class SuggestionRun(Base):
    """One pass of the suggester over a transcript: which model, codebook and parameters made it."""

    __tablename__ = "suggestion_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    codebook_name: Mapped[str] = mapped_column(String(200))
    codebook_version: Mapped[str] = mapped_column(String(300))
    codebook_digest: Mapped[str] = mapped_column(ForeignKey("codebook_snapshots.digest"))
    model_id: Mapped[str] = mapped_column(String(200))
    top_k: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Float)
    evidence_k: Mapped[int] = mapped_column(Integer)
    context_window: Mapped[int] = mapped_column(Integer)
    # The trained classifier blended into the scores, or None for similarity alone.
    classifier_id: Mapped[int | None] = mapped_column(ForeignKey("classifiers.id", ondelete="SET NULL"))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Suggestion(Base):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_run_segment", "run_id", "segment_id"),
                      Index("ix_suggestions_segment_id", "segment_id"),
                      Index("ix_suggestions_end_segment_id", "end_segment_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("suggestion_runs.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    code_id: Mapped[str] = mapped_column(String(64), index=True)
    code_label: Mapped[str] = mapped_column(String(300))
    code_group: Mapped[str | None] = mapped_column(String(300))
    score: Mapped[float] = mapped_column(Float)
    evidence_kind: Mapped[str] = mapped_column(String(16))
    evidence_text: Mapped[str] = mapped_column(Text)
    evidence_source: Mapped[str] = mapped_column(String(300))
    # A passage suggestion: the last sentence of the span (same turn) that starts at segment_id; None for one.
    end_segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))


class User(Base):
    """A person using the service: role 'admin', 'coder' or 'viewer'."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256: a copied database does not give away anyone's access."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart in listings
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """One coder's decision on one segment, or on a span of consecutive sentences of one turn (segment_id is
    its first sentence, end_segment_id its last). Rows are only ever added: current labels are replayed from
    them. stage "coding" is a coder's own coding; "consensus" is an adjudicator's final code for the team."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_transcript_coder", "transcript_id", "coder_id"),
                      Index("ix_decisions_segment_coder", "segment_id", "coder_id"),
                      Index("ix_decisions_end_segment_id", "end_segment_id"),
                      Index("ix_decisions_suggestion_id", "suggestion_id"),
                      Index("ix_decisions_run_id", "run_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    end_segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16), default="coding", server_default="coding")
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))  # accept, reject, change, add, remove, memo
    code_id: Mapped[str | None] = mapped_column(String(64))  # the code decided on (for change: the new one)
    from_code_id: Mapped[str | None] = mapped_column(String(64))  # change: the suggested code replaced
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("suggestion_runs.id", ondelete="SET NULL"))
    model_id: Mapped[str | None] = mapped_column(String(200))
    classifier_id: Mapped[int | None] = mapped_column(ForeignKey("classifiers.id", ondelete="SET NULL"))
    codebook_version: Mapped[str | None] = mapped_column(String(300))
    memo: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Job(Base):
    """A batch pre-coding job started through the API; its files live under data/jobs/<id>/."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed, cancelled
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    options: Mapped[dict] = mapped_column(JSON)
    transcripts_total: Mapped[int] = mapped_column(Integer, default=0)
    transcripts_done: Mapped[int] = mapped_column(Integer, default=0)
    sentences_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    rate: Mapped[float] = mapped_column(Float, default=0.0)  # sentences per second in the current run
    eta_seconds: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Classifier(Base):
    """One fit of the classifier on confirmed labels: a version. Its arrays and model card live under
    models/<version>/; this row is the registry's record of it."""

    __tablename__ = "classifiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_name: Mapped[str] = mapped_column(String(200), index=True)
    codebook_digest: Mapped[str | None] = mapped_column(String(64))
    embedding_model: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # training, ready, failed
    trigger: Mapped[str] = mapped_column(String(16))  # api, cli, auto
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    # Decisions with ids up to here were the training labels: what came later is held out from this version.
    decisions_until: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(500))
    card: Mapped[dict | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServingChange(Base):
    """Which classifier serves a codebook from now on (None: similarity alone). Rows are only added: the
    newest row per codebook is what is served, and the rows are the history of promotions and rollbacks."""

    __tablename__ = "serving_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_name: Mapped[str] = mapped_column(String(200), index=True)
    classifier_id: Mapped[int | None] = mapped_column(ForeignKey("classifiers.id"))
    reason: Mapped[str] = mapped_column(String(32))  # promoted, forced, rollback
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TranscriptDeletion(Base):
    """What is left of a deleted transcript: who deleted which one, when, and how many rows went with it.
    Never its text: the point of deleting is that the participant's words are gone."""

    __tablename__ = "transcript_deletions"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(Integer, index=True)  # no foreign key: the row is gone
    title: Mapped[str | None] = mapped_column(String(300))
    participant_id: Mapped[str | None] = mapped_column(String(100))
    deleted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    deleted_by_name: Mapped[str] = mapped_column(String(100))
    # {"segments": n, "vectors": n, "runs": n, "suggestions": n, "decisions": n, "evidence_redacted": n,
    #  "cached_embeddings": n, "discovery_sentences": n, "codebook_exemplars": n}
    removed: Mapped[dict] = mapped_column(JSON)
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FinishMark(Base):
    """A coder marking a transcript finished (or unfinished again). Rows are only added; the newest per
    transcript and coder holds. Agreement counts only transcripts every compared coder has finished."""

    __tablename__ = "finish_marks"
    __table_args__ = (Index("ix_finish_marks_transcript_coder", "transcript_id", "coder_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    coder_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(16), default="coding")  # coding, or consensus (adjudication done)
    finished: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TranscriptEdit(Base):
    """Audit row of one change to a transcript's metadata: who, when, and each field's old and new value."""

    __tablename__ = "transcript_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    edited_by_name: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict] = mapped_column(JSON)  # field -> [old, new]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DiscoveryRun(Base):
    """One inductive discovery run: which sentences it looked at (filters), how they were clustered (params,
    model, codebook) and how far it got. Each run is a version of the results; its candidates are its rows
    below. Only the candidates' review state (name, definition, dismissed, merged, promoted) changes later."""

    __tablename__ = "discovery_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: from the command line
    codebook_name: Mapped[str] = mapped_column(String(200))
    codebook_digest: Mapped[str | None] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict] = mapped_column(JSON)  # role, site, arm, transcript ids, codebook
    params: Mapped[dict] = mapped_column(JSON)  # the clustering parameters, engine version
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    units: Mapped[int] = mapped_column(Integer, default=0)  # sentences no code explains well
    # {"transcripts": n, "sentences": n, "under_threshold": n, "all_rejected": n, "clustered": n, "noise": n,
    #  "timings": {...}}
    summary: Mapped[dict | None] = mapped_column(JSON)
    # The 2-D map: [[segment id, x, y, candidate number or 0], ...], a seeded sample of at most MAP_POINTS.
    points: Mapped[list | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DiscoveryCandidate(Base):
    """A candidate new code: a cluster of unexplained sentences, and what the team decided about it."""

    __tablename__ = "discovery_candidates"
    __table_args__ = (UniqueConstraint("run_id", "number", name="uq_discovery_candidates_run_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("discovery_runs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, dismissed, merged, promoted
    label: Mapped[str] = mapped_column(String(300))  # from its distinctive words (c-TF-IDF)
    name: Mapped[str | None] = mapped_column(String(300))  # the team's name for it
    definition: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    by_role: Mapped[dict] = mapped_column(JSON)  # role -> sentences
    by_transcript: Mapped[dict] = mapped_column(JSON)  # transcript id -> sentences
    terms: Mapped[list] = mapped_column(JSON)  # [[term, weight], ...]
    quotes: Mapped[list] = mapped_column(JSON)  # segment ids: nearest the centre first, then varied
    exemplars: Mapped[list | None] = mapped_column(JSON)  # segment ids the team picked (None: the quotes)
    nearest_codes: Mapped[list] = mapped_column(JSON)  # [[code id, cosine], ...]
    stability: Mapped[float | None] = mapped_column(Float)
    members: Mapped[list] = mapped_column(JSON)  # segment ids
    merged_from: Mapped[list | None] = mapped_column(JSON)  # candidate numbers a merge combined
    merged_into: Mapped[int | None] = mapped_column(Integer)  # the number of the candidate it was merged into
    reason: Mapped[str | None] = mapped_column(Text)  # why it was dismissed
    promoted_codebook: Mapped[str | None] = mapped_column(String(200))
    promoted_version: Mapped[str | None] = mapped_column(String(64))
    promoted_code: Mapped[str | None] = mapped_column(String(64))
    # Re-coding earlier transcripts with the promoted codebook: {"status", "total", "done", "codebook", "message"}
    recode: Mapped[dict | None] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Ids are never reused, so an id in an audit row (GET /deletions), a log or an export names one row forever:
# SQLite's AUTOINCREMENT (otherwise a deleted newest row's id comes back); PostgreSQL's sequences never go back.
for _table in Base.metadata.tables.values():
    _table.dialect_options["sqlite"]["autoincrement"] = True
