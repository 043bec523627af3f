"""Codebooks as data: the schema they follow and the loader that validates and combines them."""

from taxonomy.loader import CodebookError, load_builtin, load_codebook_file, parse_codebook, resolve, resolve_spec
from taxonomy.schema import Code, Codebook, Exemplar, ResolvedCodebook, code_order

__all__ = [
    "Code",
    "Codebook",
    "CodebookError",
    "Exemplar",
    "ResolvedCodebook",
    "load_builtin",
    "load_codebook_file",
    "parse_codebook",
    "resolve",
    "resolve_spec",
    "code_order",
]
