"""How long deleting one large transcript holds the database, and what another coder's decision waits
meanwhile: a SQLite file with --others large transcripts (1,411 sentences each, every one suggested, 800
confirmed) and discovery runs, the newest deleted over real HTTP; then the same on a copy of the file without
the indexes on referring columns (migration 0010), the baseline. Prints both times and their ratio.

    .venv/bin/python bench/delete.py               # 12 others (about 90 s to build)
    .venv/bin/python bench/delete.py --others 4
"""

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AUTOCODER_ENCODER", "fast")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from fastapi.testclient import TestClient  # noqa: E402
from load import SENTENCES  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.session import make_engine, make_session_factory  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import accounts  # noqa: E402

NEW_INDEXES = ("ix_suggestions_segment_id", "ix_suggestions_end_segment_id", "ix_decisions_end_segment_id",
               "ix_decisions_suggestion_id", "ix_decisions_run_id")


def interview(tag: str) -> str:
    lines = ["Interviewer: Tell me about the support."]
    for i in range(470):
        lines.append("SP3: " + " ".join(SENTENCES[(i + j) % len(SENTENCES)].rstrip(".") + f", {tag} {i}-{j}."
                                        for j in range(3)))
    return "\n".join(lines) + "\n"


def token(url: str, name: str, role: str) -> dict[str, str]:
    with make_session_factory(make_engine(url))() as session:
        return {"Authorization": f"Bearer {accounts.add_user(session, name, role).token}"}


def build(folder: Path, others: int) -> tuple[Settings, int, int]:
    settings = Settings(database_url=f"sqlite:///{folder / 'autocoder.db'}", cache_dir=folder / "cache",
                        models_dir=folder / "models", jobs_dir=folder / "jobs")
    with TestClient(create_app(settings)) as client:
        client.headers.update(token(settings.database_url, "admin", "admin"))
        for k in range(others + 1):
            made = client.post("/transcripts", json={"text": interview(f"week {k}")}).json()
            decisions = [{"segment_id": s["id"], "action": "accept", "suggestion_id": s["suggestions"][0]["id"]}
                         for s in made["segments"] if s["suggestions"]][:800]
            client.post(f"/transcripts/{made['id']}/decisions", json={"decisions": decisions})
            if k % 3 == 0:
                client.post("/discovery", json={})
        small = client.post("/transcripts", json={"text": "Interviewer: Hi\nSP4: She helped me plan my week.\n"})
    return settings, made["id"], small.json()["segments"][-1]["id"]


def delete_while_deciding(settings: Settings, transcript_id: int, segment_id: int) -> tuple[float, float]:
    with TestClient(create_app(settings)) as client:
        client.headers.update(token(settings.database_url, f"admin{time.time_ns()}", "admin"))
        waits, done = [], threading.Event()

        def decide():
            while not done.is_set():
                started = time.perf_counter()
                client.post(f"/segments/{segment_id}/decisions", json={"action": "memo", "memo": "meanwhile"})
                waits.append(time.perf_counter() - started)
                time.sleep(0.02)

        other = threading.Thread(target=decide)
        other.start()
        time.sleep(0.2)
        started = time.perf_counter()
        response = client.delete(f"/transcripts/{transcript_id}")
        took = time.perf_counter() - started
        done.set()
        other.join()
        assert response.status_code == 200, response.text
    return took, max(waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "now"
        settings, newest, small = build(folder, args.others)
        baseline_folder = Path(tmp) / "before"
        shutil.copytree(folder, baseline_folder)
        with sqlite3.connect(baseline_folder / "autocoder.db") as conn:
            for name in NEW_INDEXES:
                conn.execute(f"DROP INDEX {name}")
        baseline = settings.model_copy(update={
            "database_url": f"sqlite:///{baseline_folder / 'autocoder.db'}", "cache_dir": baseline_folder / "cache",
            "models_dir": baseline_folder / "models", "jobs_dir": baseline_folder / "jobs"})
        before = delete_while_deciding(baseline, newest, small)
        now = delete_while_deciding(settings, newest, small)
    print(f"{args.others} other transcripts of 1,411 sentences; deleting the newest:")
    print(f"  without the 0010 indexes: {before[0]:.2f} s; a decision meanwhile waited up to {before[1]:.2f} s")
    print(f"  now:                      {now[0]:.2f} s; a decision meanwhile waited up to {now[1]:.2f} s")
    print(f"  ratio (before / now): {before[0] / now[0]:.0f}x")


if __name__ == "__main__":
    main()
