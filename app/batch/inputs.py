"""Where a batch's transcripts come from: a folder of transcript files, one file, or a CSV/JSONL manifest.

Only descriptions (path, line offset, metadata) are kept in memory; each transcript's text is read when its
chunk is processed, so a corpus of any size streams through.

Files are read by the same readers as `autocoder import` and POST /transcripts/import (app/ingest/readers.py):
.txt, .json, .docx, .vtt, .srt, .csv/.jsonl turn tables (one turn a row) and .zip archives of them. In a
folder, every file that is not hidden becomes an input: one of a type no reader takes is an input that fails
with the reason, so it is listed in errors.json and never silently left out. A manifest row names a
transcript file by `file` (or `path`, relative to the manifest) or carries it inline as `text` or `turns`;
the columns participant (participant_id), role, site, arm (trial_arm) and title are metadata
(app/ingest/metadata.py reads them, roles as labels: PW, SP...), any other column goes to `extra`.
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.config import DEFAULT_ROLE_PATTERNS
from app.engine.transcripts import TranscriptInput
from app.ingest.metadata import FILE_COLUMNS, NamePattern, as_input, fields_of
from app.ingest.readers import SUPPORTED, ReadError, ReadLimits, is_hidden, read_file, transcript_from_object

MANIFEST_SUFFIXES = (".csv", ".jsonl")


class InputError(ValueError):
    """A batch input that cannot be read, naming the file (and line) to fix."""


@dataclass(frozen=True)
class Source:
    index: int  # position in the job: output rows follow it
    key: str  # the file's path relative to the input, or "manifest:LINE"
    path: Path | None  # a transcript file to read
    offset: int | None = None  # for inline JSONL manifest rows: where the line starts
    meta: dict = field(default_factory=dict)
    problem: str | None = None  # why this file cannot be an input (its type): reported, not read


@dataclass
class Loaded:
    """What one input gave: its transcripts (key, input), and the archive members it skipped."""

    transcripts: list[tuple[str, TranscriptInput]]
    skipped: list[str] = field(default_factory=list)


UNSUPPORTED = "unsupported file type {suffix}; transcripts are " + ", ".join(SUPPORTED)


def discover(input_path: Path, *, allow_paths: bool = True, role_patterns: dict[str, str] | None = None
             ) -> list[Source]:
    """Every file of a folder (sorted by path), one transcript file, or a manifest's rows (in order).
    allow_paths=False (a manifest posted to the service) refuses every 'path' row alike, before looking at
    the file system, so the answer never tells whether a server file exists."""
    patterns = role_patterns or DEFAULT_ROLE_PATTERNS
    if input_path.is_dir():
        files = sorted(p for p in input_path.rglob("*")
                       if p.is_file() and not is_hidden(p.relative_to(input_path).as_posix()))
        readable = [p for p in files if p.suffix.lower() in SUPPORTED]
        if not readable:
            found = f": only {', '.join(p.name for p in files[:10])}" if files else ""
            raise InputError(f"{input_path}: no transcript files ({', '.join(SUPPORTED)}) in this folder{found}")
        return [Source(i, p.relative_to(input_path).as_posix(), p,
                       problem=None if p in readable else UNSUPPORTED.format(suffix=p.suffix or "(none)"))
                for i, p in enumerate(files)]
    if not input_path.is_file():
        raise InputError(f"{input_path}: no such file or folder")
    suffix = input_path.suffix.lower()
    if suffix in MANIFEST_SUFFIXES and (not allow_paths or _is_manifest(input_path)):
        if suffix == ".csv":
            return _csv_manifest(input_path, allow_paths, patterns)
        return _jsonl_manifest(input_path, allow_paths, patterns)
    if suffix in SUPPORTED:
        return [Source(0, input_path.name, input_path)]
    raise InputError(f"{input_path}: not a folder, a manifest ({', '.join(MANIFEST_SUFFIXES)}) or a transcript "
                     f"({', '.join(SUPPORTED)})")


def _is_manifest(path: Path) -> bool:
    """A .csv or .jsonl is a manifest (one transcript a row), or a turn table (one turn a row: a speaker
    column) that is itself a transcript, as `import` reads it."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        if path.suffix.lower() == ".csv":
            header = {c.strip().lower() for c in next(csv.reader(handle), [])}
            return not ({"speaker", "text"} <= header and not header & set(FILE_COLUMNS))
        for line in handle:
            if line.strip():
                try:
                    row = json.loads(line)
                except (ValueError, RecursionError):
                    return True  # the manifest reader names the line
                return not (isinstance(row, dict) and "speaker" in row)
    return True


PATHS_REFUSED = "a manifest sent to the service carries each transcript inline ('text' or 'turns'), not 'path'"


