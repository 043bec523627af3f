"""Turn uploaded files into transcripts (labelled text or timed turns), or say exactly what is wrong.

Formats: .txt (labelled plain text, any common encoding), .json (as POST /transcripts takes: a list of turns,
or an object with 'turns' or 'text' and metadata), .docx (a paragraph per turn; the speaker label in
bold or as a 'Name:' prefix), .vtt / .srt captions (speakers from <v Name> voice tags or 'Name:' prefixes;
consecutive cues of one speaker become one turn, keeping the first cue's start and the last cue's end,
and each sentence its own cues' times),
.csv / .jsonl with one turn a row (speaker, text; optional transcript, role of the speaker, start, end, and
title, participant_id, site, trial_arm),
and a .zip of any of these. Every problem names the file and the line (or paragraph, or row).

Archives (.zip, and .docx, which is a zip) are never expanded whole: members are streamed a chunk at a time
while the bytes that come out are counted against ReadLimits (per member, per archive, the compression
ratio and the number of members), so a small upload that would expand to gigabytes is refused (TooLarge)
after at most a limit's worth of work. Limits on turns are checked row by row, while reading.
"""

import csv
import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from charset_normalizer import from_bytes

TEXT, JSON, DOCX, CAPTIONS, TABLE = ".txt", ".json", ".docx", (".vtt", ".srt"), (".csv", ".jsonl")
SUPPORTED = (TEXT, JSON, DOCX, *CAPTIONS, *TABLE, ".zip")
METADATA = ("title", "participant_id", "site", "trial_arm")  # per transcript: taken from its first row
OBJECT_METADATA = (*METADATA, "role")  # a JSON transcript object's own: 'role' is the participant's
CHUNK = 1 << 20
_UTF8_EVIDENCE = re.compile(rb"[\xc2\xc3][\x80-\xbf]|\xe2[\x80-\x82][\x80-\xbf]|\xf0\x9f[\x80-\xbf]{2}")
# The characters a Windows-1252 transcript in English (with European names) holds beyond ASCII: letters with
# accents, and typographic punctuation. Text of only these is read as Windows-1252 before any guessing, which
# took short English text for Central European (cp1250: "Seńora") or Japanese (cp932).
_WESTERN = frozenset("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ"
                     "‘’“”–—…£€°•·«»¡¿\u00a0")
MAX_SECONDS = 100 * 3600  # a turn's start or end: no interview recording runs 100 hours
RATIO_FLOOR = 1 << 20  # the compression ratio is judged once a member has expanded past this many bytes


class ReadError(ValueError):
    """A file that cannot be read as a transcript; the message names the file and where."""


class TooLarge(ReadError):
    """A file (or archive member) over a size limit: reading stops at once."""


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on what one upload may expand to (app/config.py sets them from the settings)."""

    member_bytes: int = 50_000_000
    archive_bytes: int = 200_000_000
    compression_ratio: int = 200
    members: int = 5000
    turns: int = 20_000  # turns of one transcript (each is at least one sentence)


@dataclass
class ParsedTranscript:
    source: str  # the file name (inside a zip: archive.zip/inner.docx)
    source_format: str
    text: str | None = None
    turns: list[dict] | None = None
    metadata: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # a JSON object's 'extra'
    speaker_roles: dict = field(default_factory=dict)  # a JSON object's speaker label -> role map

    @property
    def title(self) -> str:
        return self.metadata.get("title") or PurePosixPath(self.source).stem


def decode(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM), else the encoding charset-normalizer finds; binary content is refused."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(f"{name}: this looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A file in an older encoding (Windows-1252 from Word's "Save as text") is read as that encoding; one
        # that is UTF-8 in places would be read as one old encoding throughout, turning every "’" into "â€™",
        # so it is refused instead. Which is which: the UTF-8 forms of the characters English text uses (Â£,
        # Ã©: C2/C3 and a continuation byte; â€™: E2 80-82 and one; emoji) next to bytes that break UTF-8.
        # Windows-1252 text makes them only by chance, and not with those lead bytes ("É’" is C9 92).
        if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and _UTF8_EVIDENCE.search(data):
            line = data.count(b"\n", 0, exc.start) + 1
            raise ReadError(f"{name}, line {line}: not valid UTF-8 (byte {exc.start}), though it has UTF-8 "
                            "characters elsewhere (damaged, or two encodings mixed); save it as UTF-8") from None
    western = _western(data)
    if western is not None:
        return western
    best = from_bytes(data).best()
    if best is None:
        raise ReadError(f"{name}: cannot tell the text encoding (save it as UTF-8)")
    return str(best)


def _western(data: bytes) -> str | None:
    """The text as Windows-1252, where it decodes so and holds nothing beyond ASCII but _WESTERN."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return text if all(ch in _WESTERN for ch in text if ord(ch) > 127) else None


