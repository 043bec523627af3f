"""Pre-code a whole dataset: every sentence of every transcript with its top-k codes, resumably.

The work is cut into chunks of `chunk_size` transcripts, in input order. A finished chunk is written as
`<out>/.precode/parts/part-NNNNNN.parquet` (to a temporary name, then renamed, so a part is whole or absent).
Killed at any moment and started again with the same input and options, a job skips the chunks whose parts
exist and computes only the rest; the final files are then assembled from the parts, streaming, so memory
stays flat however large the corpus. Sentence vectors come from the embedding cache when a sentence was seen
before (by this or an earlier run); the rest are encoded longest first, with the next batch tokenized while
the model runs, locally or on a pool of Ray actors (app.batch.ray_pool).

Determinism: a chunk's sentences are encoded together in the same batches whatever the runner, so an
interrupted-and-resumed run, an uninterrupted one, and a Ray run give the same table, row for row.
"""

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from app.batch.cache import EmbeddingCache
from app.batch.inputs import UNSUPPORTED, InputError, Source, chunks, fingerprint, load
from app.config import Settings
from app.engine.code_index import CodeIndex
from app.engine.gate import word_counts
from app.engine.passages import PassageParams, merge, span_suggestions, window_texts, windows
from app.engine.presence import present_codes
from app.engine.segment import Segment
from app.engine.suggest import Candidate, ScoringParams, rank, score_served
from app.engine.transcripts import (
    TranscriptInput,
    other_speakers,
    other_speakers_warning,
    segment_transcript,
    skip_reason,
)
from app.errors import AutocoderError
from app.ingest.metadata import NamePattern
from app.ingest.readers import ReadLimits
from training.scoring import Scorer

FORMATS = ("parquet", "csv", "jsonl")
STATE = ".precode"


class JobMismatch(ValueError):
    """The output folder holds parts of a different job (other input or options)."""


@dataclass(frozen=True)
class PrecodeOptions:
    top_k: int = 5
    threshold: float = 0.30
    scoring: ScoringParams = field(default_factory=ScoringParams)  # the service's: settings.scoring()
    # Passage suggestions, as the service makes them (settings.passages()); off by default (windows of 1).
    passages: PassageParams = field(default_factory=lambda: PassageParams(longest=1))
    chunk_size: int = 16  # transcripts per chunk: the unit of resumption
    batch_size: int = 64
    code_interviewer: bool = False
    output_format: str = "parquet"
    name_pattern: str | None = None  # per-file metadata from file names: app/ingest/metadata.py NamePattern


@dataclass
class Progress:
    chunks_total: int
    transcripts_total: int  # inputs: files of a folder, or manifest rows (a .zip or turn table may hold several)
    chunks_done: int = 0
    chunks_resumed: int = 0  # found finished from an earlier run
    transcripts_done: int = 0  # inputs done
    transcripts_coded: int = 0  # transcripts pre-coded in this run
    sentences_done: int = 0
    sentences_encoded: int = 0  # the rest came from the embedding cache
    errors: int = 0  # files skipped or transcripts that could not be read (errors.json)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        return self.sentences_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, from this run's pace (chunks found finished do not count as speed)."""
        done_here = self.chunks_done - self.chunks_resumed
        if not done_here or self.elapsed <= 0:
            return None
        return (self.chunks_total - self.chunks_done) * self.elapsed / done_here


@dataclass
class PreparedTranscript:
    source: Source
    key: str  # the transcript's name: the file's, an archive member's (a.zip/b.docx), a table's group (t.csv#A1)
    part: int  # its place among the transcripts of its input (0 for a plain file)
    data: TranscriptInput
    text: str  # as it will be stored
    source_format: str
    segments: list[Segment]
    skips: list[str | None]
    spans: list[tuple[int, int]] = field(default_factory=list)  # windows scored as passages (positions)
    ranked: dict[int, list[Candidate]] = field(default_factory=dict)  # position -> top-k, once encoded
    warning: str | None = None  # speakers that fell to role 'other'


