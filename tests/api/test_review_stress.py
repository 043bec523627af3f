"""Bounded stress: 8 coders x 250 decisions each (AUTOCODER_STRESS_DECISIONS sets more, by hand), at once,
over real HTTP on loopback (uvicorn), all on one transcript. Every decision sent is stored exactly once, in each
coder's order, on SQLite and PostgreSQL.

Not a timing test: it prints the time (`pytest -s`) for the closing note, and asserts only counts and order.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from app.db.tables import Suggestion, SuggestionRun
from app.main import create_app
from tests.conftest import add_user

CLIENTS = 8
# 250 each keeps 8 writers racing for the whole run (2,000 decisions, every SQLite write contended) in about
# half the time of 500; a longer run by hand: AUTOCODER_STRESS_DECISIONS=2000.
PER_CLIENT = int(os.environ.get("AUTOCODER_STRESS_DECISIONS", "250"))
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
    admin = add_user(app, "admin", "admin")
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        out = http.post("/transcripts", json={"text": TEXT, "threshold": 0.0})
        assert out.status_code == 201, out.text
        transcript = out.json()
    segments = transcript["segments"]
    coders = {f"coder{i}": add_user(app, f"coder{i}", "coder") for i in range(CLIENTS)}

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


def test_decisions_racing_re_suggestion_are_applied_or_refused_never_stale(server):
    """Coders decide while an admin re-suggests the transcript again and again: each decision is stored
    (and was on the run current when it was stored) or refused with 409; none is lost or applied stale."""
    app, base = server
    admin = add_user(app, "admin", "admin")
    coders = {f"coder{i}": add_user(app, f"coder{i}", "coder") for i in range(4)}
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        transcript = http.post("/transcripts", json={"text": TEXT, "threshold": 0.0}).json()
    tid = transcript["id"]
    stop = threading.Event()

    def resuggest() -> int:
        runs = 0
        with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
            while not stop.is_set():
                assert http.post(f"/transcripts/{tid}/runs", json={"threshold": 0.0}).status_code == 201
                runs += 1
        return runs

    def work(name: str) -> tuple[int, int]:
        stored = refused = 0
        with httpx.Client(base_url=base, headers=coders[name], timeout=60) as http:
            for n in range(60):
                current = http.get(f"/transcripts/{tid}").json()
                seg = current["segments"][n % len(current["segments"])]
                response = http.post(f"/segments/{seg['id']}/decisions",
                                     json={"action": "accept", "suggestion_id": seg["suggestions"][0]["id"]})
                assert response.status_code in (201, 409), response.text
                stored, refused = (stored + 1, refused) if response.status_code == 201 else (stored, refused + 1)
        return stored, refused

    with ThreadPoolExecutor(5) as pool:
        rerun = pool.submit(resuggest)
        outcomes = list(pool.map(work, coders))
        stop.set()
        runs = rerun.result()
    stored = sum(s for s, _ in outcomes)
    with httpx.Client(base_url=base, headers=admin, timeout=60) as http:
        trail = http.get(f"/transcripts/{tid}/decisions").json()
    print(f"\nracing: {runs} re-suggestions, {stored} decisions stored, {sum(r for _, r in outcomes)} refused (409)")
    assert runs > 0 and len(trail) == stored
    # Each stored decision answered a suggestion of the run it records, and that run was current when stored:
    # no later run of the transcript had been created before the decision.
    with app.state.session_factory() as session:
        created = dict(session.execute(select(SuggestionRun.id, SuggestionRun.created_at)
                                       .where(SuggestionRun.transcript_id == tid)).all())
        run_of = dict(session.execute(select(Suggestion.id, Suggestion.run_id)).all())
    for d in trail:
        assert run_of[d["suggestion_id"]] == d["run_id"]
        later = [rid for rid in created if rid > d["run_id"]]
        decided = aware(datetime.fromisoformat(d["created_at"]))
        assert all(aware(created[rid]) >= decided for rid in later)


def aware(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite returns them without the offset the API's answers carry."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