def read_file(name: str, data: bytes,
              limits: ReadLimits | None = None) -> tuple[list[ParsedTranscript], list[str]]:
    """The transcripts in one uploaded file, and the names of zip members skipped (hidden or unsupported)."""
    limits = limits or ReadLimits()
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".zip":
        return _read_zip(name, data, limits)
    if suffix not in SUPPORTED:
        raise ReadError(f"{name}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}")
    if suffix == TEXT:
        text = decode(name, data)
        if not text.strip():
            raise ReadError(f"{name}: the file is empty")
        return [ParsedTranscript(name, "txt", text=text)], []
    if suffix == JSON:
        return [_read_json(name, decode(name, data))], []
    if suffix == DOCX:
        return [_read_docx(name, data, limits)], []
    if suffix in CAPTIONS:
        return [_read_captions(name, decode(name, data), suffix, limits)], []
    return _read_table(name, decode(name, data), suffix, limits), []


def _open_archive(name: str, data: bytes, limits: ReadLimits, what: str = "zip archive") -> zipfile.ZipFile:
    """A zip whose declared sizes are within the limits (the real sizes are counted as members are read)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        why = f" ({type(exc).__name__})" if what != "zip archive" else ""
        raise ReadError(f"{name}: not a readable {what}{why}") from None
    if len(members) > limits.members:
        raise TooLarge(f"{name}: {len(members)} files is more than {limits.members} "
                       "(AUTOCODER_MAX_ARCHIVE_MEMBERS); split the archive")
    for m in members:
        if m.flag_bits & 0x1:  # zipfile would raise RuntimeError at the first read: say what it is instead
            raise ReadError(f"{name}: {m.filename} is encrypted (password-protected); save it without a "
                            "password and send it again")
        _check_member(name, m, m.file_size, limits)
    declared = sum(m.file_size for m in members)
    if declared > limits.archive_bytes:
        raise TooLarge(f"{name}: its files expand to {declared} bytes, more than the limit of "
                       f"{limits.archive_bytes} (AUTOCODER_MAX_ARCHIVE_BYTES); split the archive")
    return archive


def _check_member(name: str, member: zipfile.ZipInfo, size: int, limits: ReadLimits) -> None:
    if size > limits.member_bytes:
        raise TooLarge(f"{name}/{member.filename}: expands to more than {limits.member_bytes} bytes "
                       "(AUTOCODER_MAX_MEMBER_BYTES); split it")
    if size > RATIO_FLOOR and size > limits.compression_ratio * max(member.compress_size, 1):
        raise TooLarge(f"{name}/{member.filename}: expands more than {limits.compression_ratio} times its "
                       "compressed size (AUTOCODER_MAX_COMPRESSION_RATIO); this looks like a zip bomb")


def _members(name: str, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo],
             limits: ReadLimits) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    """Each member's bytes, streamed and counted: refused as soon as any limit is passed, whatever the
    archive's headers claim."""
    total = 0
    for member in members:
        parts, size = [], 0
        try:
            with archive.open(member) as handle:
                while piece := handle.read(CHUNK):
                    size += len(piece)
                    total += len(piece)
                    _check_member(name, member, size, limits)
                    if total > limits.archive_bytes:
                        raise TooLarge(f"{name}: its files expand to more than {limits.archive_bytes} bytes "
                                       "(AUTOCODER_MAX_ARCHIVE_BYTES); split the archive")
                    parts.append(piece)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError,
                OSError, zlib.error, RuntimeError) as exc:
            if isinstance(exc, TooLarge):
                raise
            raise ReadError(f"{name}/{member.filename}: cannot be read from the archive ({exc})") from None
        yield member, b"".join(parts)


def _read_zip(name: str, data: bytes, limits: ReadLimits) -> tuple[list[ParsedTranscript], list[str]]:
    archive = _open_archive(name, data, limits)
    found, skipped, wanted = [], [], []
    for member in sorted((m for m in archive.infolist() if not m.is_dir()), key=lambda m: m.filename):
        path = PurePosixPath(member.filename)
        if is_hidden(member.filename) or path.suffix.lower() not in SUPPORTED or path.suffix.lower() == ".zip":
            skipped.append(f"{name}/{member.filename}")
        else:
            wanted.append(member)
    for member, content in _members(name, archive, wanted, limits):
        found += read_file(f"{name}/{member.filename}", content, limits)[0]
    if not found:
        raise ReadError(f"{name}: no transcript in the archive (supported: {', '.join(SUPPORTED[:-1])})")
    return found, skipped


