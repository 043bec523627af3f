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
    ends at the first text that follows it in the pattern; text the pattern ends with is matched at the end of
    the name. Matched, ignoring case, against the file's name (with its last folders when the pattern has a '/');
    a pattern that does not end in an extension is matched to the name without its extension first, then to
    the whole name ("{participant}_{role}.{*}").

    Matching is literal splitting, not a regular expression: each field is found with one search for the text
    after it, so a name is read in time proportional to its length times the fields (at most MAX_FIELDS), with
    no backtracking (a pattern of 24 wildcards once held a regular expression engine for minutes)."""

    _FIELD = re.compile(r"\{([^{}]*)\}")
    MAX_FIELDS = 8
    MAX_LENGTH = 200

    def __init__(self, pattern: str, patterns: dict[str, str] | None = None):
        if len(pattern) > self.MAX_LENGTH:
            raise ValueError(f"name pattern is {len(pattern)} characters; at most {self.MAX_LENGTH}")
        self.pattern, self.role_patterns = pattern, patterns
        # tokens alternate: literal text, field, literal text, ... (a field is None for {*})
        self.literals: list[str] = []
        self.fields_in_order: list[str | None] = []
        names, last = [], 0
        for match in self._FIELD.finditer(pattern):
            text = pattern[last:match.start()]
            if self.fields_in_order and not text:
                raise ValueError(f"name pattern {pattern!r}: two fields with no text between them cannot be told "
                                 "apart; put a separator such as '_' between them")
            self.literals.append(text.casefold())
            name = match.group(1).strip()
            if name == "*":
                self.fields_in_order.append(None)
            elif name in PATTERN_FIELDS:
                if name in names:
                    raise ValueError(f"name pattern {pattern!r}: {{{name}}} appears twice")
                names.append(name)
                self.fields_in_order.append(name)
            else:
                raise ValueError(f"name pattern {pattern!r}: unknown field {{{name}}}; use "
                                 f"{', '.join('{' + f + '}' for f in PATTERN_FIELDS)} or {{*}}")
            last = match.end()
        if len(self.fields_in_order) > self.MAX_FIELDS:
            raise ValueError(f"name pattern {pattern!r} has {len(self.fields_in_order)} fields; at most "
                             f"{self.MAX_FIELDS}")
        self.literals.append(pattern[last:].casefold())
        if not names:
            raise ValueError(f"name pattern {pattern!r} has no field such as {{participant}} or {{role}}")
        self.with_folders = "/" in pattern
        self.with_suffix = bool(re.search(r"\.\w+$", pattern.rsplit("}", 1)[-1]))

    def _read(self, name: str) -> dict[str, str] | None:
        """The fields of `name` (the whole of it), or None when it does not fit."""
        folded = name.casefold()
        if len(folded) != len(name):  # casefolding changed lengths (e.g. 'ß'): positions would not line up
            folded = name.lower()
        head, tail = self.literals[0], self.literals[-1]
        if not folded.startswith(head) or not folded.endswith(tail) or len(folded) < len(head) + len(tail):
            return None
        end = len(folded) - len(tail)
        pos, found = len(head), {}
        for i, field_name in enumerate(self.fields_in_order):
            last = i == len(self.fields_in_order) - 1
            if last:
                stop = end
            else:
                after = self.literals[i + 1]
                stop = folded.find(after, pos if field_name is None else pos + 1, end)
                if stop < 0:
                    return None
            value = name[pos:stop]
            if "/" in value or (field_name is not None and not value):
                return None
            if field_name is not None:
                found[field_name] = value
            pos = stop + (0 if last else len(self.literals[i + 1]))
        return found

    def _match(self, name: str) -> dict[str, str] | None:
        found = self._read(name)
        if found is None and self.with_folders:  # a pattern 'site/x.docx' fits 'in/site/x.docx'
            parts = name.split("/")
            for i in range(1, len(parts)):
                if (found := self._read("/".join(parts[i:]))) is not None:
                    break
        return found

    def fields(self, source: str) -> dict:
        """The metadata in a file's name (source: as a reader names it: folder/a.docx, b.zip/c.vtt, t.csv#A1);
        ValueError saying why when the name does not fit the pattern or holds no known role."""
        path = PurePosixPath(source.split("#", 1)[0])
        name = path.as_posix() if self.with_folders else path.name
        match = None
        if not self.with_suffix and path.suffix:  # "{participant}_{role}" is matched to a.docx's stem first
            match = self._match(name[:-len(path.suffix)])
        if match is None:
            match = self._match(name)
        if match is None:
            raise ValueError(f"the name does not match --name-pattern {self.pattern!r}")
        found, _ = fields_of({k: v for k, v in match.items() if v}, self.role_patterns)
        return found


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
            except (ValueError, RecursionError):  # not JSON, or a number with too many digits
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
