"""Per-file metadata (participant, role, site, arm) for multi-file import and pre-coding: from a manifest (a
CSV or JSONL with one file a row) or from a file-name pattern such as "{participant}_{role}.docx".

Which value wins, from strongest: what the file itself says (a JSON transcript's fields, a turn table's
columns), then the file's manifest row or name, then the values given for the whole batch.

Role values are read as the speaker labels are: a role name (peer_worker, supported_peer, interviewer,
other, with '-' or ' ' for '_') or anything the role patterns match (PW3 -> peer_worker, SP -> supported_peer).
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from app.config import DEFAULT_ROLE_PATTERNS, ROLES
from app.engine.transcripts import TranscriptInput
from app.ingest.readers import ParsedTranscript, ReadError, decode

FIELDS = ("participant_id", "role", "site", "trial_arm", "title")
# A manifest column or pattern field -> the transcript field it fills.
ALIASES = {"participant": "participant_id", "participant_id": "participant_id", "role": "role", "site": "site",
           "arm": "trial_arm", "trial_arm": "trial_arm", "title": "title"}
PATTERN_FIELDS = ("participant", "role", "site", "arm")
FILE_COLUMNS = ("file", "path")  # the column naming the transcript file: 'file', or the older 'path'
INLINE = ("text", "turns")  # a JSONL manifest row may carry its transcript instead of naming a file


def participant_role(value: str, patterns: dict[str, str] | None = None) -> str:
    """A role from a role name or a label the role patterns know (PW, SP3, Interviewer); ValueError if neither."""
    word = value.strip()
    name = re.sub(r"[\s-]+", "_", word.lower())
    if name in ROLES:
        return name
    for pattern, role in (patterns or DEFAULT_ROLE_PATTERNS).items():
        if re.search(pattern, word, re.IGNORECASE):
            return role
    raise ValueError(f"role {value!r} is neither a role ({', '.join(ROLES)}) nor a label the role patterns "
                     "read (such as PW or SP)")


def fields_of(row: dict, patterns: dict[str, str] | None = None) -> tuple[dict, dict]:
    """A manifest row's transcript fields (aliases resolved, the role read) and the rest of its columns (extra);
    ValueError naming the column for a bad value."""
    fields, extra = {}, {}
    for key, value in row.items():
        column = str(key).strip().lower()
        if value in (None, "") or column in (*FILE_COLUMNS, *INLINE):
            continue
        target = ALIASES.get(column)
        if target is None:
            extra[column] = value
        elif target in fields and fields[target] != value:
            raise ValueError(f"'{column}' and another column both set {target}")
        else:
            fields[target] = value if target != "role" else participant_role(str(value), patterns)
    return {k: str(v) for k, v in fields.items()}, extra


class NamePattern:
    """Metadata from file names: "{participant}_{role}.docx" reads SP3_SP.docx as participant SP3, role
    supported_peer. Fields: {participant}, {role}, {site}, {arm}; {*} matches anything and keeps nothing. A field
    ends at the first text that follows it in the pattern. Matched, ignoring case, against the file's name
    (with its last folders when the pattern has a '/'); a pattern that does not end in an extension is matched
    to the name without its extension first, then to the whole name ("{participant}_{role}.{*}")."""

    _FIELD = re.compile(r"\{([^{}]*)\}")

    def __init__(self, pattern: str, patterns: dict[str, str] | None = None):
        self.pattern, self.role_patterns = pattern, patterns
        parts, names, last = [], [], 0
        for match in self._FIELD.finditer(pattern):
            parts.append(re.escape(pattern[last:match.start()]))
            name = match.group(1).strip()
            if name == "*":
                parts.append(r"[^/]*?")
            elif name in PATTERN_FIELDS:
                if name in names:
                    raise ValueError(f"name pattern {pattern!r}: {{{name}}} appears twice")
                names.append(name)
                parts.append(rf"(?P<{name}>[^/]+?)")
            else:
                raise ValueError(f"name pattern {pattern!r}: unknown field {{{name}}}; use "
                                 f"{', '.join('{' + f + '}' for f in PATTERN_FIELDS)} or {{*}}")
            last = match.end()
        parts.append(re.escape(pattern[last:]))
        if not names:
            raise ValueError(f"name pattern {pattern!r} has no field such as {{participant}} or {{role}}")
        self.regex = re.compile("".join(parts), re.IGNORECASE)
        self.with_folders = "/" in pattern
        self.with_suffix = bool(re.search(r"\.\w+$", pattern.rsplit("}", 1)[-1]))

    def _match(self, name: str) -> re.Match | None:
        return self.regex.fullmatch(name) or (_suffix_match(self.regex, name) if self.with_folders else None)

    def fields(self, source: str) -> dict:
        """The metadata in a file's name (source: as a reader names it: folder/a.docx, b.zip/c.vtt, t.csv#A1);
        ValueError saying why when the name does not fit the pattern or holds no known role."""
        path = PurePosixPath(source.split("#", 1)[0])
        name = path.as_posix() if self.with_folders else path.name
        match = None
        if not self.with_suffix and path.suffix:  # "{participant}_{role}" is matched to a.docx's stem first
            match = self._match(name[:-len(path.suffix)])
        match = match or self._match(name)
        if not match:
            raise ValueError(f"the name does not match --name-pattern {self.pattern!r}")
        found, _ = fields_of({k: v for k, v in match.groupdict().items() if v}, self.role_patterns)
        return found


def _suffix_match(regex: re.Pattern, name: str) -> re.Match | None:
    """With folders in the pattern: match the name's last folders (a pattern 'site/x.docx' fits 'in/site/x.docx')."""
    parts = name.split("/")
    for i in range(1, len(parts)):
        match = regex.fullmatch("/".join(parts[i:]))
        if match:
            return match
    return None


