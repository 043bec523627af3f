"""The shape of a codebook: codes with ids, labels, an optional parent, definitions and exemplars."""

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


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

    @field_validator("id", "parent", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be text, not true/false")
        if isinstance(value, float):
            # YAML reads 10.10 as the number 10.1: converting it back would merge two different codes.
            raise ValueError(f"{value!r} was read as a number; quote ids in YAML ('{value}') so that "
                             "10.10 and 10.1 stay different codes")
        return str(value) if isinstance(value, int) else value

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
    codes: list[Code] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique(self) -> "Codebook":
        seen: set[str] = set()
        duplicates = sorted({c.id for c in self.codes if c.id in seen or seen.add(c.id)})
        if duplicates:
            raise ValueError(f"duplicate code ids: {', '.join(duplicates)}")
        return self


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

    def group_of(self, code: Code) -> Code | None:
        return self.by_id.get(code.parent) if code.parent else None

    @property
    def version(self) -> str:
        return "+".join(f"{p.name}@{p.version}" for p in self.parts)

    def content(self) -> list[dict]:
        """Every part, as plain data, for storing beside the suggestions it made."""
        return [p.model_dump() for p in self.parts]