def _row_source(manifest: Path, index: int, line: int, row: dict, offset: int | None,
                allow_paths: bool, patterns: dict[str, str]) -> Source:
    file = next((str(row[c]) for c in FILE_COLUMNS if row.get(c) not in (None, "")), "")
    if file and not allow_paths:
        raise InputError(f"{manifest}:{line}: {PATHS_REFUSED}")
    try:
        meta, extra = fields_of({k: v for k, v in row.items() if k not in ("extra", "speaker_roles")}, patterns)
    except ValueError as exc:
        raise InputError(f"{manifest}:{line}: {exc}") from None
    meta["extra"] = extra
    if file:
        path = (manifest.parent / file).resolve()
        if not path.is_file():
            raise InputError(f"{manifest}:{line}: {file} does not exist")
        if path.suffix.lower() not in SUPPORTED:
            raise InputError(f"{manifest}:{line}: {file}: {UNSUPPORTED.format(suffix=path.suffix or '(none)')}")
        return Source(index, file, path, None, meta)
    if offset is None or not (row.get("text") or row.get("turns")):
        raise InputError(f"{manifest}:{line}: a row needs 'file'" + (" or 'text'/'turns'" if offset is not None
                                                                      else ""))
    return Source(index, f"{manifest.name}:{line}", manifest, offset, meta)


def _csv_manifest(manifest: Path, allow_paths: bool, patterns: dict[str, str]) -> list[Source]:
    with manifest.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames = [c.strip().lower() for c in reader.fieldnames or []]
        if not set(FILE_COLUMNS) & set(reader.fieldnames):
            raise InputError(f"{manifest}: a CSV manifest needs a 'file' column (transcript files, relative to it)")
        rows = [_row_source(manifest, i, reader.line_num, row, None, allow_paths, patterns)
                for i, row in enumerate(reader)]
    if not rows:
        raise InputError(f"{manifest}: the manifest has no rows")
    return rows


def _jsonl_manifest(manifest: Path, allow_paths: bool, patterns: dict[str, str]) -> list[Source]:
    sources: list[Source] = []
    with manifest.open("rb") as handle:
        line, offset = 0, 0
        for raw in handle:
            line += 1
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"{manifest}:{line}: not a JSON object ({exc.msg})") from None
            except (ValueError, UnicodeDecodeError):  # a number with too many digits; bytes that are not UTF-8
                raise InputError(f"{manifest}:{line}: not a JSON object (bad text, or a number with too many "
                                 "digits)") from None
            except RecursionError:
                raise InputError(f"{manifest}:{line}: JSON nested too deeply") from None
            if not isinstance(row, dict):
                raise InputError(f"{manifest}:{line}: not a JSON object")
            sources.append(_row_source(manifest, len(sources), line, row, start, allow_paths, patterns))
    if not sources:
        raise InputError(f"{manifest}: the manifest has no rows")
    return sources


def load(source: Source, *, code_interviewer: bool = False, pattern: NamePattern | None = None,
         limits: ReadLimits | None = None) -> Loaded:
    """Read one input's transcripts into the service's input shape, with the readers `import` uses; InputError
    names the file and what is wrong. Metadata: the file's own, over its manifest row, over its name."""
    if source.problem:
        raise InputError(f"{source.key}: {source.problem}")
    meta = dict(source.meta)
    extra = meta.pop("extra", {})
    try:
        if source.offset is not None:  # an inline manifest row
            with source.path.open("rb") as handle:
                handle.seek(source.offset)
                body = json.loads(handle.readline())
            found, skipped = [transcript_from_object(source.key, body, "manifest")], []
            found[0].metadata = {}  # the row's own fields, read (roles as labels) in `meta`
        else:
            found, skipped = read_file(source.key, source.path.read_bytes(), limits)
        transcripts = []
        for parsed in found:
            named = pattern.fields(parsed.source) if pattern is not None and source.offset is None else {}
            data = as_input(parsed, {**named, **meta}, extra, code_interviewer=code_interviewer)
            transcripts.append((parsed.source, data))
    except (ReadError, ValueError) as exc:
        message = str(exc)
        raise InputError(message if message.startswith(source.key) else f"{source.key}: {message}") from None
    return Loaded(transcripts, [name for name in skipped if not is_hidden(name)])


def fingerprint(sources: list[Source]) -> str:
    """Changes when any input file changes (size or modification time) or the list of inputs does."""
    digest = hashlib.sha256()
    seen: set[Path] = set()
    for s in sources:
        digest.update(f"{s.index}\0{s.key}\0{s.offset}\0{json.dumps(s.meta, sort_keys=True)}\n".encode())
        if s.path is not None and s.path not in seen:
            seen.add(s.path)
            stat = s.path.stat()
            digest.update(f"{s.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def chunks(sources: list[Source], size: int) -> Iterator[tuple[int, list[Source]]]:
    for start in range(0, len(sources), size):
        yield start // size, sources[start:start + size]
