"""A bounded load test on loopback: the service in its own process (uvicorn, a fresh SQLite file by default),
20 coders posting transcripts, stateless suggestions and decisions, reading their review queue and transcripts,
while one client polls /health (--preload N first stores N interviews of 1,410 sentences, so the queue and
reads work over a study-sized database); it stops
by itself after --seconds (60) and prints throughput, p50/p95 latency and errors per kind of request, /health's
p95 and maximum, and whether every decision the service acknowledged (201) is stored exactly once.

    .venv/bin/python bench/load.py                 # 60 s, 20 clients, SQLite in a temporary folder
    .venv/bin/python bench/load.py --seconds 20 --clients 8 --database-url postgresql+psycopg://...

Only 127.0.0.1 is ever contacted. Exit status 1 if an acknowledged decision is missing or duplicated, or any
request got a 5xx.
"""

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.db.migrate import upgrade  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.db.tables import Decision  # noqa: E402
from app.services import accounts  # noqa: E402

SENTENCES = [
    "She helped me plan my week and we set a goal to walk every morning.",
    "I told him about my own time in hospital and he opened up a bit more.",
    "We went to the housing office together and filled in the forms.",
    "I knew that whatever I told her would stay between the two of us.",
    "It was good to have someone who had been through the same thing.",
    "We talked about how the tablets made me feel slow and tired.",
    "She never judged me, not once, and I felt safe with her.",
    "He reminded me to take my medication and to ring the doctor.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def interview(rng: random.Random) -> str:
    lines = ["Interviewer: How did the peer support go?"]
    for _ in range(rng.randint(2, 4)):
        lines.append("SP3: " + " ".join(rng.sample(SENTENCES, rng.randint(1, 3))))
    return "\n".join(lines) + "\n"


class Stats:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.acked: list[int] = []  # decision ids the service answered 201 for
        self.unanswered_decisions = 0  # decision requests that got no answer (may or may not be stored)

    def record(self, kind: str, started: float, response: httpx.Response | None, error: str | None = None):
        self.latency[kind].append(time.perf_counter() - started)
        if error is not None:
            self.errors[kind][error] += 1
        elif response.status_code >= 400:
            self.errors[kind][str(response.status_code)] += 1


async def coder_client(base: str, token: str, deadline: float, stats: Stats, seed: int) -> None:
    rng = random.Random(seed)
    mine: list[dict] = []  # (segment, suggestion) pairs from transcripts this client posted
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        while time.monotonic() < deadline:
            roll = rng.random()
            kind = ("transcript" if roll < 0.2 or not mine else "suggest" if roll < 0.35 else
                    "queue" if roll < 0.5 else "read" if roll < 0.65 else "decision")
            started = time.perf_counter()
            try:
                if kind == "transcript":
                    response = await client.post("/transcripts", json={"text": interview(rng)})
                    if response.status_code == 201:
                        body = response.json()
                        mine += [{"segment": s["id"], "suggestion": s["suggestions"][0]["id"], "run": body["run"]["id"],
                                  "transcript": body["id"]} for s in body["segments"] if s["suggestions"]]
                elif kind == "suggest":
                    response = await client.post("/suggest", json={"text": rng.choice(SENTENCES), "top_k": 3})
                elif kind == "queue":
                    response = await client.get("/review-queue", params={"limit": 20})
                elif kind == "read":
                    response = await client.get(f"/transcripts/{rng.choice(mine)['transcript']}")
                else:
                    target = rng.choice(mine)
                    decision = rng.choice([{"action": "accept", "suggestion_id": target["suggestion"],
                                            "run_id": target["run"]},
                                           {"action": "add", "code": rng.choice(["1.1", "3.1", "17.2"])},
                                           {"action": "memo", "memo": f"note {rng.randint(0, 10**6)}"}])
                    response = await client.post(f"/segments/{target['segment']}/decisions", json=decision)
                    if response.status_code == 201:
                        stats.acked += [d["id"] for d in response.json()["decisions"]]
            except httpx.HTTPError as exc:
                if kind == "decision":
                    stats.unanswered_decisions += 1
                stats.record(kind, started, None, type(exc).__name__)
                continue
            stats.record(kind, started, response)


async def health_poller(base: str, deadline: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.get("/health")
            except httpx.HTTPError as exc:
                stats.record("health", started, None, type(exc).__name__)
            else:
                stats.record("health", started, response)
            await asyncio.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--preload", type=int, default=0, help="interviews of 1,410 sentences stored first")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="autocoder-load-"))
    url = args.database_url or f"sqlite:///{folder / 'load.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        tokens = [accounts.add_user(session, f"load-coder-{n}", "coder").token for n in range(args.clients)]
    engine.dispose()

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "AUTOCODER_JOBS_DIR": str(folder / "jobs"),
           "AUTOCODER_MODELS_DIR": str(folder / "models"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                              cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # start-up loads the model and the default codebook's vectors
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                print("the service did not start", file=sys.stderr)
                return 1
            time.sleep(0.5)
        for n in range(args.preload):  # before the clock: a study-sized database for the queue and reads
            long = "\n".join(["Interviewer: Tell me about the support."] + [
                "SP3: " + " ".join(f"{SENTENCES[(i + j) % len(SENTENCES)][:-1]}, week {n}-{i}-{j}." for j in range(3))
                for i in range(470)]) + "\n"
            httpx.post(f"{base}/transcripts", json={"text": long}, timeout=600,
                       headers={"Authorization": f"Bearer {tokens[0]}"}).raise_for_status()
        stats = Stats()
        began = time.monotonic()
        deadline = began + args.seconds

        async def run() -> None:
            await asyncio.gather(health_poller(base, deadline, stats),
                                 *(coder_client(base, t, deadline, stats, n) for n, t in enumerate(tokens)))

        asyncio.run(run())
        elapsed = time.monotonic() - began
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    check = create_engine(url)
    with check.connect() as conn:
        stored_ids = list(conn.scalars(select(Decision.id)))
        stored = conn.scalar(select(func.count()).select_from(Decision))
    check.dispose()
    acked = stats.acked
    missing = set(acked) - set(stored_ids)
    duplicated_acks = len(acked) - len(set(acked))
    unacked_rows = stored - len(set(acked))

    print(f"{args.clients} clients for {elapsed:.1f} s against {url.split(':')[0]} on 127.0.0.1:{port}")
    print(f"{'request':12} {'count':>6} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>8}")
    total = 0
    for kind in ("transcript", "suggest", "queue", "read", "decision", "health"):
        values = stats.latency.get(kind, [])
        if not values:
            continue
        errors = sum(stats.errors[kind].values())
        total += len(values) if kind != "health" else 0
        print(f"{kind:12} {len(values):6} {len(values) / elapsed:7.1f} {1000 * percentile(values, 50):8.0f} "
              f"{1000 * percentile(values, 95):8.0f} {errors:8}" +
              (f"  {dict(stats.errors[kind])}" if errors else ""))
    health = stats.latency.get("health", [0.0])
    print(f"work requests: {total} ({total / elapsed:.1f}/s); /health p95 {1000 * percentile(health, 95):.0f} ms, "
          f"max {1000 * max(health):.0f} ms")
    print(f"decisions acknowledged: {len(acked)}; stored: {stored}; acknowledged but missing: {len(missing)}; "
          f"acknowledged twice: {duplicated_acks}; stored without an answer: {unacked_rows} "
          f"(requests that got no answer: {stats.unanswered_decisions})")
    server_errors = sum(n for kind in stats.errors.values() for code, n in kind.items() if code.startswith("5"))
    ok = not missing and not duplicated_acks and unacked_rows <= stats.unanswered_decisions and not server_errors
    print("exactly once: yes" if ok else "exactly once: NO (or 5xx answers)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
