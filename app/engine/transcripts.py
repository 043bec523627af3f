"""A transcript as it is given (labelled text or turns, with its metadata), checked and split into sentences,
and why a sentence is stored but not coded. The service (app/services/coding.py) and batch pre-coding
(app/batch) both prepare transcripts through here, so a file reads the same whichever way it comes in."""

import functools
import re
from dataclasses import dataclass, field

from app import validation
from app.engine.deidentify import Deidentifier, Replacement
from app.engine.markers import only_markers, without_markers
from app.engine.roles import NOTE_LABEL
from app.engine.segment import (
    RoleMapper,
    Segment,
    check_role,
    document_from_turns,
    label_spans,
    split_sentences,
    turns_from_text,
)
from app.errors import InvalidInput

_NOTE_LABEL = re.compile(NOTE_LABEL, re.IGNORECASE)


@dataclass
class SuggestOptions:
    """What to suggest with; None means the service's default."""

    codebook: str | None = None
    top_k: int | None = None
    threshold: float | None = None
    context: int = 0


@dataclass
class TranscriptInput:
    """A transcript as posted: labelled text or JSON turns, with its metadata."""

    text: str | None = None
    turns: list[dict] | None = None
    title: str | None = None
    participant_id: str | None = None
    role: str | None = None
    site: str | None = None
    trial_arm: str | None = None
    extra: dict = field(default_factory=dict)
    speaker_roles: dict[str, str] = field(default_factory=dict)
    default_speaker: str | None = None
    code_interviewer: bool = False
    options: SuggestOptions = field(default_factory=SuggestOptions)
    deidentify: bool | None = None  # None: the setting AUTOCODER_DEIDENTIFY


SPEAKER_CHARS = 100  # segments.speaker
MAX_TURN_CHARS = 1_000_000  # the sentencizer reads at most this many characters at once (spaCy's max_length)


def check_text(text: str, what: str = "text") -> str:
    """Refuse empty text and binary content with a message that says which."""
    if "\x00" in text:
        raise InvalidInput(f"{what} contains NUL bytes: it looks like a binary file, not a transcript")
    try:
        validation.check_text(text, what)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not text.strip():
        raise InvalidInput(f"{what} is empty")
    return text


def check_input(data: "TranscriptInput") -> None:
    """Every string of a transcript's input is well-formed, NUL-free text, its metadata shallow and finite
    (app/validation.py): files and job manifests reach here without passing the API's request models."""
    fields = dict(title=data.title, participant_id=data.participant_id, site=data.site, trial_arm=data.trial_arm,
                  extra=data.extra, speaker_roles=data.speaker_roles, default_speaker=data.default_speaker,
                  speakers=[t.get("speaker") for t in data.turns or []])
    try:
        validation.check_value(fields, "transcript")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None



@dataclass(frozen=True)
class SegmentationParams:
    """What segmenting a transcript needs from the settings (Settings.segmentation() builds it): the engine
    takes these values and never reads the service's configuration itself."""

    role_patterns: dict[str, str]
    deidentify: bool = False
    deid_id_patterns: tuple[str, ...] = ()
    deid_ner_model: str = ""
    max_sentence_words: int = 80
    max_segments: int = 20_000


def deidentifier(params: SegmentationParams) -> Deidentifier:
    """The de-identification rules and entity recogniser asked for (built once per setting)."""
    return _deidentifier(params.deid_id_patterns, params.deid_ner_model)


@functools.lru_cache(maxsize=4)
def _deidentifier(id_patterns: tuple[str, ...], ner_model: str) -> Deidentifier:
    return Deidentifier(id_patterns, ner_model)


