"""The vectors a codebook is matched against: one per definition, one per exemplar and exemplar sentence.

Built once per (codebook digest, embedding model) and cached in memory and on disk, so a codebook is
never re-encoded for every transcript.
"""

import dataclasses
import functools
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.engine import gate
from app.engine.embed import Embedder
from app.engine.segment import sentencizer
from taxonomy import Code, ResolvedCodebook

DEFINITION, EXEMPLAR, COUNTEREXAMPLE, BACKGROUND = "definition", "exemplar", "counterexample", "background"
CONFIRMED = "confirmed"  # a sentence a coder confirmed (app/services/confirmed.py), not codebook text
# Bumped whenever what an index encodes changes (evidence units, counterexamples, background), so stale disk
# caches are not reused; MODEL_FORMAT likewise for what is fitted on them (app/engine/gate.py).
INDEX_FORMAT = 2
ENCODE_CHUNK = 256  # codebook texts per encoder call
MODEL_FORMAT = 3  # 3: an exemplar coded twice is hidden under both codes when the gate scores it
# A piece of an exemplar counts as evidence on its own only with at least this many words and content words:
# fragments such as "Someone to look up to." or "It was kind of that." match filler ("It was, yeah.") as well
# as they match the technique. They still count inside the whole exemplar they come from.
MIN_UNIT_WORDS = 5
MIN_CONTENT_WORDS = 2
# Words that carry no technique although they are not grammatical stop words: the fillers of spoken answers.
FILLERS = frozenset([
    "yeah", "yes", "yep", "no", "nope", "okay", "ok", "mm", "mhm", "um", "er", "erm", "uh", "oh", "ah", "like",
    "sort", "kind", "know", "mean", "think", "thing", "things", "stuff", "really", "just", "right", "well", "lot",
    "bit", "way", "got", "get", "going", "actually", "guess", "suppose", "quite", "pretty",
])


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
    units: tuple[EvidenceUnit, ...]  # definitions and exemplars, grouped by code in code order
    vectors: np.ndarray  # one unit-length row per unit
    counter_units: tuple[EvidenceUnit, ...] = ()  # counterexamples: lower their code's score when closer
    counter_vectors: np.ndarray | None = None
    background_vectors: np.ndarray | None = None  # ordinary talk: what a code must beat to be suggested
    # Fitted on the units and background above (app/engine/gate.py); None without a background to fit a gate on.
    model: gate.CodebookModel | None = None

    @functools.cached_property
    def slices(self) -> list[tuple[int, int]]:
        """(start, end) rows of each code's evidence; units are stored grouped by code, in code order."""
        return code_slices(self.units)


def code_slices(units: tuple[EvidenceUnit, ...] | list[EvidenceUnit]) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    for row, unit in enumerate(units):
        if unit.code == len(bounds):
            bounds.append((row, row + 1))
        else:
            bounds[-1] = (bounds[-1][0], row + 1)
    return bounds


def definition_text(code: Code) -> str:
    """What a code's definition vector encodes: its label, synonyms and definition in one line."""
    head = code.label + (f" ({', '.join(code.synonyms)})" if code.synonyms else "")
    return f"{head}: {code.definition}" if code.definition else head


def stands_alone(text: str) -> bool:
    """Whether a piece of text says enough to be evidence on its own (see MIN_UNIT_WORDS)."""
    words = [w.strip(".,;:!?'\"()[]…-–—").casefold() for w in text.split()]
    content = [w for w in words if w.isalpha() and w not in FILLERS and w not in _stop_words()]
    return len(words) >= MIN_UNIT_WORDS and len(content) >= MIN_CONTENT_WORDS


@functools.cache
def _stop_words() -> frozenset[str]:
    return frozenset(sentencizer().Defaults.stop_words)


