"""Split a transcript into speaker turns and sentences, keeping exact character offsets."""

import bisect
import re
import sys
from dataclasses import dataclass
from functools import lru_cache

from app.engine.markers import BRACKETED, MARKER, TIMESTAMP, only_markers, says_nothing
from app.engine.roles import ROLES
from app.errors import InvalidInput


def _import_spacy():
    """spaCy, imported without torch. Its ML library thinc imports torch whenever it is installed, only to offer
    PyTorch layers that the sentencizer and the NER pipelines used here never run: 1.2 s of CPU in every start-up
    (3 s or more on a busy machine), and in a process whose encoder is ONNX Runtime the only reason torch is
    loaded at all. Where torch is already loaded (the torch backend) this changes nothing."""
    if "torch" in sys.modules:
        import spacy
        return spacy
    sys.modules["torch"] = None  # `import torch` inside thinc raises ImportError: thinc runs without it
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


spacy = _import_spacy()

# "PW6: text", "Interviewee_PW6: text", "I: text", "[00:01:02] SP3: text". A label starts with a letter,
# has at most four words and no sentence punctuation, so "At 10:30 we met" is not read as a label.
LABEL_LINE = re.compile(
    r"^[ \t]*(?:\[[0-9:.,]+\][ \t]*)?"
    r"(?P<label>[A-Za-z][\w.'’-]*(?:[ \t][\w.'’-]+){0,3}?)[ \t]*:(?:[ \t]+|$)(?P<rest>.*)$"
)


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted talk; start/end index the transcript's stored text."""

    index: int
    speaker: str
    role: str
    start: int
    end: int
    time_start: float | None = None  # seconds into the recording, when the source had timestamps
    time_end: float | None = None
    # Captions: (offset into the stored text, start, end) of each cue the turn was joined from, in order.
    cues: tuple[tuple[int, float, float], ...] = ()

    def times(self, start: int, end: int) -> tuple[float | None, float | None]:
        """The recording times of text[start:end]: from the cue it starts in to the cue it ends in (a caption
        file's), else the turn's own."""
        if not self.cues:
            return self.time_start, self.time_end
        first = self.cues[max(bisect.bisect_right(self.cues, start, key=_offset) - 1, 0)]
        last = self.cues[max(bisect.bisect_right(self.cues, max(end - 1, start), key=_offset) - 1, 0)]
        return first[1], last[2]


def _offset(cue: tuple[int, float, float]) -> int:
    return cue[0]


@dataclass(frozen=True)
class Segment:
    """One sentence of one turn; text == transcript_text[start:end]."""

    turn_index: int
    sentence_index: int
    speaker: str
    role: str
    start: int
    end: int
    text: str
    time_start: float | None = None  # its cues' (captions), else the turn's, when the source had times
    time_end: float | None = None


class RoleMapper:
    """Decide a speaker's role: declared role, then explicit mapping, then label patterns."""

    def __init__(self, patterns: dict[str, str], speaker_roles: dict[str, str] | None = None,
                 participant_role: str | None = None):
        self.patterns = [(re.compile(p, re.IGNORECASE), role) for p, role in patterns.items()]
        self.speaker_roles = {k.strip().lower(): v for k, v in (speaker_roles or {}).items()}
        self.participant_role = participant_role
        for role in [*self.speaker_roles.values(), participant_role]:
            check_role(role)

    def role_for(self, speaker: str, declared: str | None = None) -> str:
        if declared:
            return check_role(declared)
        key = speaker.strip().lower()
        if key in self.speaker_roles:
            return self.speaker_roles[key]
        for pattern, role in self.patterns:
            if pattern.search(key):
                return role
        # In a one-to-one interview every non-interviewer voice is the participant's.
        return self.participant_role or "other"


def check_role(role: str | None) -> str | None:
    if role is not None and role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def turns_from_text(text: str, roles: RoleMapper, default_speaker: str | None = None) -> list[Turn]:
    """Find speaker turns in labelled plain text. Unlabelled lines continue the previous turn."""
    heads: list[tuple[int, str]] = []  # (offset where the turn's words start, speaker)
    offset = 0
    for line in text.splitlines(keepends=True):
        match = LABEL_LINE.match(line.rstrip("\r\n"))
        if match:
            heads.append((offset + match.start("rest"), match.group("label").strip()))
        offset += len(line)
    if not heads:
        if default_speaker is None:
            raise InvalidInput(
                "no speaker labels found: start each turn on a new line with a label such as "
                "'Interviewer:', 'PW6:' or 'SP3:', send JSON turns, or set default_speaker "
                "to code the whole text as one speaker"
            )
        heads = [(0, default_speaker)]
    turns = []
    for i, (start, speaker) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        if i + 1 < len(heads):  # the next turn's label belongs to the next turn, not to this one
            end = text.rfind("\n", start, end) + 1 or end
        turns.append(Turn(i, speaker, roles.role_for(speaker), start, end))
    return turns