@dataclass
class PerFile:
    """Metadata for each file of a batch: the manifest's row for it, else what its name says (either or both
    may be absent). Manifest rows are found by the name the file came in under, or by its base name."""

    pattern: NamePattern | None = None
    manifest: dict[str, tuple[dict, dict]] = field(default_factory=dict)  # file -> (fields, extra)

    def lookup(self, source: str) -> tuple[dict, dict]:
        """(fields, extra) for a transcript read from `source`; ValueError when the file's name does not fit."""
        fields, extra = {}, {}
        if self.pattern is not None:
            fields = self.pattern.fields(source)
        name = source.split("#", 1)[0]
        for key in (name, name.split("/", 1)[-1], PurePosixPath(name).name):
            if key in self.manifest:
                row_fields, extra = self.manifest[key]
                fields = {**fields, **row_fields}
                break
        return fields, extra

    def unused(self, sources: list[str]) -> list[str]:
        """Manifest rows that named no file of the batch (a typo in the manifest should not pass silently)."""
        names = {k for s in sources for n in [s.split("#", 1)[0]]
                 for k in (n, n.split("/", 1)[-1], PurePosixPath(n).name)}
        return [f for f in self.manifest if f not in names]


def manifest_rows(name: str, text: str) -> Iterator[tuple[int, dict]]:
    """(line, row) of a CSV manifest (a header row) or a JSONL one (an object a line)."""
    if PurePosixPath(name).suffix.lower() == ".jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                raise ReadError(f"{name}, line {n}: not a JSON object") from None
            if not isinstance(row, dict):
                raise ReadError(f"{name}, line {n}: not a JSON object")
            yield n, row
        return
    reader = csv.DictReader(io.StringIO(text))
    try:
        for row in reader:
            yield reader.line_num, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()
                                    if isinstance(v, str | None)}
    except csv.Error as exc:
        raise ReadError(f"{name}, line {reader.line_num}: cannot read this CSV ({exc})") from None


def read_manifest(name: str, data: bytes, patterns: dict[str, str] | None = None) -> dict[str, tuple[dict, dict]]:
    """A file manifest for import: file -> (fields, extra); ReadError naming the line of a bad row."""
    rows: dict[str, tuple[dict, dict]] = {}
    for line, row in manifest_rows(name, decode(name, data)):
        file = next((str(row[c]).strip() for c in FILE_COLUMNS if row.get(c)), "")
        if not file:
            raise ReadError(f"{name}, line {line}: each row names its transcript in a 'file' column")
        if file in rows:
            raise ReadError(f"{name}, line {line}: {file} has a row already")
        try:
            rows[file] = fields_of(row, patterns)
        except ValueError as exc:
            raise ReadError(f"{name}, line {line}: {exc}") from None
    if not rows:
        raise ReadError(f"{name}: the manifest has no rows")
    return rows


def as_input(parsed: ParsedTranscript, given: dict | None = None, extra: dict | None = None,
             speaker_roles: dict | None = None, **options) -> TranscriptInput:
    """The transcript to code: the file's own metadata over `given` (the file's manifest row or name, over the
    batch's), its source file and format kept in extra, its own speaker map over the batch's `speaker_roles`.
    `options`: code_interviewer, deidentify, options (TranscriptInput's)."""
    fields = {**(given or {}), **parsed.metadata}
    fields["title"] = fields.get("title") or parsed.title
    extra = {**(extra or {}), **parsed.extra, "source_file": parsed.source, "source_format": parsed.source_format}
    roles = {**(speaker_roles or {}), **parsed.speaker_roles}
    return TranscriptInput(text=parsed.text, turns=parsed.turns, extra=extra, speaker_roles=roles,
                           **{k: fields.get(k) for k in FIELDS}, **options)
