"""Bounded stress: 8 coders x 500 decisions each, at once, over real HTTP on loopback (uvicorn), all on one
transcript. Every decision sent is stored exactly once, in each coder's order, on SQLite and PostgreSQL.

Not a timing test: it prints the time (`pytest -s`) for the closing note, and asserts only counts and order.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.conftest import add_user

CLIENTS = 8
PER_CLIENT = int(os.environ.get("AUTOCODER_STRESS_DECISIONS", "500"))
TEXT = "\n".join(f"SP1: In week {i} she helped me plan what to do when things got hard again." for i in range(40))


@pytest.fixture
def server(settings, embedder):
    app = create_app(settings, embedder)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_concurrent_coders_lose_and_duplicate_nothing(server):
    app, base = server

    class Shim:  # add_user() needs only .app
        pass

    shim = Shim()
    shim.app = app
    admin = add_user(shim, "admin", "admin")
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        out = http.post("/transcripts", json={"text": TEXT, "threshold": 0.0})
        assert out.status_code == 201, out.text
        transcript = out.json()
    segments = transcript["segments"]
    coders = {f"coder{i}": add_user(shim, f"coder{i}", "coder") for i in range(CLIENTS)}

    def work(name: str) -> list[tuple[int, str, int]]:
        sent = []
        with httpx.Client(base_url=base, headers=coders[name], timeout=120) as http:
            for n in range(PER_CLIENT):
                seg = segments[n % len(segments)]
                suggestion = seg["suggestions"][n % len(seg["suggestions"])]
                body = [{"action": "accept", "suggestion_id": suggestion["id"]},
                        {"action": "reject", "suggestion_id": suggestion["id"]},
                        {"action": "add", "code": "1.2"},
                        {"action": "memo", "memo": f"{name} note {n}"}][n % 4]
                response = http.post(f"/segments/{seg['id']}/decisions", json=body)
                assert response.status_code == 201, response.text
                sent.append((seg["id"], body["action"], response.json()["decisions"][0]["id"]))
        return sent

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = dict(zip(coders, pool.map(work, coders), strict=True))
    elapsed = time.perf_counter() - started

    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        trail = http.get(f"/transcripts/{transcript['id']}/decisions").json()
    total = CLIENTS * PER_CLIENT
    print(f"\n{total} decisions from {CLIENTS} concurrent clients in {elapsed:.1f} s "
          f"({total / elapsed:.0f}/s) on {app.state.session_factory.kw['bind'].dialect.name}; stored: {len(trail)}")
    assert len(trail) == total and len({d["id"] for d in trail}) == total
    for name, sent in results.items():
        stored = [(d["segment_id"], d["action"], d["id"]) for d in trail if d["coder"] == name]
        assert stored == sent  # exactly what this coder sent, in the order they sent it