def is_hidden(path: str) -> bool:
    """A hidden file or macOS metadata (.DS_Store, __MACOSX/...): never a transcript, never reported."""
    return any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(path).parts)


# -- JSON ------------------------------------------------------------------------------------------------------

def check_times(where: str, start: float | None, end: float | None) -> None:
    """A turn's times are seconds into the recording: finite, 0 to MAX_SECONDS, and the end not before the start."""
    for stamp, value in (("start", start), ("end", end)):
        # Compared as given: a whole number of 400 digits is fine for Python but no float (isfinite would raise).
        if value is not None and not (0 <= value <= MAX_SECONDS):  # NaN fails every comparison
            shown = value if len(repr(value)) <= 40 else f"{repr(value)[:20]}… ({len(repr(value))} characters)"
            raise ReadError(f"{where} {stamp} {shown} is not a time in a recording (0 to {MAX_SECONDS} seconds)")
    if start is not None and end is not None and end < start:
        raise ReadError(f"{where} the turn ends ({end}) before it starts ({start})")


def _read_json(name: str, text: str) -> ParsedTranscript:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(f"{name}, line {exc.lineno}: not JSON ({exc.msg})") from None
    except RecursionError:
        raise ReadError(f"{name}: JSON nested too deeply") from None
    except ValueError:  # Python's limit on digits in a number (its message names interpreter internals)
        raise ReadError(f"{name}: a number with too many digits") from None
    return transcript_from_object(name, body)


def transcript_from_object(name: str, body: object, source_format: str = "json") -> ParsedTranscript:
    """A transcript from JSON as POST /transcripts takes it: a list of turns, or an object with 'turns' or
    'text' and its metadata (title, participant_id, role, site, trial_arm, extra, speaker_roles)."""
    if isinstance(body, list):
        body = {"turns": body}
    if not isinstance(body, dict):
        raise ReadError(f"{name}: expected a list of turns or an object with 'turns' or 'text'")
    turns, text = body.get("turns"), body.get("text")
    if turns is not None:
        if not isinstance(turns, list) or not all(
                isinstance(t, dict) and isinstance(t.get("text"), str) and isinstance(t.get("speaker"), str)
                and isinstance(t.get("role"), str | None) for t in turns):
            raise ReadError(f"{name}: 'turns' must be a list of objects with 'speaker' and 'text' (strings)")
        for n, turn in enumerate(turns):
            for stamp in ("start", "end"):
                value = turn.get(stamp)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise ReadError(f"{name}: turns[{n}].{stamp} {value!r} is not a number of seconds")
            check_times(f"{name}: turns[{n}]", turn.get("start"), turn.get("end"))
        turns = [{k: t[k] for k in ("speaker", "text", "role", "start", "end") if t.get(k) is not None}
                 for t in turns]
    elif not isinstance(text, str):
        raise ReadError(f"{name}: expected a list of turns or an object with 'turns' or 'text'")
    meta = {k: str(body[k]) for k in OBJECT_METADATA if body.get(k) not in (None, "")}
    extra, roles = body.get("extra") or {}, body.get("speaker_roles") or {}
    if not isinstance(extra, dict) or not isinstance(roles, dict):
        raise ReadError(f"{name}: 'extra' and 'speaker_roles' are objects")
    return ParsedTranscript(name, source_format, text=text if turns is None else None, turns=turns,
                            metadata=meta, extra=extra, speaker_roles={str(k): str(v) for k, v in roles.items()})


# -- Word ------------------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^\s*([A-Za-z][\w.'’ -]{0,40}?)\s*:\s")


