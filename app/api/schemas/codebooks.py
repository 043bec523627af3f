"""Bodies of /codebooks (app/api/routes/codebooks.py): the codebooks listed, one read, one uploaded."""

from typing import Literal

from pydantic import BaseModel, Field


class CodebookSummary(BaseModel):
    name: str
    title: str
    version: str
    origin: Literal["builtin", "upload"]
    extends: list[str]
    codes: int
    leaves: int


class CodebookPart(BaseModel):
    name: str
    title: str
    version: str
    attribution: str
    licence: str


class CodebookOut(BaseModel):
    name: str
    version: str
    digest: str
    parts: list[CodebookPart]
    codes: list[dict] = Field(description="every code: id, label, parent, definition, synonyms, exemplars")
    leaves: list[str] = Field(description="ids of the codes that are suggested (codes with no children)")
    background: list[dict] = Field(default_factory=list, description="ordinary talk that carries no code (text, "
                                   "source): it competes with the codes, and the gate learns 'no code' from it")
    background_borrowed: bool = Field(False, description="true where the codebook brings no background and "
                                      "borrows interview-talk's (its sentences are not listed here)")


class CodebookUploaded(BaseModel):
    name: str
    version: str
    digest: str
    codes: int
    leaves: int
    created: bool
