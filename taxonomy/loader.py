"""Parse, validate and combine codebooks, with errors a codebook author can act on."""

from collections.abc import Callable, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from taxonomy.schema import Codebook, ResolvedCodebook, Supplement


class CodebookError(ValueError):
    """A codebook that cannot be used, with every problem found (location and message)."""

    def __init__(self, message: str, problems: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message] + [f"  {p['loc']}: {p['msg']}" for p in self.problems]
        return "\n".join(lines)


def _location(loc: tuple, data: object) -> str:
    """Turn pydantic's ('codes', 3, 'label') into 'codes[3] (id 1.4).label'."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and "id" in node:
                out += f" (id {node['id']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "codebook"


MAX_NODES = 200_000  # values in a codebook once YAML aliases are expanded (BCTTv1 with exemplars: ~3,000)
MAX_DEPTH = 16


def _check_size(data: object, source: str, max_nodes: int) -> None:
    """Refuse data that YAML aliases (&a ... *a) expand past max_nodes values, or nested past MAX_DEPTH:
    aliases share objects while parsing, but every copy is stored and validated, so 58 KB can become 96 MB."""
    count, stack = 0, [(data, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > max_nodes:
            raise CodebookError(f"{source} expands to more than {max_nodes} values (YAML aliases repeat their "
                                "content); write the content out, or split the codebook")
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise CodebookError(f"{source} is nested more than {MAX_DEPTH} levels deep")
            items = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
            stack.extend((item, depth + 1) for item in items)


def parse_codebook(text: str, *, source: str = "codebook", max_nodes: int = MAX_NODES) -> Codebook:
    """Parse YAML or JSON text (JSON is a subset of YAML) into a validated Codebook."""
    return _parse(text, source, Codebook, max_nodes)


def _parse(text: str, source: str, model: type[Codebook] | type[Supplement], max_nodes: int = MAX_NODES):
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CodebookError(f"{source} is not valid YAML or JSON{where}: {problem}") from None
    except RecursionError:
        raise CodebookError(f"{source} is nested too deeply") from None
    except ValueError as exc:  # PyYAML converting a number of thousands of digits (Python's conversion limit)
        if "digits" not in str(exc):
            raise
        raise CodebookError(f"{source} has a number with too many digits (quote it if it is text)") from None
    _check_size(data, source, max_nodes)
    if not isinstance(data, dict):
        raise CodebookError(f"{source} must be a mapping with 'name' and 'codes', not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"loc": _location(err["loc"], data), "msg": err["msg"].removeprefix("Value error, ")}
            for err in exc.errors()
        ]
        raise CodebookError(f"{source} does not follow the codebook schema", problems) from None


def load_codebook_file(path: Path) -> Codebook:
    """Read and validate one codebook file."""
    return parse_codebook(path.read_text(encoding="utf-8"), source=path.name)


# Third-party text (published definitions and quotes under their own licences) lives in supplement files here,
# beside the built-in codebooks; AUTOCODER_THIRD_PARTY_TEXT=false runs without them.
THIRD_PARTY_DIR = "third-party"
# Sentences of the project's own interview set (CC0), coded against BCTTv1 with the relational codes: exemplars
# of their codes and, with no code, background, added where a codebook's codes are those two's exactly (resolve;
# training/interview_examples.py writes them, docs/evaluation.md says what they are worth);
# AUTOCODER_INTERVIEW_EXAMPLES=false runs without them.
INTERVIEW_SET_DIR = "interview-set"
RESERVED_NAMES = frozenset({THIRD_PARTY_DIR, INTERVIEW_SET_DIR})  # no codebook may be named as a supplement folder


def load_builtin(taxonomy_dir: Path, *, third_party: bool = True) -> dict[str, Codebook]:
    """The built-in codebooks by name, with the third-party supplements applied unless `third_party` is off."""
    books = {b.name: b for b in map(load_codebook_file, sorted(taxonomy_dir.glob("*.yaml")))}
    for supplement in load_supplements(taxonomy_dir / THIRD_PARTY_DIR, books) if third_party else []:
        books[supplement.supplements] = _apply(supplement, books[supplement.supplements])
    return books


def load_supplements(folder: Path, books: dict[str, Codebook]) -> list[Supplement]:
    """The supplement files of a folder, checked against the codebooks they add to."""
    out = []
    for path in sorted(folder.glob("*.yaml")):
        supplement = _parse(path.read_text(encoding="utf-8"), path.name, Supplement)
        unknown = [n for n in [supplement.supplements, *supplement.requires] if n not in books]
        if unknown:
            raise CodebookError(f"{path.name} names unknown codebook {unknown[0]!r}")
        _apply(supplement, books[supplement.supplements], path.name)  # unknown code ids fail now, not on use
        out.append(supplement)
    return out


def load_interview_set(taxonomy_dir: Path, books: dict[str, Codebook]) -> list[Supplement]:
    """The interview set's supplements (resolve adds them where a combination holds what they require)."""
    return load_supplements(taxonomy_dir / INTERVIEW_SET_DIR, books)


