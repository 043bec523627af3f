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


class HeldEmbedder(CountingEmbedder):
    """The real embedder, held inside its first encoding of `held` texts until released (a build in progress)."""

    def __init__(self, embedder, held: set[str]):
        super().__init__(embedder)
        import threading

        self.held, self.started, self.release = held, threading.Event(), threading.Event()
        self.largest = 0

    def encode(self, texts):
        self.largest = max(self.largest, len(texts))
        if self.held & set(texts) and not self.release.is_set():
            self.started.set()
            self.release.wait(60)
        return super().encode(texts)


def test_a_codebook_being_built_holds_up_no_other_and_forget_keeps_nothing_it_encoded(embedder):
    """A team's large new codebook takes minutes to encode: suggestions from codebooks already built go on
    meanwhile (found by an attacker's run: 20,000 exemplars held every /suggest for 165 s). Encoding is in chunks,
    so a sentence waits for one chunk, not all of them."""
    import threading

    from app.engine import code_index

    book, codebook = relational()
    edited = book.model_dump()
    edited["codes"][1]["definition"] += " A version being built."
    new = Codebook.model_validate(edited)
    held_text = "A version being built."
    new_book = resolve(new.name, (BUILTIN | {new.name: new}).get)
    counting = HeldEmbedder(embedder, {t for t in (u.text for u in evidence_units(new_book)) if held_text in t})
    cache = CodeIndexCache(counting, None)
    built = cache.get(codebook)
    worker = threading.Thread(target=cache.get, args=(new_book,), daemon=True)
    worker.start()
    assert counting.started.wait(30)  # the new version's build is encoding, held
    done = []
    reader = threading.Thread(target=lambda: done.append(cache.get(codebook)), daemon=True)
    reader.start()
    reader.join(10)
    assert done and done[0] is built  # not held up by the build in progress
    cache.forget([held_text])  # e.g. a deletion while the build runs
    counting.release.set()
    worker.join(60)
    assert not worker.is_alive()
    assert not any(held_text in t for t in cache._by_text)  # the build that began before forget kept nothing
    assert counting.texts > code_index.ENCODE_CHUNK >= counting.largest  # several calls, a chunk at most each