def evidence_units(codebook: ResolvedCodebook, *, filter_units: bool = True) -> list[EvidenceUnit]:
    """Each leaf's definition(s), each exemplar whole, and each sentence of a multi-sentence exemplar that
    stands alone (all of them without `filter_units`, for comparison in bench/)."""
    nlp = sentencizer()
    keep = stands_alone if filter_units else (lambda text: len(text.split()) >= 4)
    units: list[EvidenceUnit] = []
    for i, code in enumerate(codebook.leaves):
        units.append(EvidenceUnit(i, DEFINITION, definition_text(code), "codebook definition"))
        units += [EvidenceUnit(i, DEFINITION, d.text, d.source) for d in code.source_definitions]
        for ex in code.exemplars:
            if not filter_units or keep(ex.text):
                units.append(EvidenceUnit(i, EXEMPLAR, ex.text, ex.source))
            sentences = [s.text.strip() for s in nlp(ex.text).sents]
            if len(sentences) > 1:
                units += [EvidenceUnit(i, EXEMPLAR, s, ex.source) for s in sentences if keep(s)]
    return units


def encoded_texts(codebook: ResolvedCodebook) -> int:
    """Texts its index encodes beyond any it borrows: definition lines, quotes and the sentences of longer
    quotes that stand alone, counterexamples and its own background (what AUTOCODER_MAX_CODEBOOK_TEXTS bounds)."""
    return len(evidence_units(codebook)) + len(counter_units(codebook)) + len(codebook.background)


def counter_units(codebook: ResolvedCodebook) -> list[EvidenceUnit]:
    return [EvidenceUnit(i, COUNTEREXAMPLE, ex.text, ex.source)
            for i, code in enumerate(codebook.leaves) for ex in code.counterexamples]


def background_units(codebook: ResolvedCodebook) -> list[EvidenceUnit]:
    """The codebook's background of ordinary talk; for a codebook that brings none, the project's own
    (interview-talk): the gate learns what a technique is against it. On the public counselling set, whose
    codebook has no background, it took the bundled encoder from 0.62 to 0.66 top-1 and 0.47 to 0.55 macro
    F1, and kept EmbeddingGemma from suggesting a code for every utterance (docs/evaluation.md)."""
    own = codebook.background
    return [EvidenceUnit(-1, BACKGROUND, b.text, b.source) for b in (own or default_background())]


@functools.cache
def default_background() -> tuple:
    from taxonomy import load_builtin

    return tuple(load_builtin(Path(__file__).resolve().parents[2] / "taxonomy" / "codebooks",
                              third_party=False)["interview-talk"].background)