@dataclass
class Prepared:
    """One chunk read and segmented, waiting for its vectors."""

    index: int
    transcripts: list[PreparedTranscript]
    errors: list[dict]  # {"file", "transcript_index", "reason"}: skipped or unreadable
    vectors: dict[str, np.ndarray]  # from the cache
    missing: list[str]  # distinct coded sentences (and passage windows) still to encode
    inputs: int = 0  # how many inputs (files, manifest rows) the chunk had

    @property
    def warnings(self) -> list[dict]:
        return [{"file": t.key, "transcript_index": t.source.index, "warning": t.warning}
                for t in self.transcripts if t.warning]


class Encoder(Protocol):
    """Turns a chunk's missing sentences into vectors."""

    model_id: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class LocalEncoder:
    def __init__(self, embedder):
        self.embedder = embedder
        self.model_id, self.dimension = embedder.model_id, embedder.dimension

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.embedder.encode_pipelined(texts, batch_size)


def schema(top_k: int) -> pa.Schema:
    fields = [("transcript", pa.string()), ("transcript_index", pa.int32()), ("participant_id", pa.string()),
              ("transcript_role", pa.string()), ("site", pa.string()), ("trial_arm", pa.string()),
              ("position", pa.int32()), ("turn_index", pa.int32()), ("sentence_index", pa.int32()),
              ("speaker", pa.string()), ("role", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
              ("text", pa.string()), ("status", pa.string()), ("skip_reason", pa.string())]
    for i in range(1, top_k + 1):
        # span_end_i: a passage suggestion's last sentence (its `position`); empty for the sentence alone.
        fields += [(f"code_{i}", pa.string()), (f"label_{i}", pa.string()), (f"score_{i}", pa.float64()),
                   (f"span_end_{i}", pa.int32())]
    return pa.schema(fields)


class Precoder:
    def __init__(self, settings: Settings, index: CodeIndex, encoder: Encoder, options: PrecodeOptions,
                 cache: EmbeddingCache | None = None, scorer: Scorer | None = None):
        """`scorer`: a trained classifier version to blend in, as the service does when it is served; by
        default similarity alone."""
        if options.output_format not in FORMATS:
            raise ValueError(f"output format must be one of {', '.join(FORMATS)}")
        self.settings, self.index, self.encoder, self.options, self.cache = settings, index, encoder, options, cache
        self.schema = schema(options.top_k)
        self.scorer = scorer or Scorer(index)
        self.pattern = NamePattern(options.name_pattern, settings.role_patterns) if options.name_pattern else None
        self.limits = ReadLimits(member_bytes=settings.max_member_bytes, archive_bytes=settings.max_archive_bytes,
                                 compression_ratio=settings.max_compression_ratio,
                                 members=settings.max_archive_members, turns=settings.max_segments)

    # -- the job ---------------------------------------------------------------------------------------------

    def run(self, sources: list[Source], out: Path, *, on_progress: Callable[[Progress], None] | None = None,
            cancelled: Callable[[], bool] = lambda: False, fresh: bool = False,
            on_chunk: Callable[[Prepared], None] | None = None, ray_pool=None) -> Progress:
        """Pre-code `sources` into `out`; returns the final progress. Resumes what an earlier run left."""
        parts = self._state(sources, out, fresh)
        all_chunks = list(chunks(sources, self.options.chunk_size))
        progress = Progress(len(all_chunks), len(sources))
        todo = []
        for k, chunk in all_chunks:
            if self._part(parts, k).exists():
                progress.chunks_done += 1
                progress.chunks_resumed += 1
                progress.transcripts_done += len(chunk)
            else:
                todo.append((k, chunk))
        report = on_progress or (lambda _: None)
        report(progress)

        def finish(prepared: Prepared, vectors: np.ndarray) -> None:
            if self.cache is not None and prepared.missing:
                self.cache.put_many(prepared.missing, vectors)
            prepared.vectors.update(zip(prepared.missing, vectors, strict=True))
            self._rank(prepared)
            if on_chunk is not None:
                on_chunk(prepared)  # e.g. store in the service's database, before the part marks it done
            table = self._table(prepared)
            self._write_part(parts, prepared, table)
            progress.chunks_done += 1
            progress.transcripts_done += prepared.inputs
            progress.transcripts_coded += len(prepared.transcripts)
            progress.sentences_done += table.num_rows
            progress.sentences_encoded += len(prepared.missing)
            progress.errors += len(prepared.errors)
            report(progress)

        if ray_pool is not None:
            ray_pool.run(self, todo, finish, cancelled)
        else:
            self._run_local(todo, finish, cancelled)
        if progress.chunks_done == progress.chunks_total and not cancelled():
            self._assemble(parts, out, len(all_chunks))
        return progress

    def _run_local(self, todo: list[tuple[int, list[Source]]], finish, cancelled) -> None:
        # Reading and segmenting the next chunk overlaps with encoding this one (the model releases the GIL).
        with ThreadPoolExecutor(max_workers=1) as reader:
            pending = reader.submit(self.prepare, *todo[0]) if todo else None
            for n in range(len(todo)):
                prepared = pending.result()
                pending = reader.submit(self.prepare, *todo[n + 1]) if n + 1 < len(todo) else None
                if cancelled():
                    return
                finish(prepared, self.encoder.encode(prepared.missing, self.options.batch_size))

    # -- one chunk -------------------------------------------------------------------------------------------

    def prepare(self, k: int, sources: list[Source]) -> Prepared:
        """Read and segment a chunk; look its sentences up in the cache. A file that cannot be read, and each
        archive member skipped, is an error row (errors.json); the other transcripts go on."""
        transcripts, errors = [], []
        for source in sources:
            try:
                loaded = load(source, code_interviewer=self.options.code_interviewer, pattern=self.pattern,
                              limits=self.limits)
            except (InputError, AutocoderError, OSError, ValueError) as exc:
                errors.append(_error(source.key, source.index, exc))
                continue
            errors += [{"file": name, "transcript_index": source.index,
                        "reason": "skipped inside the archive: " + UNSUPPORTED.format(suffix=_suffix(name))}
                       for name in loaded.skipped]
            for part, (key, data) in enumerate(loaded.transcripts):
                try:
                    text, source_format, segments = segment_transcript(data, self.settings.segmentation())
                except (AutocoderError, ValueError) as exc:
                    errors.append(_error(key, source.index, exc))
                    continue
                skips = [skip_reason(s, data.code_interviewer, self.settings.min_words) for s in segments]
                spans = windows([s.turn_index for s in segments], [skip is None for skip in skips],
                                self.options.passages.longest)
                transcripts.append(PreparedTranscript(source, key, part, data, text, source_format, segments, skips,
                                                      spans, warning=other_speakers_warning(other_speakers(segments))))
        # A passage window is encoded (and cached) like a sentence: by text, so the Ray actors need nothing new.
        texts = list(dict.fromkeys([s.text for t in transcripts
                                    for s, skip in zip(t.segments, t.skips, strict=True) if skip is None]
                                   + [w for t in transcripts for w in _window_texts(t)]))
        cached = self.cache.get_many(texts) if self.cache is not None else {}
        return Prepared(k, transcripts, errors, cached, [t for t in texts if t not in cached], len(sources))

    def _rank(self, prepared: Prepared) -> None:
        """Every coded sentence's top-k codes, with the passage suggestions that start on it, from the chunk's
        vectors (app/engine/passages.py, as the service ranks a stored transcript)."""
        top_k = self.options.top_k
        for t in prepared.transcripts:
            coded = [i for i, skip in enumerate(t.skips) if skip is None]
            if not coded:
                continue
            served = self._served([t.segments[i].text for i in coded], prepared)
            ranked = rank(self.index, served, top_k)
            spans = {}
            if t.spans:
                spans = span_suggestions(self.index, self.options.passages, t.spans,
                                         self._served(_window_texts(t), prepared), served, coded, len(t.segments),
                                         self.options.threshold)
            t.ranked = {i: merge(cands, spans.get(i, []), top_k) for i, cands in zip(coded, ranked, strict=True)}

    def _served(self, texts: list[str], prepared: Prepared):
        vectors = np.stack([prepared.vectors[text] for text in texts])
        return score_served(self.index, vectors, self.options.scoring, self.scorer.rescore(vectors),
                            words=word_counts(texts))

    def _table(self, prepared: Prepared) -> pa.Table:
        k = self.options.top_k
        columns: dict[str, list] = {name: [] for name in self.schema.names}
        for t in prepared.transcripts:
            data = t.data
            for position, (seg, skip) in enumerate(zip(t.segments, t.skips, strict=True)):
                candidates = t.ranked.get(position, [])
                status = "skipped" if skip else (
                    "suggested" if candidates and candidates[0].score >= self.options.threshold else "uncoded")
                row = dict(transcript=t.key, transcript_index=t.source.index,
                           participant_id=data.participant_id, transcript_role=data.role, site=data.site,
                           trial_arm=data.trial_arm, position=position, turn_index=seg.turn_index,
                           sentence_index=seg.sentence_index, speaker=seg.speaker, role=seg.role, start=seg.start,
                           end=seg.end, text=seg.text, status=status, skip_reason=skip)
                for i in range(k):
                    c = candidates[i] if i < len(candidates) else None
                    row[f"code_{i + 1}"] = c.code_id if c else None
                    row[f"label_{i + 1}"] = c.label if c else None
                    row[f"score_{i + 1}"] = c.score if c else None
                    row[f"span_end_{i + 1}"] = c.end if c else None
                for name, value in row.items():
                    columns[name].append(value)
        return pa.table(columns, schema=self.schema)

    # -- files -----------------------------------------------------------------------------------------------

    def job_description(self, sources: list[Source]) -> dict:
        return {"inputs": fingerprint(sources), "transcripts": len(sources), "model": self.encoder.model_id,
                "codebook": self.index.codebook_version, "codebook_digest": self.index.codebook_digest,
                "classifier": self.scorer.classifier_id,
                "options": asdict(self.options) | {"output_format": None}}

    def _state(self, sources: list[Source], out: Path, fresh: bool) -> Path:
        state = out / STATE
        job = self.job_description(sources)
        if fresh and state.exists():
            shutil.rmtree(state)
        parts = state / "parts"
        parts.mkdir(parents=True, exist_ok=True)
        described = state / "job.json"
        if described.exists():
            earlier = json.loads(described.read_text())
            if earlier != job:
                changed = sorted(k for k in job if earlier.get(k) != job[k])
                raise JobMismatch(f"{out} holds a pre-coding job with other {', '.join(changed)}; "
                                  "use another output folder, or --fresh to start this one over")
        else:
            _write_atomic(described, json.dumps(job, indent=2).encode())
        for leftover in parts.glob("*.tmp"):
            leftover.unlink()  # a part being written when the last run was killed
        return parts

    @staticmethod
    def _part(parts: Path, k: int) -> Path:
        return parts / f"part-{k:06d}.parquet"

    def _write_part(self, parts: Path, prepared: Prepared, table: pa.Table) -> None:
        errors = parts / f"part-{prepared.index:06d}.errors.json"
        _write_atomic(errors, json.dumps(prepared.errors).encode())
        warnings = parts / f"part-{prepared.index:06d}.warnings.json"
        _write_atomic(warnings, json.dumps(prepared.warnings).encode())
        tmp = self._part(parts, prepared.index).with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self._part(parts, prepared.index))  # the part now exists whole: the chunk is done

    def _assemble(self, parts: Path, out: Path, n_chunks: int) -> None:
        """Concatenate the parts into the output files, one part in memory at a time."""
        fmt = self.options.output_format
        target = out / f"sentences.{fmt}"
        tmp = target.with_name(target.name + ".tmp")
        codes = [c.id for c in self.index.codes]
        presence: dict[tuple[int, str], dict] = {}
        errors: list[dict] = []
        warnings: list[dict] = []
        writer = _Writer(fmt, tmp, self.schema)
        try:
            for k in range(n_chunks):
                table = pq.read_table(self._part(parts, k))
                writer.write(table)
                _collect_presence(table, presence, self.options.top_k, self.options.threshold)
                errors += json.loads((parts / f"part-{k:06d}.errors.json").read_text())
                said = parts / f"part-{k:06d}.warnings.json"
                warnings += json.loads(said.read_text()) if said.exists() else []  # parts of older versions
        finally:
            writer.close()
        os.replace(tmp, target)
        matrix = _presence_table(presence, codes)
        ptmp = out / f"presence.{fmt}.tmp"
        with _Writer(fmt, ptmp, matrix.schema) as w:
            w.write(matrix)
        os.replace(ptmp, out / f"presence.{fmt}")
        _write_atomic(out / "errors.json", json.dumps(errors, indent=2).encode())
        _write_atomic(out / "warnings.json", json.dumps(warnings, indent=2).encode())


