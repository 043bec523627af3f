"""The shared embedder is used one call at a time: its tokenizer keeps truncation and padding settings as
shared state, and under load (bench/load.py, 20 clients) concurrent calls corrupted a batch into a 500.
Concurrent requests here record how many model calls were in flight at once; it must never exceed one."""

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import add_user

TEXT = "She helped me plan my week. We set a goal to walk every morning. I felt safe with her."


def test_concurrent_requests_never_share_the_encoder(client, embedder, monkeypatch):
    coder = add_user(client.app, "alice", "coder")
    active, most, lock = [0], [0], threading.Lock()
    barrier = threading.Event()

    def spy(method):
        def call(*args, **kwargs):
            with lock:
                active[0] += 1
                most[0] = max(most[0], active[0])
            try:
                barrier.wait(0.05)  # hold the call open so that an unserialised second call would overlap
                return method(*args, **kwargs)
            finally:
                with lock:
                    active[0] -= 1
        return call

    for name in ("encode", "truncated"):
        monkeypatch.setattr(embedder, name, spy(getattr(embedder, name)))

    def work(n: int) -> int:
        if n % 2:
            return client.post("/suggest", headers=coder, json={"text": TEXT, "split": True}).status_code
        return client.post("/transcripts", headers=coder, json={"text": f"SP{n}: {TEXT}"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(work, range(16)))
    assert set(codes) <= {200, 201}, codes
    assert most[0] == 1