class CodeIndexCache:
    """Memory and disk cache of code indexes, keyed by codebook digest and model id."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None, *, filter_units: bool = True):
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.filter_units = filter_units  # off only to measure what the filter is worth (bench/)
        self._memory: dict[tuple[str, str], CodeIndex] = {}
        # Vectors by text: a new version of a codebook only encodes the definitions and exemplars that changed.
        self._by_text: dict[str, np.ndarray] = {}
        # One lock for the maps above, held only to read or write them; one per codebook being built, so that a
        # team's large new codebook (minutes to encode) never holds up suggestions from the ones already built.
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}
        self._generation = 0  # moved on by forget: a build that began before it keeps nothing it encoded

    def get(self, codebook: ResolvedCodebook) -> CodeIndex:
        key = (codebook.digest, self.embedder.model_id)
        with self._lock:
            if key in self._memory:
                return self._memory[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build of a codebook at a time; a second caller waits for it and takes its result
            with self._lock:
                if key in self._memory:
                    return self._memory[key]
                generation = self._generation
            index = self._build(codebook, generation)
            with self._lock:
                if self._generation == generation:
                    self._memory[key] = index
                self._building.pop(key, None)
            return index

    def forget(self, texts: list[str]) -> None:
        """Drop these texts' vectors and every built index (they may hold them as evidence); rebuilt on use."""
        with self._lock:
            for text in texts:
                self._by_text.pop(text, None)
            self._memory.clear()
            self._generation += 1

    def _build(self, codebook: ResolvedCodebook, generation: int) -> CodeIndex:
        units = evidence_units(codebook, filter_units=self.filter_units)
        counters, background = counter_units(codebook), background_units(codebook)
        every = units + counters + background
        key = self._key(codebook)
        vectors = self._load(key, len(every))
        if vectors is None:
            with self._lock:
                known = {u.text: self._by_text[u.text] for u in every if u.text in self._by_text}
            missing = list(dict.fromkeys(u.text for u in every if u.text not in known))
            known.update(zip(missing, self._encode(missing), strict=True))
            vectors = np.stack([known[u.text] for u in every])
            self._save(key, vectors)
        else:
            known = dict(zip((u.text for u in every), vectors, strict=True))
        with self._lock:
            if self._generation == generation:
                self._by_text.update(known)
        leaves = codebook.leaves
        groups = tuple(g.label if (g := codebook.group_of(c)) else None for c in leaves)
        a, b = len(units), len(units) + len(counters)
        index = CodeIndex(codebook.name, codebook.digest, codebook.version, self.embedder.model_id,
                          tuple(leaves), groups, tuple(units), vectors[:a], tuple(counters),
                          vectors[a:b] if counters else None, vectors[b:] if background else None)
        model = self._model(key, index, background)
        temperature = getattr(self.embedder, "code_temperature", None)  # None: a model of a user's own
        if model is not None and temperature:
            model = dataclasses.replace(model, temperature=temperature)
        return dataclasses.replace(index, model=model)

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        """In chunks: the process encodes one call at a time (services.coding.SerialEmbedder), so a sentence
        to suggest for waits for one chunk of a large codebook, not for all of it."""
        chunks = (self.embedder.encode(texts[i:i + ENCODE_CHUNK]) for i in range(0, len(texts), ENCODE_CHUNK))
        return [row for chunk in chunks for row in chunk]

    def _model(self, digest: str, index: CodeIndex, background: list[EvidenceUnit]) -> gate.CodebookModel | None:
        """The codebook's classifier and gate: from the disk cache, else fitted now (about a second)."""
        path = self._path(digest)
        cached = path.with_name(path.name.replace(".npy", f"-model{MODEL_FORMAT}.npz")) if path else None
        if cached is not None and cached.exists():
            try:
                with np.load(cached, allow_pickle=False) as data:
                    if data["coef"].shape == (len(index.codes), index.vectors.shape[1]):
                        return gate.CodebookModel.from_arrays(data)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is refitted, never trusted
        model = fit_model(index, background)
        if model is not None and cached is not None:
            tmp = cached.with_suffix(".tmp.npz")
            np.savez(tmp, **model.arrays())
            tmp.replace(cached)
        return model

    def _path(self, digest: str) -> Path | None:
        if self.cache_dir is None:
            return None
        safe_model = self.embedder.model_id.replace("/", "_").replace("@", "-")
        unfiltered = "" if self.filter_units else "-all-pieces"
        return self.cache_dir / safe_model / f"{digest}-v{INDEX_FORMAT}{unfiltered}.npy"

    def _key(self, codebook: ResolvedCodebook) -> str:
        """The cache key: the codebook's digest, and the default background's when it borrows that one."""
        if codebook.background:
            return codebook.digest
        texts = "\n".join(b.text for b in default_background())
        return f"{codebook.digest}-bg{hashlib.sha256(texts.encode()).hexdigest()[:8]}"

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


def fit_model(index: CodeIndex, background: list[EvidenceUnit]) -> gate.CodebookModel | None:
    """Fit the gate and the codebook classifier on an index's own units (app/engine/gate.py)."""
    if index.background_vectors is None:
        return None
    return gate.fit(*fit_inputs(index, background))


def fit_inputs(index: CodeIndex, background: list[EvidenceUnit]) -> tuple:
    """gate.fit's arguments for an index with a background: its units, which are exemplars, and for each
    exemplar the units it must not meet when scored as a new sentence."""
    units = index.units
    exemplar = np.array([u.kind == EXEMPLAR for u in units])
    rows = np.flatnonzero(exemplar)
    # A sentence coded with two codes is an exemplar of each: scoring it as a new sentence hides every copy.
    codes_of: dict[str, set[int]] = {}
    for u in units:
        if u.kind == EXEMPLAR:
            codes_of.setdefault(u.text, set()).add(u.code)
    same = np.zeros((len(rows), len(units)), dtype=bool)
    for r, i in enumerate(rows):
        text = units[i].text
        for code in codes_of[text]:
            start, end = index.slices[code]
            for j in range(start, end):  # a piece of the same exemplar, or the exemplar it was cut from
                if units[j].kind == EXEMPLAR and (units[j].text in text or text in units[j].text):
                    same[r, j] = True
    return (index.vectors, np.array([u.code for u in units]), [u.text for u in units], exemplar, same,
            index.slices, index.background_vectors, [u.text for u in background])