def _window_texts(t: PreparedTranscript) -> list[str]:
    return window_texts(t.text, [(s.start, s.end) for s in t.segments], t.spans)


def _suffix(name: str) -> str:
    return Path(name).suffix.lower() or "(none)"


def _error(key: str, index: int, exc: Exception) -> dict:
    reason = getattr(exc, "message", None) or str(exc)
    return {"file": key, "transcript_index": index, "reason": reason.removeprefix(f"{key}: ")}


def _collect_presence(table: pa.Table, presence: dict[tuple[int, str], dict], top_k: int,
                      threshold: float) -> None:
    data = table.to_pydict()
    for r in range(table.num_rows):
        entry = presence.setdefault((data["transcript_index"][r], data["transcript"][r]), {
            "transcript": data["transcript"][r], "participant_id": data["participant_id"][r],
            "transcript_role": data["transcript_role"][r], "site": data["site"][r],
            "trial_arm": data["trial_arm"][r], "shown": []})
        entry["shown"] += [(data[f"code_{i}"][r], data[f"score_{i}"][r]) for i in range(1, top_k + 1)
                           if data[f"score_{i}"][r] is not None and data[f"score_{i}"][r] >= threshold]
        entry["threshold"] = threshold


def _presence_table(presence: dict[tuple[int, str], dict], codes: list[str]) -> pa.Table:
    """Transcripts x codes, in input order: 1 where the code is present (app/engine/presence.py: two sentences
    show it, or one strongly)."""
    rows = list(presence.values())  # filled part by part, row by row: in input order
    for r in rows:
        r["codes"] = present_codes(r["shown"], r["threshold"])
    columns = {name: pa.array([r[name] for r in rows], pa.string())
               for name in ("transcript", "participant_id", "transcript_role", "site", "trial_arm")}
    for code in codes:
        columns[code] = pa.array([int(code in r["codes"]) for r in rows], pa.int8())
    return pa.table(columns)


class _Writer:
    """Streams tables into one Parquet, CSV or JSONL file."""

    def __init__(self, fmt: str, path: Path, table_schema: pa.Schema):
        self.fmt, self.path = fmt, path
        if fmt == "parquet":
            self._w = pq.ParquetWriter(path, table_schema)
        elif fmt == "csv":
            self._w = pacsv.CSVWriter(path, table_schema)
        else:
            self._w = path.open("w", encoding="utf-8")

    def write(self, table: pa.Table) -> None:
        if self.fmt == "jsonl":
            for row in table.to_pylist():
                self._w.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            self._w.write_table(table)

    def close(self) -> None:
        self._w.close()

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)