def _read_docx(name: str, data: bytes, limits: ReadLimits) -> ParsedTranscript:
    import docx  # python-docx; imported here so the service starts without touching it

    archive = _open_archive(name, data, limits, "Word (.docx) file")  # a .docx is a zip: count it first
    for _ in _members(name, archive, [m for m in archive.infolist() if not m.is_dir()], limits):
        pass
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a damaged or non-Word file
        raise ReadError(f"{name}: not a readable Word (.docx) file ({type(exc).__name__})") from None
    lines = []
    for number, paragraph in enumerate(document.paragraphs, start=1):
        text = paragraph.text.strip()
        if not text:
            continue
        runs = [r for r in paragraph.runs if r.text.strip()]
        bold = ""
        for run in runs:  # a bold label at the start of the paragraph: "Interviewer" or "SP3:"
            if not run.bold:
                break
            bold += run.text
        label = bold.strip().rstrip(":").strip()
        if label and len(label) <= 60 and len(bold.strip()) < len(text):
            rest = text[len(bold.strip()):].lstrip(" :\t")
            lines.append(f"{label}: {rest}")
        elif label and len(bold.strip()) == len(text):
            raise ReadError(f"{name}, paragraph {number}: a bold speaker label ({label!r}) with no words after it")
        else:
            lines.append(text)
    if not lines:
        raise ReadError(f"{name}: the document has no text")
    return ParsedTranscript(name, "docx", text="\n".join(lines) + "\n")


# -- captions --------------------------------------------------------------------------------------------------

# Hours take at most two digits: no interview runs 100 hours, and a 20-digit hour is no time at all.
_TIMING = re.compile(r"^\s*(?P<a>(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*"
                     r"(?P<b>(?:\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3})")
# Both run in linear time whatever the line: the voice's name starts with a character that is not a space (so
# `\s+` and the name never compete for the same spaces), and a tag never spans a '<' (so a line of many '<' with
# no '>' is scanned once, not once per '<'; "<v" and 60,000 spaces once held the service 11 s).
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+([^>\s][^>]*)>")
_TAG = re.compile(r"<[^<>]*>")
MAX_CUE_CHARACTERS = 20_000  # a longer cue is not a caption


def _seconds(stamp: str) -> float | None:
    """Seconds from a cue time (hh:mm:ss.ttt or mm:ss.ttt); None where minutes or seconds are not 00-59."""
    parts = stamp.replace(",", ".").split(":")
    if any(float(part) >= 60 for part in parts[-2:]):  # minutes and seconds, with or without hours before them
        return None
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    return round(value, 3)


def _read_captions(name: str, text: str, suffix: str, limits: ReadLimits) -> ParsedTranscript:
    lines = text.splitlines()
    if suffix == ".vtt" and not (lines and lines[0].lstrip("\ufeff").startswith("WEBVTT")):
        raise ReadError(f"{name}, line 1: a WebVTT file starts with 'WEBVTT'")
    turns: list[dict] = []
    speaker = None
    i = cues = 0
    last_start = 0.0
    while i < len(lines):
        match = _TIMING.match(lines[i])
        if not match:
            if "-->" in lines[i]:
                raise ReadError(f"{name}, line {i + 1}: cannot read the cue timing {lines[i].strip()!r}")
            i += 1
            continue
        start, end = _seconds(match["a"]), _seconds(match["b"])
        if start is None or end is None:
            raise ReadError(f"{name}, line {i + 1}: minutes and seconds run from 00 to 59 in the cue timing "
                            f"{lines[i].strip()!r}")
        if end < start:
            raise ReadError(f"{name}, line {i + 1}: the cue ends before it starts")
        if start < last_start:
            # Sentence times would run backwards, and a reviewer's "play from here" would jump about.
            raise ReadError(f"{name}, line {i + 1}: this cue starts at {match['a']}, before the cue above it; "
                            "caption cues must be in time order")
        last_start = start
        i += 1
        cue = []
        size = 0
        while i < len(lines) and lines[i].strip():
            cue.append(lines[i].strip())
            size += len(cue[-1])
            if size > MAX_CUE_CHARACTERS:
                raise TooLarge(f"{name}, line {i + 1}: a cue of more than {MAX_CUE_CHARACTERS} characters")
            i += 1
        words = " ".join(cue)
        voice = _VOICE.match(words)
        if voice:
            speaker = voice.group(1).strip()
        else:
            prefix = _PREFIX.match(_TAG.sub("", words))
            if prefix:
                speaker = prefix.group(1).strip()
                words = _TAG.sub("", words)[prefix.end():]
        words = _TAG.sub("", words).strip()
        if not words:
            continue
        who = speaker or "Speaker"
        if turns and turns[-1]["speaker"] == who:
            turn = turns[-1]
            # Where this cue starts in the turn's text (joined by spaces once at the end: adding to a string is
            # quadratic), so each sentence keeps its own cue's time, not the whole turn's.
            turn["cues"].append((turn["length"] + 1, start, end))
            turn["length"] += 1 + len(words)
            turn["text"].append(words)
            turn["end"] = end
        else:
            turns.append({"speaker": who, "text": [words], "start": start, "end": end, "cues": [(0, start, end)],
                          "length": len(words)})
            if len(turns) > limits.turns:  # each turn is at least one sentence: refuse while reading
                raise TooLarge(f"{name}, line {i}: more than {limits.turns} turns (AUTOCODER_MAX_SEGMENTS); "
                               "split it")
        cues += 1
        if cues > limits.turns * 4:
            raise TooLarge(f"{name}, line {i}: more than {limits.turns * 4} cues; split it")
    if not turns:
        raise ReadError(f"{name}: no caption cues with text")
    return ParsedTranscript(name, suffix.lstrip("."), turns=[
        {k: v for k, v in t.items() if k != "length"} | {"text": " ".join(t["text"])} for t in turns])


