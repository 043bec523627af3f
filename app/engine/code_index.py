"""The vectors a codebook is matched against: one per definition, one per exemplar and exemplar sentence.

Built once per (codebook digest, embedding model) and cached in memory and on disk, so a codebook is
never re-encoded for every transcript.
"""

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.engine.embed import Embedder
from app.engine.segment import sentencizer
from taxonomy import Code, ResolvedCodebook

DEFINITION, EXEMPLAR = "definition", "exemplar"
# Bumped whenever evidence_units() changes what it encodes, so stale disk caches are not reused.
INDEX_FORMAT = 1


@dataclass(frozen=True)
class EvidenceUnit:
    """A piece of codebook text a sentence can match: what a coder is shown as the reason."""

    code: int  # index into CodeIndex.codes
    kind: str  # DEFINITION or EXEMPLAR
    text: str
    source: str


@dataclass(frozen=True)
class CodeIndex:
    codebook_name: str
    codebook_digest: str
    codebook_version: str
    model_id: str
    codes: tuple[Code, ...]  # the leaves, in codebook order
    groups: tuple[str | None, ...]  # each leaf's parent label
    units: tuple[EvidenceUnit, ...]
    vectors: np.ndarray  # one unit-length row per unit


def definition_text(code: Code) -> str:
    """What a code's definition vector encodes: its label, synonyms and definition in one line."""
    head = code.label + (f" ({', '.join(code.synonyms)})" if code.synonyms else "")
    return f"{head}: {code.definition}" if code.definition else head


def evidence_units(codebook: ResolvedCodebook) -> list[EvidenceUnit]:
    """Each leaf's definition, each exemplar whole, and each sentence of a multi-sentence exemplar."""
    nlp = sentencizer()
    units: list[EvidenceUnit] = []
    for i, code in enumerate(codebook.leaves):
        units.append(EvidenceUnit(i, DEFINITION, definition_text(code), "codebook definition"))
        for ex in code.exemplars:
            units.append(EvidenceUnit(i, EXEMPLAR, ex.text, ex.source))
            sentences = [s.text.strip() for s in nlp(ex.text).sents if len(s.text.split()) >= 4]
            if len(sentences) > 1:
                units += [EvidenceUnit(i, EXEMPLAR, s, ex.source) for s in sentences]
    return units


class CodeIndexCache:
    """Memory and disk cache of code indexes, keyed by codebook digest and model id."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None):
        self.embedder = embedder
        self.cache_dir = cache_dir
        self._memory: dict[tuple[str, str], CodeIndex] = {}
        # Vectors by text: a new version of a codebook only encodes the definitions and exemplars that changed.
        self._by_text: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, codebook: ResolvedCodebook) -> CodeIndex:
        key = (codebook.digest, self.embedder.model_id)
        with self._lock:
            if key not in self._memory:
                self._memory[key] = self._build(codebook)
            return self._memory[key]

    def _build(self, codebook: ResolvedCodebook) -> CodeIndex:
        units = evidence_units(codebook)
        vectors = self._load(codebook.digest, len(units))
        if vectors is None:
            missing = list(dict.fromkeys(u.text for u in units if u.text not in self._by_text))
            self._by_text.update(zip(missing, self.embedder.encode(missing), strict=True))
            vectors = np.stack([self._by_text[u.text] for u in units])
            self._save(codebook.digest, vectors)
        else:
            self._by_text.update(zip((u.text for u in units), vectors, strict=True))
        leaves = codebook.leaves
        groups = tuple(g.label if (g := codebook.group_of(c)) else None for c in leaves)
        return CodeIndex(codebook.name, codebook.digest, codebook.version, self.embedder.model_id,
                         tuple(leaves), groups, tuple(units), vectors)

    def _path(self, digest: str) -> Path | None:
        if self.cache_dir is None:
            return None
        safe_model = self.embedder.model_id.replace("/", "_").replace("@", "-")
        return self.cache_dir / safe_model / f"{digest}-v{INDEX_FORMAT}.npy"

    def _load(self, digest: str, rows: int) -> np.ndarray | None:
        path = self._path(digest)
        if path is None or not path.exists():
            return None
        try:
            vectors = np.load(path)
        except (OSError, ValueError):
            return None  # a damaged cache file is rebuilt, never trusted
        return vectors if vectors.shape == (rows, self.embedder.dimension) else None

    def _save(self, digest: str, vectors: np.ndarray) -> None:
        path = self._path(digest)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