def label_spans(text: str) -> list[tuple[int, int]]:
    """Where each speaker label (with its timestamp) stands: from the line's start to its words."""
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        match = LABEL_LINE.match(line.rstrip("\r\n"))
        if match:
            spans.append((offset, offset + match.start("rest")))
        offset += len(line)
    return spans


def document_from_turns(items: list[dict], roles: RoleMapper) -> tuple[str, list[Turn]]:
    """Render JSON turns as 'Speaker: text' lines; offsets index that rendered text."""
    parts: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for i, item in enumerate(items):
        speaker, words = item["speaker"].strip(), item["text"]
        head = f"{speaker}: "
        parts += [head, words, "\n\n"]
        start = offset + len(head)
        cues = tuple((start + offset, a, b) for offset, a, b in item.get("cues") or ())
        turns.append(Turn(i, speaker, roles.role_for(speaker, item.get("role")), start, start + len(words),
                          item.get("start"), item.get("end"), cues))
        offset = start + len(words) + 2
    return "".join(parts), turns


@lru_cache(maxsize=1)
def sentencizer() -> spacy.language.Language:
    # A blank English pipeline with the rule-based sentencizer: no model to download.
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


# spaCy's tokenizer takes time quadratic in the length of a run with no space in it (its affix search): 24 KB of
# "[" held a request for 12 s and slowed every other one (found by an attacker's run). What it reads has a
# space put into such runs every LONGEST_TOKEN characters; the copy keeps the text's length, so its offsets
# hold for the text itself, and only where sentences may end inside such a run (no sentence has one) changes.
LONGEST_TOKEN = 64
_LONG_RUN = re.compile(rf"\S{{{LONGEST_TOKEN + 1},}}")


def tokenizable(text: str) -> str:
    """`text` with a space in place of every LONGEST_TOKEN-th character of a longer run with no space."""
    def broken(m: re.Match) -> str:
        chars = list(m.group())
        chars[LONGEST_TOKEN - 1:-1:LONGEST_TOKEN] = " " * len(chars[LONGEST_TOKEN - 1:-1:LONGEST_TOKEN])
        return "".join(chars)

    return _LONG_RUN.sub(broken, text)


def split_sentences(text: str, turns: list[Turn], max_words: int = 80) -> list[Segment]:
    """Split every turn into sentences; offsets are into `text`, trimmed of surrounding space.

    Verbatim transcripts often run on for hundreds of words without a full stop; a "sentence" longer than
    `max_words` is cut into pieces (after a comma or semicolon where one falls in the second half), so no
    segment is silently truncated by the embedding model or too long for a coder to judge as one unit.
    """
    nlp = sentencizer()
    segments: list[Segment] = []
    docs = nlp.pipe(tokenizable(text[t.start:t.end]) for t in turns)
    for turn, doc in zip(turns, docs, strict=True):
        index = 0
        said = text[turn.start:turn.end]  # spaCy read a copy of the same length: its offsets hold here
        # Sentences cover the turn end to end (only space lies between spaCy's, or a space put in the copy).
        ends = [s.end_char for s in doc.sents][:-1]
        sentences = _keep_brackets_whole(said, list(zip([0, *ends], [*ends, len(said)], strict=True)))
        if len(turn.cues) > 1:
            sentences = _cue_markers_open_sentences(said, sentences, [c[0] - turn.start for c in turn.cues[1:]])
        for sent_start, sent_end in sentences:
            for start, end in _pieces(text, turn.start + sent_start, turn.start + sent_end, max_words):
                segments.append(Segment(turn.index, index, turn.speaker, turn.role, start, end, text[start:end],
                                        *turn.times(start, end)))
                index += 1
    return segments


_WORD = re.compile(r"\S+")


