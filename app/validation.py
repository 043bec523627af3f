"""One check for text and JSON-like input before anything is stored: well-formed Unicode (no lone
surrogates, which JSON's "\\ud800" escapes can carry but no database or response can), no NUL characters,
bounded nesting, finite numbers and integers a database column holds. The API's request models and the
services that take input from files both use it; it raises ValueError naming where the problem is."""

import math

MAX_DEPTH = 16  # lists and objects inside one another (the API's own bodies need 4)
MAX_INT = 2**63 - 1  # the largest id or count a BIGINT column (SQLite INTEGER, PostgreSQL bigint) holds


def check_text(value: str, where: str) -> str:
    """`value` if it is well-formed Unicode without NUL characters, else ValueError naming `where`."""
    if "\x00" in value:
        raise ValueError(f"{where} contains a NUL character (binary content, not text)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{where} is not well-formed Unicode (a lone surrogate at character {exc.start})") \
                from None
    return value


def check_value(value: object, where: str = "body", depth: int = 0) -> object:
    """Walk JSON-like data (dicts, lists, strings, numbers): every string and key passes check_text, nesting
    stays within MAX_DEPTH, numbers are finite and integers within 64 bits. Returns `value` unchanged."""
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ValueError(f"{where} is out of range (a 64-bit integer)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is not a finite number")
    elif isinstance(value, dict | list | tuple):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where} is nested more than {MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            name = _printable(str(key)[:40])
            if isinstance(key, str):
                check_text(key, f"{where} key '{name}'")
            check_value(item, f"{where}.{name}" if isinstance(value, dict) else f"{where}[{key}]", depth + 1)
    return value


def _printable(text: str) -> str:
    """Text safe to put in an error message: lone surrogates and NUL as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