# -- one turn a row --------------------------------------------------------------------------------------------

def _csv_rows(name: str, text: str) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        missing = {"speaker", "text"} - fields
        if missing:
            raise ReadError(f"{name}, line 1: the header needs the columns {', '.join(sorted(missing))} "
                            f"(one turn a row); it has {', '.join(sorted(fields)) or 'none'}")
        for row in reader:
            yield reader.line_num, {(k or "").strip().lower(): (v if isinstance(v, str) else "").strip()
                                    for k, v in row.items()}
    except csv.Error as exc:  # e.g. a cell longer than the csv module's limit of 131,072 characters
        raise ReadError(f"{name}, line {reader.line_num}: cannot read this CSV ({exc}); split long cells") from None


def _jsonl_rows(name: str, text: str) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(f"{name}, line {n}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise ReadError(f"{name}, line {n}: JSON nested too deeply") from None
        except ValueError:  # Python's limit on digits in a number
            raise ReadError(f"{name}, line {n}: a number with too many digits") from None
        if not isinstance(row, dict):
            raise ReadError(f"{name}, line {n}: each line is one JSON object (a turn)")
        yield n, {str(k).lower(): v for k, v in row.items()}


# float() also takes "1_000" and "inf". Digits after the point only follow one, so no run of digits can be
# split two ways (\d+\.?\d* could, and 100 KB of "1" ending in "e" then took 157 s to refuse).
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _table_seconds(where: str, stamp: str, value: object) -> float:
    """A time from a CSV cell (text) or a JSONL value (a number; true/false is not one); its range is checked
    with the turn's other time (check_times)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str) or (
            isinstance(value, str) and not _NUMBER.fullmatch(value)):
        raise ReadError(f"{where} {stamp} {value!r} is not a number of seconds")
    try:
        return float(value)
    except OverflowError:  # a whole number too large for a float: check_times refuses it
        return math.inf


def _read_table(name: str, text: str, suffix: str, limits: ReadLimits) -> list[ParsedTranscript]:
    rows = _csv_rows(name, text) if suffix == ".csv" else _jsonl_rows(name, text)
    groups: dict[str, ParsedTranscript] = {}
    for n, row in rows:
        speaker, words = str(row.get("speaker") or "").strip(), str(row.get("text") or "").strip()
        if not speaker or not words:
            raise ReadError(f"{name}, line {n}: every turn needs a speaker and text")
        key = str(row.get("transcript") or "")
        if key not in groups:
            meta = {k: str(row[k]) for k in METADATA if row.get(k) not in (None, "")}
            if key and "title" not in meta:
                meta["title"] = key
            groups[key] = ParsedTranscript(f"{name}#{key}" if key else name, suffix.lstrip("."), turns=[],
                                           metadata=meta)
        turn = {"speaker": speaker, "text": words}
        for stamp in ("start", "end"):
            if row.get(stamp) not in (None, ""):
                turn[stamp] = _table_seconds(f"{name}, line {n}:", stamp, row[stamp])
        check_times(f"{name}, line {n}:", turn.get("start"), turn.get("end"))
        if row.get("role"):
            turn["role"] = str(row["role"])
        groups[key].turns.append(turn)
        if len(groups[key].turns) > limits.turns:  # each turn is at least one sentence: refuse while reading
            raise TooLarge(f"{name}, line {n}: more than {limits.turns} turns for one transcript "
                           "(AUTOCODER_MAX_SEGMENTS); split it")
    if not groups:
        raise ReadError(f"{name}: no turns in the file")
    return list(groups.values())
