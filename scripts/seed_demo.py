"""Build a demonstration database from the seed study (../shared): the coding behind Marks et al.'s Table 2,
entered through the real API. For the 93 BCTTv1 techniques it posts one sentence by a peer worker and/or a
supported peer wherever Table 2 reports a quote (the quotes themselves are in the paper's supplement, which
we do not have); for the five Relational-aspects BCTs it posts the paper's own quotes with their speakers.
A coder 'rita' then adds each code. The figures in docs/import-export.md come from this database:

    DATABASE_URL=sqlite:///data/seed-demo.db .venv/bin/python scripts/seed_demo.py
    DATABASE_URL=sqlite:///data/seed-demo.db .venv/bin/autocoder report plots --out docs/figures
"""

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi.testclient import TestClient  # noqa: E402

from app.config import Settings  # noqa: E402
from app.db.accounts import get_user  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import accounts  # noqa: E402

SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "002_2b51a645f57a8a3f.txt"


def table2_cells() -> dict[str, tuple[str, str]]:
    cells = {}
    for line in SEED.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and re.fullmatch(r"\d+\.\d+", parts[0]) and not parts[0].endswith(".0"):
            pw, sp = parts[2].strip(), parts[3].strip()
            merged = pw or sp
            cells[parts[0]] = (merged, merged) if merged in ("Both", "Neither") else (pw, sp)
    return cells


def main() -> None:
    if not SEED.exists():
        sys.exit(f"needs {SEED} (the project's shared data beside the repository)")
    with TestClient(create_app(Settings())) as client:
        with client.app.state.session_factory() as session:
            if get_user(session, name="seed-admin"):
                sys.exit("this database already holds the demonstration; use a fresh DATABASE_URL")
            admin = accounts.add_user(session, "seed-admin", "admin").token
            coder = accounts.add_user(session, "rita", "coder").token
        client.headers["Authorization"] = f"Bearer {admin}"
        as_coder = {"Authorization": f"Bearer {coder}"}
        labels = {c["id"]: c["label"] for c in client.get("/codebooks/bcttv1").json()["codes"]}
        interviews: dict[str, list[tuple[str, str]]] = {"Interviewee_PW1": [], "Interviewee_SP2": []}
        for code, (pw, sp) in table2_cells().items():
            sentence = f"We worked on {labels[code].lower()} together."
            if pw in ("Yes", "Both"):
                interviews["Interviewee_PW1"].append((sentence, code))
            if sp in ("Yes", "Both"):
                interviews["Interviewee_SP2"].append((sentence, code))
        for code in client.get("/codebooks/relational-aspects").json()["codes"]:
            for ex in code["exemplars"]:
                if ex["source"].startswith("Interviewee_"):
                    interviews.setdefault(ex["source"].split(",")[0], []).append((ex["text"], code["id"]))
        for speaker, turns in interviews.items():
            out = client.post("/transcripts", json={"title": f"{speaker} interview",
                                                    "turns": [{"speaker": speaker, "text": t} for t, _ in turns]})
            out = out.json()
            decisions = [{"segment_id": s["id"], "action": "add", "code": turns[s["turn_index"]][1]}
                         for s in out["segments"]]
            response = client.post(f"/transcripts/{out['id']}/decisions", headers=as_coder,
                                   json={"decisions": decisions})
            response.raise_for_status()
            print(f"{speaker}: {len(turns)} coded turns")


if __name__ == "__main__":
    main()
