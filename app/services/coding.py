"""Coding use cases: suggest codes for a snippet, and segment, embed, suggest and store a transcript."""

import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import store
from app.db.tables import SuggestionRun, Transcript, User
from app.engine.code_index import CodeIndex, CodeIndexCache
from app.engine.embed import Embedder
from app.engine.gate import word_counts
from app.engine.passages import merge, span_suggestions, window_texts, windows
from app.engine.segment import (
    RoleMapper,
    Segment,
    split_sentences,
    turns_from_text,
)
from app.engine.suggest import (
    CONFIRMED_MIN_SIMILARITY,
    Candidate,
    ConfirmedExamples,
    Served,
    rank,
    score_served,
    with_context,
)

# Preparing a transcript lives in app/engine/transcripts.py (batch pre-coding shares it); these names are
# also imported from here by the API and tests.
from app.engine.transcripts import (
    SuggestOptions,
    TranscriptInput,
    check_text,
    segment_transcript,
    skip_reason,
)
from app.errors import InvalidInput, NotFound
from app.services.codebooks import CodebookCatalog
from app.services.confirmed import ConfirmedCache, near_confirmed
from app.services.serving import ServedModels
from app.services.visibility import Visibility
from taxonomy import ResolvedCodebook
from training.scoring import Scorer


@dataclass(frozen=True)
class SnippetSegment:
    text: str
    start: int
    end: int
    candidates: list[Candidate]
    status: str
    truncated: bool


@dataclass(frozen=True)
class SnippetResult:
    index: CodeIndex
    threshold: float
    segments: list[SnippetSegment]
    classifier_id: int | None = None


_ENCODING = threading.Lock()


