"""Transcription markers: the transcriber's notes inside the talk, such as `[laughs]`, `(pause)`, `[inaudible
00:12:31]` or `[00:12:31]`. They are kept in the stored text (coders see what happened) but are not words
the participant said: segmentation keeps each one inside a sentence, and scoring and discovery read the
sentence without them.

Square brackets and parentheses also hold content ("(my sister)", a de-identification placeholder such as
`[name]`), so a marker is one that starts with a word from the list below or with a timestamp. Any short
bracketed span is still kept whole when sentences are split: a full stop inside or before it never cuts it.
"""

import re

# Words transcribers write for what is heard but not said (first word of the note, any case).
MARKER_WORDS = (
    "laugh", "laughs", "laughing", "laughter", "laughed", "chuckle", "chuckles", "chuckling", "giggles",
    "inaudible", "unclear", "indistinct", "unintelligible", "crosstalk", "cross-talk", "cross talk",
    "overlapping", "overtalking", "talking over", "pause", "pauses", "paused", "long pause", "short pause",
    "silence", "sigh", "sighs", "sighing", "cough", "coughs", "coughing", "clears throat", "sniff", "sniffs",
    "crying", "cries", "tearful", "upset", "background noise", "noise", "interruption", "interrupted",
    "phone rings", "phone ringing", "recording paused", "recording stopped", "recording resumes", "break",
    "tape ends", "end of recording", "applause", "whispers", "whispering", "mumbles", "mumbling", "yawns",
    "gestures", "nods", "shakes head", "smiles", "claps", "sarcastic", "sarcastically", "emphasis",
)
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_WORDS = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in MARKER_WORDS), key=len, reverse=True))
# Bounded throughout (at most 60 characters inside), so matching is linear in the text's length.
MARKER = re.compile(
    rf"\[\s*(?:(?:{_WORDS})\b|{_TIME})[^\[\]\n]{{0,60}}?\]"
    rf"|\(\s*(?:(?:{_WORDS})\b|{_TIME})[^()\n]{{0,60}}?\)",
    re.IGNORECASE,
)
# A marker that is a time alone, "[00:12:31]": it marks when the talk after it starts, so it opens a sentence.
TIMESTAMP = re.compile(rf"\[\s*{_TIME}\s*\]|\(\s*{_TIME}\s*\)")
# Any short bracketed span, marker or not: never cut when sentences are split.
BRACKETED = re.compile(r"\[[^\[\]\n]{1,80}\]|\([^()\n]{1,80}\)")
_SPACES = re.compile(r"[ \t]{2,}")
_WORD = re.compile(r"\w")
_BLANK = re.compile(r"\s*")
_TIDY_SPACE = re.compile(r"\s+([,.;:!?])")


def marker_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every transcription marker in `text`."""
    if "[" not in text and "(" not in text:
        return []
    return [m.span() for m in MARKER.finditer(text)]


def without_markers(text: str) -> str:
    """The words without the transcriber's markers (spaces left behind closed up); `text` itself when it has
    none, or when nothing else is left (a model still needs something to read)."""
    spans = marker_spans(text)
    if not spans:
        return text
    parts, at, last = [], 0, ""  # last: the last character kept that is not a space
    for start, end in spans:
        parts.append(text[at:start])
        last = text[at:start].rstrip()[-1:] or last
        at = end
        # The marker's own full stop goes with it: "(laughs). Well" -> "Well", "Sunday. [pause]." -> "Sunday."
        after = _BLANK.match(text, at).end()
        if after < len(text) and text[after] in ".,;:" and (not last or last in ".!?,;:"):
            at = after + 1
    parts.append(text[at:])
    left = _TIDY_SPACE.sub(r"\1", _SPACES.sub(" ", "".join(parts)).strip())  # "fine [laughs]." -> "fine."
    return left if _WORD.search(left) else text


def says_nothing(text: str) -> bool:
    """True when the text has no word outside its markers: "[laughs]", "(pause).", or "." alone."""
    outside = MARKER.sub("", text) if "[" in text or "(" in text else text
    return not _WORD.search(outside)


def only_markers(text: str) -> bool:
    """True when the text is markers and nothing said (a sentence that is only "[laughs]" or "(pause).")."""
    return bool(marker_spans(text)) and says_nothing(text)
