"""Sentence vectors cached on disk, keyed by the sentence's text and the model: a repeated run, or a sentence
said in many transcripts ("Yeah, definitely."), is encoded once.

One SQLite file per model id. Keys are SHA-1 digests of the text (20 bytes), values float32 vectors.
"""

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

_BATCH = 500  # SQLite's limit on bound parameters is 32766 in modern builds; stay far below it


class EmbeddingCache:
    def __init__(self, folder: Path, model_id: str, dimension: int):
        folder.mkdir(parents=True, exist_ok=True)
        safe = model_id.replace("/", "_").replace("@", "-")
        self.path = folder / f"{safe}.sqlite"
        self.dimension = dimension
        # A job reads the next chunk's vectors in one thread while it stores this chunk's in another.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a lost cache entry is only recomputed
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha1(text.encode("utf-8")).digest()

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        keys = {self.key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        items = list(keys)
        for start in range(0, len(items), _BATCH):
            part = items[start:start + _BATCH]
            with self._lock:
                rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN "
                                        f"({','.join('?' * len(part))})", part).fetchall()
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[keys[key]] = vector
        return found

    def put_many(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                                 [(self.key(t), v.astype(np.float32).tobytes()) for t, v in zip(texts, vectors,
                                                                                                strict=True)])

    def close(self) -> None:
        self._db.close()


def forget(folder: Path, texts: list[str]) -> int:
    """Remove these sentences' vectors from every model's cache file in `folder`; how many entries went."""
    if not texts or not folder.is_dir():
        return 0
    keys = list({EmbeddingCache.key(t) for t in texts})
    removed = 0
    for path in sorted(folder.glob("*.sqlite")):
        db = sqlite3.connect(path, timeout=60)
        db.execute("PRAGMA secure_delete=ON")  # overwrite the freed pages: the vectors are gone from the file
        with db:
            for start in range(0, len(keys), _BATCH):
                part = keys[start:start + _BATCH]
                removed += db.execute(f"DELETE FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                      part).rowcount
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and from the write-ahead log
        db.close()
    return removed