class SerialEmbedder:
    """The process's embedder, one call at a time across request threads, jobs and retraining. The
    tokenizer keeps its truncation and padding settings as shared state that every call sets, so two calls
    at once (encode beside truncated) corrupt each other's batches: under load a request failed with
    'Unable to create tensor ...'. Everything else is the wrapped Embedder's."""

    def __init__(self, embedder: Embedder):
        self._embedder = embedder

    def __getattr__(self, name: str):
        return getattr(self._embedder, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        with _ENCODING:
            return self._embedder.encode(texts)

    def encode_pipelined(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        with _ENCODING:
            return self._embedder.encode_pipelined(texts, batch_size)

    def truncated(self, texts: list[str]) -> list[bool]:
        with _ENCODING:
            return self._embedder.truncated(texts)


def status_of(scores: list[float], threshold: float, skip_reason: str | None = None) -> str:
    """'skipped', 'suggested' (some code at or over the threshold) or 'uncoded' (none: not forced)."""
    if skip_reason:
        return "skipped"
    return "suggested" if scores and max(scores) >= threshold else "uncoded"


class Coder:
    """Holds the embedder and the codebook index cache; every use case goes through here."""

    def __init__(self, settings: Settings, embedder: Embedder, catalog: CodebookCatalog):
        self.settings = settings
        self.embedder = embedder if isinstance(embedder, SerialEmbedder) else SerialEmbedder(embedder)
        self.catalog = catalog
        self.indexes = CodeIndexCache(self.embedder, settings.cache_dir)
        self.served = ServedModels(settings.models_dir)
        self.confirmed = ConfirmedCache()

    def index_for(self, session: Session, codebook: str | None) -> tuple[ResolvedCodebook, CodeIndex]:
        resolved = self.catalog.resolve(session, codebook or self.settings.default_codebook)
        return resolved, self.indexes.get(resolved)

    def scorer(self, session: Session, index: CodeIndex, who: User | None = None, *,
               with_confirmed: bool = True) -> Scorer:
        """The served classifier for this codebook, if there is one trained on this embedding model, and, with
        `with_confirmed`, the sentences confirmed so far that `who` may see (app/services/confirmed.py). Runs
        that are stored take none: every coder reads a stored run."""
        confirmed = self.confirmed_for(session, index, who) if with_confirmed else None
        served = self.served.current(session, index.codebook_name)
        if served is None or served[0].embedding_model != self.embedder.model_id:
            return Scorer(index, confirmed=confirmed)
        return Scorer.blended(index, served[0].id, served[1], confirmed)

    def confirmed_for(self, session: Session, index: CodeIndex, who: User | None) -> ConfirmedExamples | None:
        """The confirmed sentences `who` may see, as evidence for this codebook's codes."""
        return self.confirmed.get(session, tuple(c.id for c in index.codes), self.embedder.model_id,
                                  Visibility(who, blind=self.settings.blind_review),
                                  self.embedder.paraphrase_similarity or CONFIRMED_MIN_SIMILARITY)

    def near_confirmed(self, session: Session, transcript: Transcript, run: SuggestionRun | None,
                       who: User | None) -> dict[int, list[Candidate]]:
        """Per sentence of a stored transcript, the codes `who`'s visible confirmations give it (read time)."""
        if run is None:
            return {}
        try:
            _, index = self.index_for(session, run.codebook_name)
        except NotFound:
            return {}
        return near_confirmed(transcript.segments, self.embedder.model_id, self.confirmed_for(session, index, who),
                              index)

    def _params(self, options: SuggestOptions) -> tuple[int, float]:
        top_k = options.top_k or self.settings.top_k
        threshold = self.settings.threshold if options.threshold is None else options.threshold
        return top_k, threshold

    def suggest_snippet(self, session: Session, text: str, options: SuggestOptions,
                        split: bool = False, who: User | None = None) -> SnippetResult:
        """Stateless: codes for a piece of text, as one passage or sentence by sentence."""
        check_text(text)
        _, index = self.index_for(session, options.codebook)
        scorer = self.scorer(session, index, who)
        top_k, threshold = self._params(options)
        if split:
            sentences = split_sentences(text, turns_from_text(text, _NO_ROLES, "text"),
                                        self.settings.max_sentence_words)
            parts, turns = [(s.start, s.end) for s in sentences], [s.turn_index for s in sentences]
        else:
            parts, turns = [(len(text) - len(text.lstrip()), len(text.rstrip()))], [0]
        pieces = [text[a:b] for a, b in parts]
        raw = self.embedder.encode(pieces)
        served = score_served(index, with_context(raw, turns, options.context), self.settings.scoring(),
                              scorer.rescore(raw), scorer.confirmed, word_counts(pieces))
        ranked = rank(index, served, top_k, scorer.confirmed)
        every = list(range(len(parts)))
        spans = self._passages(scorer, served, every, turns, [None] * len(parts), threshold, text, parts)
        ranked = [merge(cands, spans.get(i, []), top_k) for i, cands in enumerate(ranked)]
        segments = [SnippetSegment(text[a:b], a, b, cands, status_of([c.score for c in cands], threshold), cut)
                    for (a, b), cands, cut in zip(parts, ranked, self.embedder.truncated(pieces), strict=True)]
        return SnippetResult(index, threshold, segments, scorer.classifier_id)

    def code_transcript(self, session: Session, data: TranscriptInput,
                        who: User | None = None, commit: bool = True) -> tuple[Transcript, SuggestionRun]:
        """Segment, embed, suggest and store a transcript, all in one transaction."""
        return self.code_transcripts(session, [data], who=who, commit=commit)[0]

    def code_transcripts(self, session: Session, inputs: list[TranscriptInput], names: list[str] | None = None,
                         who: User | None = None, commit: bool = True) -> list[tuple[Transcript, SuggestionRun]]:
        """Several transcripts in one transaction: all are stored, or none (the error names which failed).
        commit=False leaves the commit to the caller (who first builds the response from the flushed rows)."""
        prepared = []
        for n, data in enumerate(inputs):
            try:
                text, source_format, segments = segment_transcript(data, self.settings.segmentation())
            except InvalidInput as exc:
                raise InvalidInput(f"{names[n]}: {exc.message}" if names else exc.message) from None
            prepared.append((data, text, source_format, segments))
        sentences = [s.text for _, _, _, segments in prepared for s in segments]
        all_vectors = self.embedder.encode(sentences)  # one pass over every sentence: batches stay full
        stored, offset = [], 0
        for data, text, source_format, segments in prepared:
            codebook, index = self.index_for(session, data.options.codebook)
            vectors = all_vectors[offset:offset + len(segments)]
            offset += len(segments)
            skips = [skip_reason(s, data.code_interviewer, self.settings.min_words) for s in segments]
            scorer = self.scorer(session, index, who, with_confirmed=False)
            rows = self._suggestion_rows(scorer, vectors, [s.turn_index for s in segments], skips, data.options,
                                         text, [(s.start, s.end) for s in segments])
            # Everything for this transcript is computed; write it, and commit once all are written.
            stored.append(self.store_coded(session, data, text, source_format, segments, skips, list(vectors),
                                           rows, codebook, index, classifier_id=scorer.classifier_id))
        if commit:
            session.commit()
        return stored

    def store_coded(self, session: Session, data: TranscriptInput, text: str, source_format: str,
                    segments: list[Segment], skips: list[str | None], vectors: list[np.ndarray | None],
                    rows: list[tuple[int, int, Candidate]], codebook: ResolvedCodebook, index: CodeIndex,
                    source_key: str | None = None,
                    classifier_id: int | None = None) -> tuple[Transcript, SuggestionRun]:
        """Store a segmented, embedded and ranked transcript and its run; the caller commits."""
        transcript = store.add_transcript(
            session,
            fields=dict(title=data.title, participant_id=data.participant_id, role=data.role, site=data.site,
                        trial_arm=data.trial_arm, extra=data.extra, source_format=source_format, text=text,
                        source_key=source_key, speaker_roles=dict(data.speaker_roles) or None),
            segments=[_segment_row(i, s, skips[i], vectors[i], self.embedder.model_id)
                      for i, s in enumerate(segments)],
        )
        return transcript, self._store_run(session, transcript, codebook, index, rows, data.options, classifier_id)

    def resuggest(self, session: Session, transcript_id: int, options: SuggestOptions,
                  who: User | None = None) -> tuple[Transcript, SuggestionRun]:
        """A new current run over a stored transcript, from its stored embeddings (no re-encoding)."""
        transcript = store.get_transcript(session, transcript_id=transcript_id)
        if transcript is None:
            raise NotFound(f"no transcript with id {transcript_id}")
        codebook, index = self.index_for(session, options.codebook)
        segments = transcript.segments
        stale = [s for s in segments if s.embedding is None or s.embedding_model != self.embedder.model_id]
        if stale:  # stored under another model: encode again and keep the new vectors
            for seg, vector in zip(stale, self.embedder.encode([s.text for s in stale]), strict=True):
                seg.embedding, seg.embedding_model = vector.tobytes(), self.embedder.model_id
        vectors = np.stack([np.frombuffer(s.embedding, dtype=np.float32) for s in segments])
        scorer = self.scorer(session, index, who, with_confirmed=False)
        rows = self._suggestion_rows(scorer, vectors, [s.turn_index for s in segments],
                                     [s.skip_reason for s in segments], options, transcript.text,
                                     [(s.char_start, s.char_end) for s in segments])
        run = self._store_run(session, transcript, codebook, index, rows, options, scorer.classifier_id)
        session.commit()
        return transcript, run

    def _suggestion_rows(self, scorer: Scorer, vectors: np.ndarray, turns: list[int], skips: list[str | None],
                         options: SuggestOptions, text: str,
                         bounds: list[tuple[int, int]]) -> list[tuple[int, int, Candidate]]:
        """(segment position, rank, candidate) for every coded segment; a passage suggestion sits on its span's
        first sentence with `end` set to its last (app/engine/passages.py)."""
        top_k, threshold = self._params(options)
        coded = [i for i, reason in enumerate(skips) if reason is None]
        if not coded:
            return []
        contextual = with_context(vectors, turns, options.context)
        served = score_served(scorer.index, contextual[coded], self.settings.scoring(),
                              scorer.rescore(vectors[coded]), scorer.confirmed,
                              word_counts([text[bounds[i][0]:bounds[i][1]] for i in coded]))
        ranked = dict(zip(coded, rank(scorer.index, served, top_k, scorer.confirmed), strict=True))
        spans = self._passages(scorer, served, coded, turns, skips, threshold, text, bounds)
        return [(i, n, c) for i in coded for n, c in enumerate(merge(ranked[i], spans.get(i, []), top_k), start=1)]

    def _passages(self, scorer: Scorer, served: Served, coded: list[int], turns: list[int],
                  skips: list[str | None], threshold: float, text: str,
                  bounds: list[tuple[int, int]]) -> dict[int, list[Candidate]]:
        """Span suggestions over windows of consecutive coded sentences of one turn (none when turned off)."""
        params = self.settings.passages()
        spans = windows(turns, [reason is None for reason in skips], params.longest)
        if not spans:
            return {}
        passages = window_texts(text, bounds, spans)
        raw = self.embedder.encode(passages)
        scored = score_served(scorer.index, raw, self.settings.scoring(), scorer.rescore(raw), scorer.confirmed,
                              word_counts(passages))
        return span_suggestions(scorer.index, params, spans, scored, served, coded, len(skips), threshold,
                                scorer.confirmed)

    def _store_run(self, session: Session, transcript: Transcript, codebook: ResolvedCodebook, index: CodeIndex,
                   rows: list[tuple[int, int, Candidate]], options: SuggestOptions,
                   classifier_id: int | None = None) -> SuggestionRun:
        top_k, threshold = self._params(options)
        store.ensure_snapshot(session, digest=index.codebook_digest, name=index.codebook_name,
                              version=index.codebook_version, content=codebook.content())
        ids = [seg.id for seg in transcript.segments]
        suggestions = [dict(segment_id=ids[i], rank=n, code_id=c.code_id, code_label=c.label, code_group=c.group,
                            score=c.score, evidence_kind=c.evidence_kind, evidence_text=c.evidence_text,
                            evidence_source=c.evidence_source,
                            end_segment_id=ids[c.end] if c.end is not None else None) for i, n, c in rows]
        return store.add_run(session, transcript_id=transcript.id, suggestions=suggestions, fields=dict(
            codebook_name=index.codebook_name, codebook_version=index.codebook_version,
            codebook_digest=index.codebook_digest, model_id=index.model_id, top_k=top_k,
            threshold=threshold, evidence_k=self.settings.evidence_k, context_window=options.context,
            classifier_id=classifier_id))

_NO_ROLES = RoleMapper({})


def _segment_row(position: int, s: Segment, skip: str | None, vector: np.ndarray | None, model_id: str) -> dict:
    embedding = vector.astype(np.float32).tobytes() if vector is not None else None
    return dict(position=position, turn_index=s.turn_index, sentence_index=s.sentence_index, speaker=s.speaker,
                role=s.role, char_start=s.start, char_end=s.end, text=s.text, skip_reason=skip,
                time_start=s.time_start, time_end=s.time_end,
                embedding=embedding, embedding_model=model_id if vector is not None else None)
