"""The codebook catalogue: built-in codebooks from taxonomy files, plus what users upload."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app import validation
from app.config import Settings
from app.db import store
from app.engine.code_index import encoded_texts
from app.errors import Conflict, InvalidInput, NotFound
from taxonomy import Codebook, CodebookError, ResolvedCodebook, load_builtin, parse_codebook, resolve
from taxonomy.loader import MAX_NODES, RESERVED_NAMES, load_interview_set
from taxonomy.schema import overlong_texts


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    version: str
    origin: str  # "builtin" or "upload"
    extends: list[str]
    codes: int
    leaves: int


class CodebookCatalog:
    """Finds codebooks by name; an uploaded codebook never replaces a built-in one.

    An upload is validated once, when it is stored; reads look up the newest upload's digest and take the
    parsed codebook from a cache by digest (content-addressed, so it is never stale), loading and parsing the
    stored content only the first time this process meets that digest."""

    def __init__(self, taxonomy_dir: Path, max_nodes: int = MAX_NODES, *, third_party: bool = True,
                 interview_examples: bool = True, max_texts: int = 10_000):
        self.max_nodes = max_nodes
        self.max_texts = max_texts
        self._sizes: dict[str, int] = {}  # digest -> texts its index encodes
        self._parsed: dict[str, Codebook] = {}  # digest -> uploaded codebook, validated
        # A broken built-in codebook (or supplement) should stop start-up loudly.
        self.builtin: dict[str, Codebook] = load_builtin(taxonomy_dir, third_party=third_party)
        self.supplements = load_interview_set(taxonomy_dir, self.builtin) if interview_examples else []

    @classmethod
    def from_settings(cls, settings: Settings) -> "CodebookCatalog":
        return cls(settings.taxonomy_dir, settings.max_codebook_nodes, third_party=settings.third_party_text,
                   interview_examples=settings.interview_examples, max_texts=settings.max_codebook_texts)

    def _lookup(self, session: Session):
        def lookup(name: str) -> Codebook | None:
            if name in self.builtin:
                return self.builtin[name]
            latest = store.latest_uploaded_digest(session, name=name)
            if latest is None:
                return None
            row_id, digest = latest
            if digest not in self._parsed:
                self._parsed[digest] = Codebook.model_validate(store.uploaded_codebook(session, row_id=row_id).content)
            return self._parsed[digest]

        return lookup

    def resolve(self, session: Session, name: str, *, to_encode: bool = True) -> ResolvedCodebook:
        """The named codebook ('a' or 'a+b'), with everything it extends merged in. `to_encode`: it is about to
        code sentences, so its index may be built; reading it (listing, showing, exporting, reports) is not."""
        try:
            book = resolve(name, self._lookup(session), self.supplements)
        except CodebookError as exc:
            if exc.message.startswith("unknown codebook"):
                known = ", ".join(self.names(session))
                raise NotFound(f"{exc.message}; known codebooks: {known}") from None
            raise InvalidInput(exc.message, exc.problems) from None
        if to_encode:
            self._check_size(book)
        return book

    def _check_size(self, book: ResolvedCodebook) -> None:
        """Refuse a codebook, or a combination, whose index would encode more than max_texts texts: checked on
        upload and again whenever a name is resolved, as `a+b` or a newer version of what an upload extends
        can grow past what each upload was checked at. Counted once per digest; built-in codebooks alone are
        trusted (the project ships them)."""
        if all(part.name in self.builtin for part in book.parts):
            return
        count = self._sizes.get(book.digest)
        if count is None:
            count = self._sizes[book.digest] = encoded_texts(book)
        if count > self.max_texts:
            raise InvalidInput(f"{book.name} would have {count} texts to encode (definition lines, quotes and the "
                               "sentences of longer quotes, counterexamples, background) with what it extends, "
                               f"more than the {self.max_texts} a codebook may have (AUTOCODER_MAX_CODEBOOK_TEXTS)")

    def forget_parsed(self) -> None:
        """Drop the parsed uploads: a transcript's deletion took its sentences out of stored codebooks."""
        self._parsed.clear()

    def names(self, session: Session) -> list[str]:
        return sorted(set(self.builtin) | set(store.uploaded_codebook_names(session)))

    def entries(self, session: Session) -> list[CatalogEntry]:
        lookup = self._lookup(session)
        out = []
        for name in self.names(session):
            book = lookup(name)
            resolved = self.resolve(session, name, to_encode=False)
            out.append(CatalogEntry(name, book.title, book.version,
                                    "builtin" if name in self.builtin else "upload",
                                    book.extends, len(resolved.codes), len(resolved.leaves)))
        return out

    def upload(self, session: Session, text: str) -> tuple[ResolvedCodebook, bool]:
        """Validate and store a codebook; returns it resolved and whether it was new."""
        try:
            book = parse_codebook(text, source="uploaded codebook", max_nodes=self.max_nodes)
            validation.check_value(book.model_dump(), "codebook")
        except CodebookError as exc:
            raise InvalidInput(exc.message, exc.problems) from None
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if too_long := overlong_texts(book):
            raise InvalidInput(f"{book.name}: {len(too_long)} texts are too long to encode; shorten them",
                               too_long[:20])
        if book.name in self.builtin:
            raise Conflict(f"{book.name!r} is a built-in codebook; upload yours under another name "
                           f"(it can extend {book.name!r})")
        if book.name in RESERVED_NAMES:
            raise Conflict(f"{book.name!r} names the built-in codebooks' own supplements; upload yours under "
                           "another name")
        lookup = self._lookup(session)
        try:
            resolved = resolve(book.name, lambda n: book if n == book.name else lookup(n), self.supplements)
        except CodebookError as exc:
            raise InvalidInput(exc.message, exc.problems) from None
        self._check_size(resolved)
        own_digest = ResolvedCodebook(book.name, (book,), tuple(book.codes)).digest
        latest = store.latest_uploaded_codebook(session, name=book.name)
        if latest is not None and latest.digest == own_digest:
            return resolved, False
        store.add_uploaded_codebook(session, name=book.name, version=book.version, digest=own_digest,
                                    content=book.model_dump())
        self._parsed[own_digest] = book
        return resolved, True
