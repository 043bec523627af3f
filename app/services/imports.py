"""Import uploaded files as transcripts: read every file first, then code and store them all in one
transaction, so a batch with one unreadable file stores nothing and the error names the file and line.
Each file's participant, role, site and arm come from a manifest row or its name (app/ingest/metadata.py)."""

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.config import Settings
from app.db.tables import SuggestionRun, Transcript, User
from app.engine.segment import check_role
from app.errors import InvalidInput, PayloadTooLarge
from app.ingest.metadata import NamePattern, PerFile, as_input, read_manifest
from app.ingest.readers import ParsedTranscript, ReadError, ReadLimits, TooLarge, read_file
from app.services.accounts import require
from app.services.coding import Coder, SuggestOptions


@dataclass
class Imported:
    stored: list[tuple[Transcript, SuggestionRun]]
    skipped: list[str]  # zip members that are hidden or of an unsupported type


def limits(settings: Settings) -> ReadLimits:
    """The reading limits the settings ask for."""
    return ReadLimits(member_bytes=settings.max_member_bytes, archive_bytes=settings.max_archive_bytes,
                      compression_ratio=settings.max_compression_ratio, members=settings.max_archive_members,
                      turns=settings.max_segments)


def read_all(files: list[tuple[str, bytes]],
             bounds: ReadLimits | None = None) -> tuple[list[ParsedTranscript], list[str]]:
    """Every transcript in every file, or InvalidInput listing every unreadable file (PayloadTooLarge at
    once for a file over a size limit: nothing more is read)."""
    parsed, skipped, problems = [], [], []
    for name, data in files:
        try:
            found, left = read_file(name, data, bounds or ReadLimits())
        except TooLarge as exc:
            raise PayloadTooLarge(f"{exc}; nothing was stored") from None
        except ReadError as exc:
            problems.append(str(exc))
            continue
        parsed += found
        skipped += left
    if problems:
        raise InvalidInput(f"{len(problems)} file(s) could not be read; nothing was stored", problems)
    if not parsed:
        raise InvalidInput("no files sent")
    return parsed, skipped


def speaker_map(given: str | None) -> dict[str, str]:
    """A speaker map sent as JSON text (a form field): label -> role, or InvalidInput saying what is wrong."""
    if not given:
        return {}
    try:
        roles = json.loads(given)
    except (ValueError, RecursionError):  # not JSON, or a number with too many digits
        raise InvalidInput('speaker_roles is a JSON object of speaker label -> role: {"R": "interviewer"}') from None
    if not isinstance(roles, dict) or not all(isinstance(v, str) and k.strip() for k, v in roles.items()):
        raise InvalidInput('speaker_roles is a JSON object of speaker label -> role: {"R": "interviewer"}')
    for role in roles.values():
        check_role(role)
    return {k.strip(): v for k, v in roles.items()}


def per_file(settings: Settings, name_pattern: str | None = None,
             manifest: tuple[str, bytes] | None = None) -> PerFile:
    """Per-file metadata from a file-name pattern and/or a manifest (name, bytes); InvalidInput if either is bad."""
    try:
        pattern = NamePattern(name_pattern, settings.role_patterns) if name_pattern else None
        rows = read_manifest(*manifest, settings.role_patterns) if manifest is not None else {}
    except (ValueError, ReadError) as exc:
        raise InvalidInput(str(exc)) from None
    return PerFile(pattern, rows)


def import_files(session: Session, user: User | None, coder: Coder, files: list[tuple[str, bytes]],
                 options: SuggestOptions, metadata: dict | None = None,
                 code_interviewer: bool = False, commit: bool = True, deidentify: bool | None = None,
                 per_file: PerFile | None = None, speaker_roles: dict | None = None) -> Imported:
    """Read, code and store every transcript in `files`. Metadata: each file's own, over its manifest row or
    name (`per_file`), over `metadata` (the whole batch's)."""
    if user is not None:
        require(user, "coder")
    parsed, skipped = read_all(files, limits(coder.settings))
    per_file = per_file or PerFile()
    unused = per_file.unused([p.source for p in parsed])
    problems = [f"manifest: no file {name} was sent" for name in unused]
    inputs = []
    for p in parsed:
        try:
            fields, extra = per_file.lookup(p.source)
        except ValueError as exc:
            problems.append(f"{p.source}: {exc}")
            continue
        inputs.append(as_input(p, {**(metadata or {}), **fields}, extra, speaker_roles,
                               code_interviewer=code_interviewer,
                               options=options, deidentify=deidentify))
    if problems:
        raise InvalidInput(f"{len(problems)} file(s) have no usable metadata; nothing was stored", problems)
    return Imported(coder.code_transcripts(session, inputs, [p.source for p in parsed], who=user, commit=commit),
                    skipped)