def _apply(supplement: Supplement, book: Codebook, source: str = "supplement") -> Codebook:
    try:
        return supplement.apply(book)
    except ValueError as exc:
        raise CodebookError(f"{source}: {exc}") from None


def resolve(name: str, lookup: Callable[[str], Codebook | None], supplements: Sequence[Supplement] = ()
            ) -> ResolvedCodebook:
    """Combine 'a+b' and every codebook they extend into one, checking ids and parents across them.
    `supplements` are added to their codebooks where the combination holds every codebook they require."""
    order: list[Codebook] = []
    visiting: list[str] = []

    def visit(part: str) -> None:
        if any(p.name == part for p in order):
            return
        if part in visiting:
            raise CodebookError(f"codebook {part!r} extends itself through {' -> '.join(visiting)}")
        book = lookup(part)
        if book is None:
            raise CodebookError(f"unknown codebook {part!r}")
        visiting.append(part)
        for base in book.extends:
            visit(base)
        visiting.pop()
        order.append(book)

    parts = [p.strip() for p in name.split("+")]
    if not all(parts):
        raise CodebookError(f"codebook name {name!r} has an empty part")
    for part in parts:
        visit(part)
    # A supplement holds where the combination's codes are exactly those of the codebooks it names: a third
    # codebook's codes (or a team's own, in an upload) were not coded against, so "no code" would not hold.
    coded = {book.name for book in order if book.codes}
    for supplement in supplements:
        if coded == {supplement.supplements, *supplement.requires}:
            at = next(i for i, book in enumerate(order) if book.name == supplement.supplements)
            order[at] = _apply(supplement, order[at])

    problems: list[dict[str, str]] = []
    owner: dict[str, str] = {}
    for book in order:
        for code in book.codes:
            if code.id in owner:
                problems.append({"loc": f"{book.name}: {code.id}", "msg": f"id already used in {owner[code.id]}"})
            owner.setdefault(code.id, book.name)
    for book in order:
        for code in book.codes:
            if code.parent and code.parent not in owner:
                problems.append({"loc": f"{book.name}: {code.id}", "msg": f"unknown parent {code.parent!r}"})
    parent_of = {code.id: code.parent for book in order for code in book.codes}
    for code_id in parent_of:
        seen, node = {code_id}, parent_of[code_id]
        while node in parent_of and node not in seen:
            seen.add(node)
            node = parent_of[node]
        if node == code_id:
            problems.append({"loc": code_id, "msg": "is its own ancestor (parent cycle)"})
    if problems:
        raise CodebookError(f"codebook {name!r} cannot be combined", problems)
    codes = tuple(code for book in order for code in book.codes)
    return ResolvedCodebook(name=name, parts=tuple(order), codes=codes)


def resolve_spec(spec: str, builtin_dir: Path, *, third_party: bool = True, interview_examples: bool = True
                 ) -> ResolvedCodebook:
    """Resolve 'a+b' where each part is a built-in codebook name or a path to a codebook file.

    For the command line: a file may extend built-in codebooks, and a file's own name is what it extends by.
    """
    books = load_builtin(builtin_dir, third_party=third_party)
    extra = load_interview_set(builtin_dir, books) if interview_examples else []
    names: list[str] = []
    for part in (p.strip() for p in spec.split("+")):
        path = Path(part)
        if part and path.suffix.lower() in {".yaml", ".yml", ".json"}:
            if not path.is_file():
                raise CodebookError(f"codebook file {part} does not exist")
            book = load_codebook_file(path)
            books[book.name] = book
            names.append(book.name)
        else:
            names.append(part)
    return resolve("+".join(names), books.get, extra)
