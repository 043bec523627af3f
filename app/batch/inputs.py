"""Where a batch's transcripts come from: a folder of transcript files, or a CSV/JSONL manifest.

Only descriptions (path, line offset, metadata) are kept in memory; each transcript's text is read when its
chunk is processed, so a corpus of any size streams through.

Formats read: `.txt` (labelled plain text, as POST /transcripts/plain) and `.json` (a list of turns, or an
object with `turns` or `text` and metadata, as POST /transcripts). A manifest row names a transcript by `path`
(relative to the manifest) or carries it inline as `text` or `turns`; the columns participant_id, role, site,
trial_arm and title are metadata, any other column goes to `extra`.
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.transcripts import TranscriptInput

TRANSCRIPT_SUFFIXES = (".txt", ".json")
MANIFEST_SUFFIXES = (".csv", ".jsonl")
META = ("participant_id", "role", "site", "trial_arm", "title")


class InputError(ValueError):
    """A batch input that cannot be read, naming the file (and line) to fix."""


@dataclass(frozen=True)
class Source:
    index: int  # position in the job: output rows follow it
    key: str  # the file's path relative to the input, or "manifest:LINE"
    path: Path | None  # a transcript file to read
    offset: int | None = None  # for inline JSONL manifest rows: where the line starts
    meta: dict = field(default_factory=dict)


def discover(input_path: Path, *, allow_paths: bool = True) -> list[Source]:
    """Every transcript of a folder (sorted by path) or a manifest (in row order). allow_paths=False (a
    manifest posted to the service) refuses every 'path' row alike, before looking at the file system, so
    the answer never tells whether a server file exists."""
    if input_path.is_dir():
        files = sorted(p for p in input_path.rglob("*") if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES)
        if not files:
            raise InputError(f"{input_path}: no transcript files ({', '.join(TRANSCRIPT_SUFFIXES)}) in this folder")
        return [Source(i, p.relative_to(input_path).as_posix(), p) for i, p in enumerate(files)]
    if not input_path.is_file():
        raise InputError(f"{input_path}: no such file or folder")
    suffix = input_path.suffix.lower()
    if suffix == ".csv":
        return _csv_manifest(input_path, allow_paths)
    if suffix == ".jsonl":
        return _jsonl_manifest(input_path, allow_paths)
    if suffix in TRANSCRIPT_SUFFIXES:
        return [Source(0, input_path.name, input_path)]
    raise InputError(f"{input_path}: not a folder, a manifest ({', '.join(MANIFEST_SUFFIXES)}) or a transcript")


PATHS_REFUSED = "a manifest sent to the service carries each transcript inline ('text' or 'turns'), not 'path'"


def _row_source(manifest: Path, index: int, line: int, row: dict, offset: int | None,
                allow_paths: bool = True) -> Source:
    if row.get("path") and not allow_paths:
        raise InputError(f"{manifest}:{line}: {PATHS_REFUSED}")
    meta = {k: row[k] for k in META if row.get(k) not in (None, "")}
    meta["extra"] = {k: v for k, v in row.items() if k not in (*META, "path", "text", "turns") and v not in (None, "")}
    if row.get("path"):
        path = (manifest.parent / str(row["path"])).resolve()
        if not path.is_file():
            raise InputError(f"{manifest}:{line}: {row['path']} does not exist")
        return Source(index, str(row["path"]), path, None, meta)
    if offset is None or not (row.get("text") or row.get("turns")):
        raise InputError(f"{manifest}:{line}: a row needs 'path'" + (" or 'text'/'turns'" if offset is not None
                                                                      else ""))
    return Source(index, f"{manifest.name}:{line}", manifest, offset, meta)


def _csv_manifest(manifest: Path, allow_paths: bool = True) -> list[Source]:
    with manifest.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise InputError(f"{manifest}: a CSV manifest needs a 'path' column (transcript files, relative to it)")
        return [_row_source(manifest, i, i + 2, row, None, allow_paths) for i, row in enumerate(reader)]


def _jsonl_manifest(manifest: Path, allow_paths: bool = True) -> list[Source]:
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
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"{manifest}:{line}: not a JSON object ({exc})") from None
            except RecursionError:
                raise InputError(f"{manifest}:{line}: JSON nested too deeply") from None
            if not isinstance(row, dict):
                raise InputError(f"{manifest}:{line}: not a JSON object")
            sources.append(_row_source(manifest, len(sources), line, row, start, allow_paths))
    if not sources:
        raise InputError(f"{manifest}: the manifest has no rows")
    return sources


def load(source: Source, *, code_interviewer: bool = False) -> TranscriptInput:
    """Read one transcript into the service's input shape; InputError names the file and what is wrong."""
    meta = dict(source.meta)
    extra = meta.pop("extra", {})
    if source.offset is not None:  # an inline manifest row
        with source.path.open("rb") as handle:
            handle.seek(source.offset)
            body = json.loads(handle.readline())
        return _from_object(body, source, meta, extra, code_interviewer)
    try:
        text = source.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source.key}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if source.path.suffix.lower() == ".json":
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source.key}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        return _from_object(body, source, meta, extra, code_interviewer)
    return TranscriptInput(text=text, title=meta.get("title") or source.key, extra=extra,
                           code_interviewer=code_interviewer, **{k: meta.get(k) for k in META if k != "title"})


def _from_object(body: object, source: Source, meta: dict, extra: dict, code_interviewer: bool) -> TranscriptInput:
    if isinstance(body, list):
        body = {"turns": body}
    if not isinstance(body, dict):
        raise InputError(f"{source.key}: expected a list of turns or an object with 'turns' or 'text'")
    turns = body.get("turns")
    if turns is not None and (not isinstance(turns, list) or
                              not all(isinstance(t, dict) and isinstance(t.get("text"), str) for t in turns)):
        raise InputError(f"{source.key}: 'turns' must be a list of objects with 'speaker' and 'text'")
    fields = {k: body.get(k) or meta.get(k) for k in META}
    fields["title"] = fields["title"] or source.key
    return TranscriptInput(text=body.get("text") if turns is None else None, turns=turns,
                           extra={**extra, **(body.get("extra") or {})}, code_interviewer=code_interviewer,
                           **fields)


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
