"""The code picker: the codes a coder can choose, searchable by number or by words of their label, synonyms
and definition, and what a typed entry means when it reaches the server.

The page's script (app.js, `pickerMatches`) ranks matches by the same rule as `search` here, so what the
list offers is what the server accepts; the server still resolves a typed entry itself, for a coder who
submits without choosing from the list.
"""

import re
from dataclasses import dataclass

from app.errors import InvalidInput
from taxonomy import ResolvedCodebook

SHOWN = 8  # matches listed at once, and named in an error when words fit several codes
LONGEST = 200  # characters of a typed entry: longer is not a code's number, label or words
_WORD = re.compile(r"[\w.]+")


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    group: str
    synonyms: tuple[str, ...]
    definition: str

    def as_json(self) -> dict:
        return {"id": self.id, "label": self.label, "group": self.group, "synonyms": list(self.synonyms),
                "definition": self.definition}


def choices(book: ResolvedCodebook) -> list[Choice]:
    """Every codable code, in codebook order."""
    return [Choice(c.id, c.label, g.label if (g := book.group_of(c)) else "", tuple(c.synonyms), c.definition)
            for c in book.leaves]


def _words(text: str) -> list[str]:
    return [w.casefold().strip(".") or w for w in _WORD.findall(text)]


def _rank(choice: Choice, text: str, words: list[str]) -> int | None:
    """0: the number starts with the entry; 1: every word is in the label; 2: in label and synonyms;
    3: in label, synonyms and definition; None: no match. Lower ranks are listed first."""
    if choice.id.casefold().startswith(text.casefold()):
        return 0
    fields = [f"{choice.id} {choice.label}", " ".join(choice.synonyms), choice.definition]
    for rank in (1, 2, 3):
        haystack = " ".join(fields[:rank]).casefold()
        if words and all(w in haystack for w in words):
            return rank
    return None


def search(options: list[Choice], text: str, limit: int = SHOWN) -> list[Choice]:
    """The codes an entry matches, best first (by rank, then codebook order)."""
    text = text.strip()
    if not text:
        return []
    words = _words(text)
    ranked = [(r, n, c) for n, c in enumerate(options) if (r := _rank(c, text, words)) is not None]
    return [c for _, _, c in sorted(ranked, key=lambda t: (t[0], t[1]))[:limit]]


def resolve(options: list[Choice], entry: str) -> str:
    """The code id a typed entry means: a code number (alone or followed by its label, as the list fills it
    in), a label, or words that fit exactly one code. Otherwise InvalidInput naming the candidates."""
    entry = entry.strip()
    if not entry:
        raise InvalidInput("type a code number or words of its label or definition, and pick one from the list")
    if len(entry) > LONGEST:
        raise InvalidInput(f"a code entry is at most {LONGEST} characters: type a number or a few words")
    ids = {c.id: c for c in options}
    first = entry.split()[0]
    if first in ids:
        return first
    for c in options:
        if c.label.casefold() == entry.casefold() or f"{c.id} {c.label}".casefold() == entry.casefold():
            return c.id
    found = search(options, entry, limit=len(options))
    if len(found) == 1:
        return found[0].id
    if not found:
        raise InvalidInput(f"no code matches {entry!r}: type a code number, or words of its label or definition")
    words = _words(entry)
    best = [c for c in found if _rank(c, entry, words) == _rank(found[0], entry, words)]
    if len(best) == 1:  # words in one code's label, the others' only in their definitions
        return best[0].id
    named = "; ".join(f"{c.id} {c.label}" for c in found[:SHOWN])
    raise InvalidInput(f"{entry!r} fits {len(found)} codes ({named}{'; …' if len(found) > SHOWN else ''}): "
                       "pick one from the list")


def label_of(options: list[Choice]) -> dict[str, str]:
    return {c.id: c.label for c in options}