def _keep_brackets_whole(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans moved so that no bracketed note is cut ("honestly. [" / "laughs] Anyway" becomes
    "honestly. [laughs]" / "Anyway"), and a sentence of markers alone ("[pause]") joins the one before it
    (or after it, at the start of a turn)."""
    if "[" not in text and "(" not in text:
        return sentences
    sentences = _split_after_glued_markers(text, sentences)
    if len(sentences) < 2:
        return sentences
    # Each boundary between two sentences, walked beside the bracketed spans (both in order: linear).
    boundaries, ends = [end for _, end in sentences[:-1]], []
    brackets = BRACKETED.finditer(text)
    bracket = next(brackets, None)
    for b in boundaries:
        while bracket is not None and bracket.end() <= b:
            bracket = next(brackets, None)
        if bracket is None or not bracket.start() < b:
            ends.append(b)
        elif MARKER.fullmatch(bracket.group()):  # a note: it ends the sentence it was cut from
            ends.append(bracket.end())
        # else words in brackets, "(the older one. Not Jo)": part of the sentence around them
    spans, at = [], sentences[0][0]
    for b in [*ends, sentences[-1][1]]:
        if b > at:
            spans.append((at, b))
            at = b
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and says_nothing(text[start:end]):
            merged[-1] = (merged[-1][0], end)
        elif merged and only_markers(text[merged[-1][0]:merged[-1][1]]):
            merged[-1] = (merged[-1][0], end)  # the turn opened with a marker: it joins the first sentence
        else:
            merged.append((start, end))
    return _timestamps_open_sentences(text, merged)


# After a marker: the next sentence starts (spaces, maybe an opening quote, then a capital or a digit).
_NEXT_SENTENCE = re.compile(r"\s+[\"'‘“(\[]?[A-Z0-9]")
_TIMESTAMP_AT_END = re.compile(rf"(?:{TIMESTAMP.pattern})\s*$", re.IGNORECASE)


def _split_after_glued_markers(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """spaCy does not end a sentence at "honestly.[laughs] Anyway" (no space after the stop): cut after the
    marker there (before it when it is a timestamp, which belongs to the talk after it)."""
    cuts = []
    for m in MARKER.finditer(text):
        if m.start() > 0 and text[m.start() - 1] in ".!?" and _NEXT_SENTENCE.match(text, m.end()):
            cuts.append(m.start() if TIMESTAMP.fullmatch(m.group()) else m.end())
    if not cuts:
        return sentences
    out, at = [], 0
    for start, end in sentences:  # both in order: one walk
        while at < len(cuts) and cuts[at] <= start:
            at += 1
        while at < len(cuts) and cuts[at] < end:
            out.append((start, cuts[at]))
            start = cuts[at]
            at += 1
        out.append((start, end))
    return out


def _timestamps_open_sentences(text: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A timestamp between two sentences ("I went home. [00:12:31] Then she rang.") opens the second: it
    times the talk that follows it."""
    out = list(sentences)
    for i in range(len(out) - 1):
        start, end = out[i]
        m = _TIMESTAMP_AT_END.search(text[start:end])
        if m is None or not _ends_sentence(text[start:start + m.start()]):
            continue  # no timestamp at the end, or not between two sentences
        out[i], out[i + 1] = (start, start + m.start()), (start + m.start(), out[i + 1][1])
    return out


def _ends_sentence(text: str) -> bool:
    """Whether text ends with a sentence's last stop (perhaps inside a closing quote or bracket)."""
    return text.rstrip().rstrip("\"'’”)")[-1:] in (".", "!", "?", "…")


def _cue_markers_open_sentences(text: str, sentences: list[tuple[int, int]], cue_starts: list[int]
                                ) -> list[tuple[int, int]]:
    """A caption cue that opens with a marker ("[laughs] Some weeks I nearly didn't go.") after a cue that ended
    a sentence: the marker opens the cue's sentence, as it was heard then, instead of trailing the last one."""
    out, at = list(sentences), 0
    for i in range(len(out) - 1):
        start, end = out[i]
        while at < len(cue_starts) and cue_starts[at] < end and not text[start:cue_starts[at]].strip():
            at += 1  # the cue this sentence opens with (its span may begin with the space before it)
        while at < len(cue_starts) and cue_starts[at] < end:  # the cues that start inside it, in order
            cut = cue_starts[at]
            if only_markers(text[cut:end]) and _ends_sentence(text[start:cut]):
                out[i], out[i + 1] = (start, cut), (cut, out[i + 1][1])
                break
            at += 1
    return out


def _pieces(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """(start, end) of the trimmed span, or of its pieces of at most max_words words."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    pieces = []
    while words:
        cut = len(words)
        if cut > max_words:
            # Prefer to end a piece on a word closing a clause, in the second half of the window.
            cut = next((i + 1 for i in range(max_words - 1, max_words // 2 - 1, -1)
                        if text[words[i][1] - 1] in ",;:"), max_words)
        pieces.append((words[0][0], words[cut - 1][1]))
        words = words[cut:]
    return pieces
