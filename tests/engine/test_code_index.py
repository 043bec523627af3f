"""Codebook vectors are computed once per (codebook, model) and reused, in memory and from disk."""

from app.config import Settings
from app.engine.code_index import CodeIndexCache, background_units, counter_units, evidence_units
from taxonomy import Codebook, load_builtin, resolve


class CountingEmbedder:
    """The real embedder, counting how many texts it is asked to encode."""

    def __init__(self, embedder):
        self.inner, self.texts = embedder, 0
        self.model_id, self.dimension = embedder.model_id, embedder.dimension

    def encode(self, texts):
        self.texts += len(texts)
        return self.inner.encode(texts)


BUILTIN = load_builtin(Settings().taxonomy_dir)


def relational():
    book = BUILTIN["relational-aspects"]
    return book, resolve(book.name, BUILTIN.get)


def encoded(codebook) -> int:
    """Pieces an index encodes: evidence, counterexamples and the background of ordinary talk."""
    return len(evidence_units(codebook)) + len(counter_units(codebook)) + len(background_units(codebook))


def test_vectors_are_encoded_once_then_read_from_memory_and_disk(embedder, tmp_path):
    _, codebook = relational()
    counting = CountingEmbedder(embedder)
    first = CodeIndexCache(counting, tmp_path).get(codebook)
    units = encoded(codebook)
    assert counting.texts == units and first.vectors.shape == (len(evidence_units(codebook)), embedder.dimension)
    assert CodeIndexCache(counting, tmp_path).get(codebook).vectors.tolist() == first.vectors.tolist()
    assert counting.texts == units  # a new process with the same cache folder encodes nothing


def test_a_new_codebook_version_encodes_only_what_changed(embedder):
    book, codebook = relational()
    counting = CountingEmbedder(embedder)
    cache = CodeIndexCache(counting, None)
    cache.get(codebook)
    before = counting.texts
    edited = book.model_dump()
    edited["codes"][1]["definition"] += " Said in our own words."
    changed = Codebook.model_validate(edited)
    cache.get(resolve(changed.name, (BUILTIN | {changed.name: changed}).get))
    assert counting.texts == before + 1  # only the edited definition


def test_a_damaged_cache_file_is_rebuilt(embedder, tmp_path):
    _, codebook = relational()
    CodeIndexCache(embedder, tmp_path).get(codebook)
    [path] = list(tmp_path.rglob("*.npy"))
    path.write_bytes(b"not a numpy file")
    counting = CountingEmbedder(embedder)
    CodeIndexCache(counting, tmp_path).get(codebook)
    assert counting.texts == encoded(codebook)
