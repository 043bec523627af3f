"""How well discovery finds what a codebook misses, on the interview set (run by hand).

The interview set (bench/data/interviews.jsonl, 28 interviews written for the project in the seed study's
style) is imported and suggested with plain BCTTv1, which has no group 17. Its gold codes say which sentences
are relational talk (17.1-17.5): what BCTTv1 misses. Discovery runs over the development half (odd-numbered
interviews); then, as a team would, the candidate holding the most relational talk is named and defined, its relational
sentences picked as exemplars, and promoted; its new code is then tried on the test half's relational sentences,
which discovery never saw.

Printed, with the baseline in the same run:
- coverage: share of the relational sentences discovery looked at that fall in candidates at least half
  relational; purity: share of relational sentences in those candidates, against the relational share of all
  the sentences looked at (what a random group would hold): their ratio is the lift;
- on the test half: how often the new code is among a relational sentence's top 3 suggestions, against how
  often it is among a non-relational sentence's top 3 (a code suggested everywhere would score the same on both).

    .venv/bin/python bench/discovery_quality.py [--seed 0]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from app.config import Settings  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import accounts  # noqa: E402

SET = Path(__file__).resolve().parent / "data" / "interviews.jsonl"
DEFINITION = ("The peer worker relates to the person as an equal who has been there: shares their own lived "
              "experience, keeps what is said between them, lets the person choose, and builds a safe, "
              "non-judgemental bond, so the person feels understood and less alone.")


def interviews() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for line in SET.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.setdefault(row["transcript"], []).append(row)
    return out


def post(client: TestClient, rows: list[dict]) -> dict:
    turns, last = [], None
    for r in rows:  # one JSON turn per sentence-run of one speaker, as the set's turns are
        if last is not None and r["turn"] == last:
            turns[-1]["text"] += " " + r["text"]
        else:
            turns.append({"speaker": r["speaker"], "text": r["text"],
                          **({"role": r["role"]} if r["role"] != "interviewer" else {})})
        last = r["turn"]
    out = client.post("/transcripts", json={"turns": turns, "codebook": "bcttv1", "title": rows[0]["transcript"]})
    assert out.status_code == 201, out.text
    return out.json()


def relational(codes: list[str]) -> bool:
    return any(c.startswith("17.") for c in codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="discovery-quality-"))
    settings = Settings(database_url=f"sqlite:///{folder / 'bench.db'}", cache_dir=Path("data/cache"),
                        models_dir=folder / "models", jobs_dir=folder / "jobs")
    with TestClient(create_app(settings, Embedder())) as client:
        with client.app.state.session_factory() as session:
            client.headers["Authorization"] = f"Bearer {accounts.add_user(session, 'bench', 'admin').token}"
        gold: dict[str, list[str]] = {}  # sentence text -> gold codes
        halves: dict[str, list[int]] = {"dev": [], "test": []}
        test_sentences: list[tuple[str, bool]] = []
        for rows in interviews().values():
            out = post(client, rows)
            halves[rows[0]["split"]].append(out["id"])
            for r in rows:
                if r["role"] != "interviewer":
                    gold[r["text"].strip()] = r["codes"]
                    if r["split"] == "test":
                        test_sentences.append((r["text"], relational(r["codes"])))
        started = time.perf_counter()
        run = client.post("/discovery", json={"codebook": "bcttv1", "transcripts": halves["dev"],
                                              "seed": args.seed}).json()
        while run["status"] not in ("done", "failed"):
            time.sleep(0.5)
            run = client.get(f"/discovery/{run['id']}").json()
        seconds = time.perf_counter() - started
        assert run["status"] == "done", run["message"]
        members = {c["number"]: [s["text"].strip() for s in client.get(
            f"/discovery/{run['id']}/candidates/{c['number']}", params={"limit": 1000}).json()["sentences"]]
            for c in run["candidates"]}
        looked_at = run["units"]
        in_candidates = sum(len(m) for m in members.values())
        # Relational sentences among all looked at: those in candidates, plus those in noise (read from the map).
        with client.app.state.session_factory() as session:
            from app.db import discovery as db

            row = db.get_run(session, run_id=run["id"])
            noise = db.segment_texts(session, ids=[p[0] for p in row.points if p[3] == 0])
        rel_noise = sum(relational(gold.get(t.strip(), [])) for _, _, t in noise.values())
        rel_all = sum(relational(gold.get(t, [])) for m in members.values() for t in m) + rel_noise
        share = {n: sum(relational(gold.get(t, [])) for t in m) / len(m) for n, m in members.items()}
        rel_cands = [n for n, s in share.items() if s >= 0.5]
        rel_in = sum(relational(gold.get(t, [])) for n in rel_cands for t in members[n])
        size_in = sum(len(members[n]) for n in rel_cands)
        base = rel_all / looked_at if looked_at else 0.0
        purity = rel_in / size_in if size_in else 0.0
        print(f"dev half: {len(halves['dev'])} interviews, {run['summary']['sentences']} sentences to code, "
              f"{looked_at} unexplained ({rel_all} relational, {base:.2f}); {len(members)} candidates "
              f"({in_candidates} sentences), {len(rel_cands)} at least half relational; {seconds:.1f} s")
        print(f"coverage {rel_in / rel_all if rel_all else 0:.2f}  purity {purity:.2f}  "
              f"baseline (relational share of the unexplained) {base:.2f}  lift {purity / base if base else 0:.2f}x")
        for c in run["candidates"]:
            kinds = Counter(code for t in members[c["number"]] for code in gold.get(t, []) if code.startswith("17."))
            print(f"  #{c['number']:<3} size {c['size']:<4} relational {share[c['number']]:.2f} "
                  f"stability {c['stability']}  {c['label'][:50]:50}  {dict(kinds)}")
        # The team promotes the candidate holding the most relational talk (even when that is under half of it,
        # as a team reading its quotes might), keeping its relational sentences as exemplars.
        best = max(members, key=lambda n: (share[n] * len(members[n]), share[n]), default=None)
        if best is None or share[best] == 0:
            print("no candidate holds relational talk: nothing to promote")
            return
        page = client.get(f"/discovery/{run['id']}/candidates/{best}", params={"limit": 1000}).json()["sentences"]
        chosen = [s["segment_id"] for s in page if relational(gold.get(s["text"].strip(), []))][:20]
        client.patch(f"/discovery/{run['id']}/candidates/{best}",
                     json={"name": "Relational aspects", "definition": DEFINITION, "exemplars": chosen})
        promoted = client.post(f"/discovery/{run['id']}/candidates/{best}/promote",
                               json={"code_id": "17", "codebook": "bench-discovered"})
        assert promoted.status_code == 200, promoted.text
        hits = Counter()
        for text, is_rel in test_sentences:
            out = client.post("/suggest", json={"text": text, "codebook": "bench-discovered", "top_k": 3}).json()
            hits[(is_rel, "17" in [s["code_id"] for s in out["segments"][0]["suggestions"]])] += 1
        rel_n, other_n = hits[(True, True)] + hits[(True, False)], hits[(False, True)] + hits[(False, False)]
        rel_rate, other_rate = hits[(True, True)] / max(rel_n, 1), hits[(False, True)] / max(other_n, 1)
        print(f"test half: the promoted code (from candidate {best}, {len(chosen)} exemplars) is in the top 3 of "
              f"{hits[(True, True)]}/{rel_n} relational sentences ({rel_rate:.2f}) and of "
              f"{hits[(False, True)]}/{other_n} others ({other_rate:.2f}): "
              f"{rel_rate / other_rate if other_rate else float('inf'):.1f}x")


if __name__ == "__main__":
    main()
