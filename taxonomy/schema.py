"""The shape of a codebook: codes with ids, labels, an optional parent, definitions and exemplars."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
# Bounds on what an upload may bring (checked when it is stored, so a codebook stored before keeps working):
# every definition, quote and background sentence is encoded when a codebook's index is built, and the encoder
# reads a long text at a cost that grows faster than its length; the longest built-in text is 653 characters.
# A label or synonym is a name, not a passage.
MAX_TEXT = 2_000
MAX_NAME = 300


def code_id_as_text(value: object) -> object:
    """Code ids are text; YAML numbers are taken only where no information is lost."""
    if isinstance(value, bool):
        raise ValueError("must be text, not true/false")
    if isinstance(value, float):
        # YAML reads 10.10 as the number 10.1: converting it back would merge two different codes.
        raise ValueError(f"{value!r} was read as a number; quote ids in YAML ('{value}') so that "
                         "10.10 and 10.1 stay different codes")
    return str(value) if isinstance(value, int) else value


def code_order(code_id: str) -> tuple:
    """Sort key that reads a code id as its numbers: 1.1, 2.2, 10.2 (not "10.2" before "2.2" as text); parts
    that are not numbers (RA.1, extension codes) sort as text after the numbered ones."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.\-_ ]", code_id))


class Exemplar(BaseModel):
    """A quote or illustrative utterance that shows the code in use, with where it came from."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    source: str = ""
    role: str | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("exemplar text is empty")
        return value.strip()


class Code(BaseModel):
    """One code. Codes with children are groups; only leaves are suggested."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    label: str
    parent: str | None = None
    definition: str = ""
    synonyms: list[str] = Field(default_factory=list)
    exemplars: list[Exemplar] = Field(default_factory=list)
    # Sentences that look like this code but are not it (the commonest confusions): a sentence closer to one
    # of them than to any of the code's own evidence loses score for this code.
    counterexamples: list[Exemplar] = Field(default_factory=list)
    # Definitions quoted verbatim from a published source (added by a supplement file, which keeps its own
    # licence): matched like the definition, shown with their source.
    source_definitions: list[Exemplar] = Field(default_factory=list)

    @field_validator("id", "parent", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return code_id_as_text(value)

    @field_validator("label")
    @classmethod
    def _label_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("label is empty")
        return value.strip()


class Codebook(BaseModel):
    """A codebook as written in a YAML or JSON file, before its `extends` are resolved."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    title: str = ""
    version: str = "1"
    description: str = ""
    attribution: str = ""
    licence: str = ""
    extends: list[str] = Field(default_factory=list)
    codes: list[Code] = Field(default_factory=list)
    # Ordinary talk that carries no code (role introductions, scheduling, small talk, vague answers): never
    # suggested, it competes with the codes, so a sentence that matches it as well as any code stays uncoded.
    background: list[Exemplar] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_content(self) -> "Codebook":
        if not self.codes and not self.background:
            raise ValueError("a codebook needs codes (or, for a background codebook, a background section)")
        return self

    @model_validator(mode="after")
    def _ids_unique(self) -> "Codebook":
        seen: set[str] = set()
        duplicates = sorted({c.id for c in self.codes if c.id in seen or seen.add(c.id)})
        if duplicates:
            raise ValueError(f"duplicate code ids: {', '.join(duplicates)}")
        return self


def overlong_texts(book: Codebook) -> list[str]:
    """Where a codebook's texts are longer than MAX_TEXT (names than MAX_NAME) characters."""
    found = [f"background[{n}]: {len(b.text)} characters, more than {MAX_TEXT}"
             for n, b in enumerate(book.background) if len(b.text) > MAX_TEXT]
    for code in book.codes:
        # The label, synonyms and definition are encoded as one line (code_index.definition_text).
        line = " ".join([code.label, *code.synonyms, code.definition])
        texts = [("definition", code.definition, MAX_TEXT), ("label", code.label, MAX_NAME),
                 ("label, synonyms and definition together", line, MAX_TEXT + MAX_NAME)]
        texts += [(f"synonyms[{n}]", s, MAX_NAME) for n, s in enumerate(code.synonyms)]
        for part in ("exemplars", "counterexamples", "source_definitions"):
            texts += [(f"{part}[{n}]", e.text, MAX_TEXT) for n, e in enumerate(getattr(code, part))]
        found += [f"code {code.id} {where}: {len(text)} characters, more than {most}"
                  for where, text, most in texts if len(text) > most]
    return found


@dataclass(frozen=True)
class ResolvedCodebook:
    """A codebook with everything it extends merged in, ready for suggestion."""

    name: str
    parts: tuple[Codebook, ...]
    codes: tuple[Code, ...]
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        payload = json.dumps([p.model_dump() for p in self.parts], sort_keys=True, ensure_ascii=False)
        object.__setattr__(self, "digest", hashlib.sha256(payload.encode()).hexdigest()[:16])

    # Cached: both are read per code while building an index; the dataclass is frozen, so they never go stale.
    @cached_property
    def by_id(self) -> dict[str, Code]:
        return {c.id: c for c in self.codes}

    @cached_property
    def leaves(self) -> list[Code]:
        """Codes with no children: the ones a sentence can be coded with."""
        parents = {c.parent for c in self.codes if c.parent}
        return [c for c in self.codes if c.id not in parents]

    @cached_property
    def background(self) -> list[Exemplar]:
        """Every part's background sentences: the 'no technique' side that codes compete with."""
        return [b for part in self.parts for b in part.background]

    def group_of(self, code: Code) -> Code | None:
        return self.by_id.get(code.parent) if code.parent else None

    @property
    def version(self) -> str:
        return "+".join(f"{p.name}@{p.version}" for p in self.parts)

    def content(self) -> list[dict]:
        """Every part, as plain data, for storing beside the suggestions it made."""
        return [p.model_dump() for p in self.parts]


class SupplementCode(BaseModel):
    """What a supplement adds to one code of the codebook it supplements."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    source_definitions: list[Exemplar] = Field(default_factory=list)
    exemplars: list[Exemplar] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return code_id_as_text(value)


class Supplement(BaseModel):
    """Text for another codebook's codes (published definitions and quotes; coded interview sentences) and
    background, in a file of its own so that it keeps its own licence and the service can run without it."""

    model_config = ConfigDict(extra="forbid")

    supplements: str = Field(pattern=NAME_PATTERN)
    # The other codebooks it holds only in combination with, and with no others that bring codes: sentences
    # coded against BCTTv1 and the relational codes together say "no code" or "3.2 alone" of exactly that.
    requires: list[str] = Field(default_factory=list)
    title: str = ""
    attribution: str
    licence: str
    codes: list[SupplementCode] = Field(default_factory=list)
    background: list[Exemplar] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_content(self) -> "Supplement":
        if not self.codes and not self.background:
            raise ValueError("a supplement needs codes or background")
        return self

    def apply(self, book: Codebook) -> Codebook:
        """`book` with this supplement's definitions and quotes added to its codes; unknown ids are an error."""
        additions = {c.id: c for c in self.codes}
        unknown = sorted(set(additions) - {c.id for c in book.codes})
        if unknown:
            raise ValueError(f"supplement for {book.name} names codes it does not have: {', '.join(unknown)}")
        codes = []
        for code in book.codes:
            extra = additions.get(code.id)
            if extra is not None:
                code = code.model_copy(update={
                    "source_definitions": [*code.source_definitions, *extra.source_definitions],
                    "exemplars": [*extra.exemplars, *code.exemplars]})
            codes.append(code)
        note = f"{self.title or 'Supplement'}: {self.attribution} Licence: {self.licence}"
        attribution = f"{book.attribution} {note}".strip()
        return book.model_copy(update={"codes": codes, "attribution": attribution,
                                       "background": [*book.background, *self.background]})