def _check_bounds(text: str, turns: list, settings: SegmentationParams) -> None:
    """Refuse what is over a limit before any slow step: a speaker label too long for its column, more
    sentences than the limit (every turn is at least one; no sentence is longer than max_sentence_words), a turn
    longer than the sentencizer reads at once."""
    # Files reach here without the API's request models: a speaker label must fit its column (100 characters).
    long = next((t.speaker for t in turns if len(t.speaker) > SPEAKER_CHARS), None)
    if long is not None:
        raise InvalidInput(f"the speaker label {long[:40]!r}... is longer than {SPEAKER_CHARS} characters")
    words = len(text.split())
    if max(len(turns), words // settings.max_sentence_words) > settings.max_segments:
        raise InvalidInput(f"the transcript has more than {settings.max_segments} sentences, the limit for one "
                           "transcript (AUTOCODER_MAX_SEGMENTS); split it")
    longest = max((t.end - t.start for t in turns), default=0)
    if longest > MAX_TURN_CHARS:
        raise InvalidInput(f"one turn is {longest} characters, more than {MAX_TURN_CHARS}; split it")


def segment_transcript(data: TranscriptInput, settings: SegmentationParams) -> tuple[str, str, list[Segment]]:
    """The stored text, its format, and its sentences, or InvalidInput saying what is wrong. With
    de-identification on, the limits are checked on what was sent, then the words are replaced, and everything
    after reads the replaced text."""
    check_input(data)
    roles = RoleMapper(settings.role_patterns, data.speaker_roles, check_role(data.role))
    deid = deidentifier(settings) if (settings.deidentify if data.deidentify is None else data.deidentify) else None
    if data.turns is not None:
        if not data.turns:
            raise InvalidInput("turns is empty")
        for i, turn in enumerate(data.turns):
            check_text(turn["text"], f"turns[{i}].text")
        text, turns = document_from_turns(data.turns, roles)
        if deid:  # bounds first: de-identifying 2 MB that is refused anyway once held the service for seconds
            _check_bounds(text, turns, settings)
            text, turns = document_from_turns([_deidentified(t, deid) for t in data.turns], roles)
        source_format = "turns"
    elif data.text is not None:
        text = check_text(data.text)
        turns = turns_from_text(text, roles, data.default_speaker)
        if deid:  # speaker labels (and their timestamps) stay as they are: they say who spoke
            _check_bounds(text, turns, settings)
            text = deid.replace(text, keep=label_spans(text)).text
            turns = turns_from_text(text, roles, data.default_speaker)
        source_format = "text"
    else:
        raise InvalidInput("send either 'text' (labelled plain text) or 'turns' (a list of turns)")
    _check_bounds(text, turns, settings)
    segments = split_sentences(text, turns, settings.max_sentence_words)
    if not segments:
        raise InvalidInput("the transcript has speaker labels but no words after them")
    if len(segments) > settings.max_segments:
        raise InvalidInput(f"{len(segments)} sentences is more than the limit of "
                           f"{settings.max_segments} for one transcript; split it")
    return text, source_format, segments


def skip_reason(segment: Segment, code_interviewer: bool, min_words: int) -> str | None:
    """Why a sentence is stored but not coded: an interviewer's turn, a transcriber's note alone, or too few
    words; None if coded."""
    if segment.role == "interviewer" and not code_interviewer:
        return "interviewer"
    if only_markers(segment.text):  # a turn that is only "[crosstalk]": the transcriber's note, nothing said
        return "marker"
    if segment.role == "other" and _NOTE_LABEL.search(segment.speaker):  # "Transcriber notes: noisy room."
        return "marker"
    if len(without_markers(segment.text).split()) < min_words:  # "[laughs] Yeah." is one word
        return "too_short"
    return None


def _deidentified(turn: dict, deid: Deidentifier) -> dict:
    """A turn with its words replaced; a caption turn's cue offsets moved with the words they point at."""
    out = deid.replace(turn["text"])
    if not turn.get("cues"):
        return {**turn, "text": out.text}
    moved = _moved([offset for offset, _, _ in turn["cues"]], out.replaced)
    return {**turn, "text": out.text, "cues": [(at, a, b) for at, (_, a, b) in zip(moved, turn["cues"], strict=True)]}


def _moved(offsets: list[int], replaced: list[Replacement]) -> list[int]:
    """Where each of `offsets` (ascending) of the original text is after the replacements (in text order, not
    overlapping); a place inside a replaced span moves to its start. One walk over both."""
    out, delta, at = [], 0, 0
    for offset in offsets:
        while at < len(replaced) and replaced[at].end <= offset:
            delta += len(replaced[at].placeholder) - (replaced[at].end - replaced[at].start)
            at += 1
        inside = at < len(replaced) and replaced[at].start < offset
        out.append((replaced[at].start if inside else offset) + delta)
    return out


def other_speakers(segments) -> list[str]:
    """Speakers (in order of appearance) whose role fell to 'other': no label pattern, speaker map or
    participant role placed them, so reports leave them out of the peer worker and supported peer columns. The
    transcriber's notes ("Transcriber notes:") are not among them: they are meant to be 'other', never coded."""
    return list(dict.fromkeys(s.speaker for s in segments if s.role == "other" and not _NOTE_LABEL.search(s.speaker)))


def other_speakers_warning(speakers: list[str]) -> str | None:
    """The warning shown at import, in pre-coding and on the transcript, or None when every speaker has a role."""
    if not speakers:
        return None
    return (f"speakers read as 'other' (not in the peer worker / supported peer columns): {', '.join(speakers)}; "
            "set a speaker map (speaker_roles, e.g. --speaker-role 'R=interviewer') or the participant's role")
