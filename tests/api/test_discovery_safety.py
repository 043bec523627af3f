"""Discovery under concurrent use, restarts, wrong targets and transcript deletion: promotions into one codebook
never lose a code, a re-code is never started twice or left 'running' by a stopped service, a code is never put
under a codable code, a promotion never goes to a codebook that does not extend the run's, and a deleted
transcript's words leave candidates, maps, promoted codebooks and the evidence quoting them."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from app.db import discovery as db
from app.db.tables import CodebookSnapshot
from app.engine.code_index import stands_alone
from tests.web.discovery_data import RELATIONAL, TRANSCRIPTS, turns


def _wait(client, run_id: int) -> dict:
    for _ in range(600):
        run = client.get(f"/discovery/{run_id}").json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.1)
    raise AssertionError(run)


@pytest.fixture
def run(client):
    ids = [client.post("/transcripts", json={"turns": turns(n), "codebook": "bcttv1"}).json()["id"]
           for n in range(TRANSCRIPTS)]
    done = _wait(client, client.post("/discovery", json={"codebook": "bcttv1", "resamples": 0}).json()["id"])
    assert done["status"] == "done" and len(done["candidates"]) >= 3, done
    for c in done["candidates"]:
        assert client.patch(f"/discovery/{done['id']}/candidates/{c['number']}",
                            json={"name": f"Candidate {c['number']}", "definition": "A definition."}).status_code == 200
    return done, ids


def test_concurrent_promotions_into_one_codebook_keep_every_code(client, run):
    done, _ = run
    numbers = [c["number"] for c in done["candidates"]][:3]

    def promote(n):
        return client.post(f"/discovery/{done['id']}/candidates/{n}/promote", json={"code_id": f"N.{n}"})

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(promote, numbers))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert sorted(a.json()["promoted_version"] for a in answers) == ["1", "2", "3"]
    leaves = client.get("/codebooks/bcttv1-discovered").json()["leaves"]
    assert {f"N.{n}" for n in numbers} <= set(leaves)


def test_parents_targets_and_recodes_are_checked(client, run):
    done, _ = run
    rid, first, second = done["id"], done["candidates"][0]["number"], done["candidates"][1]["number"]
    # A codable code cannot become a group: 1.1 would stop being suggested.
    refused = client.post(f"/discovery/{rid}/candidates/{first}/promote", json={"parent": "1.1"})
    assert refused.status_code == 422 and "not a group" in refused.json()["detail"]
    # A codebook that does not extend the run's codebook is refused (re-coding with it would drop BCTTv1).
    book = {"name": "mybook", "title": "Mine", "codes": [{"id": "T1", "label": "Mine", "definition": "Mine."}]}
    assert client.post("/codebooks", json=book).status_code == 201
    refused = client.post(f"/discovery/{rid}/candidates/{first}/promote", json={"codebook": "mybook"})
    assert refused.status_code == 409 and "does not extend bcttv1" in refused.json()["detail"]
    assert client.post(f"/discovery/{rid}/candidates/{first}/promote",
                       json={"codebook": "bad\n"}).status_code == 422
    # A new group is fine; a re-code asked twice at once starts once.
    promoted = client.post(f"/discovery/{rid}/candidates/{first}/promote",
                           json={"parent": "18", "parent_label": "Found by discovery"})
    assert promoted.status_code == 200, promoted.text
    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(lambda _: client.post(f"/discovery/{rid}/candidates/{first}/recode").status_code,
                                range(2)))
    assert codes == [202, 409]
    # A re-code left running by a stopped service is marked failed at the next start, and can be asked again.
    discoverer = client.app.state.discoverer
    for _ in range(600):
        state = client.get(f"/discovery/{rid}").json()["candidates"][0]["recode"]
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    with client.app.state.session_factory() as session:
        row = db.candidate(session, run_id=rid, number=first)
        row.recode = {**row.recode, "status": "running", "done": 1}
        session.commit()
    discoverer.start()
    state = next(c for c in client.get(f"/discovery/{rid}").json()["candidates"] if c["number"] == first)["recode"]
    assert state["status"] == "failed" and "stopped" in state["message"]
    assert client.post(f"/discovery/{rid}/candidates/{first}/recode").status_code == 202
    # Concurrent merges each get their own number.
    rest = [c["number"] for c in done["candidates"] if c["number"] not in (first,)]
    del second
    if len(rest) >= 4:
        with ThreadPoolExecutor(2) as pool:
            merged = list(pool.map(lambda pair: client.post(f"/discovery/{rid}/merge", json={"candidates": pair}),
                                   [rest[:2], rest[2:4]]))
        assert [m.status_code for m in merged] == [201, 201]
        assert len({m.json()["number"] for m in merged}) == 2


def test_a_run_over_nothing_says_where_the_transcripts_are(client, run):
    empty = _wait(client, client.post("/discovery", json={"codebook": "bcttv1+relational-aspects"}).json()["id"])
    assert empty["status"] == "done" and empty["units"] == 0
    assert "they used bcttv1 (3)" in empty["message"]
    assert client.post("/discovery", json={"transcripts": []}).status_code == 422


def test_deleting_a_transcript_takes_its_words_out_of_discovery_and_promoted_codebooks(client, run):
    done, ids = run
    rid = done["id"]
    best = max(done["candidates"], key=lambda c: sum(q["text"] in RELATIONAL for q in c["quotes"]))
    sentences = client.get(f"/discovery/{rid}/candidates/{best['number']}", params={"limit": 1000}).json()
    assert client.post(f"/discovery/{rid}/candidates/{best['number']}/promote",
                       json={"code_id": "R1"}).status_code == 200
    book = client.get("/codebooks/bcttv1-discovered").json()
    exemplars = [e["text"] for c in book["codes"] if c["id"] == "R1" for e in c["exemplars"]]
    # The transcript to delete: one the promoted code quotes with a sentence that is evidence on its own (a
    # fragment such as "She'd been through it herself, so I didn't have to explain." never is:
    # app/engine/code_index.stands_alone), so suggestions can be seen quoting it before the deletion.
    gone = next(s for s in sentences["sentences"] if s["text"] in exemplars and stands_alone(s["text"]))
    victim = gone["transcript_id"]
    words = [s["text"] for s in sentences["sentences"] if s["transcript_id"] == victim and s["text"] in exemplars]
    words.sort(key=lambda w: not stands_alone(w))
    # Suggestions with the new codebook quote the exemplar as evidence.
    quoted = client.post("/suggest", json={"text": words[0], "codebook": "bcttv1-discovered"}).json()
    assert any(s["evidence"]["text"] == words[0] for seg in quoted["segments"] for s in seg["suggestions"])

    deleted = client.delete(f"/transcripts/{victim}")
    assert deleted.status_code == 200, deleted.text
    removed = deleted.json()["removed"]
    assert removed["codebook_exemplars"] >= len(words) and removed["discovery_sentences"] >= 1
    book = client.get("/codebooks/bcttv1-discovered").json()
    assert not any(e["text"] in words for c in book["codes"] for e in c["exemplars"])
    assert "R1" in book["leaves"]  # the code stays
    after = client.get(f"/discovery/{rid}/candidates/{best['number']}", params={"limit": 1000}).json()
    assert all(s["transcript_id"] != victim for s in after["sentences"])
    assert after["total"] == len(after["sentences"]) == after["candidate"]["size"]
    assert str(victim) not in after["candidate"]["by_transcript"]
    assert sum(after["candidate"]["by_role"].values()) == after["candidate"]["size"]
    with client.app.state.session_factory() as session:
        points = db.get_run(session, run_id=rid).points
        snapshots = session.scalars(select(CodebookSnapshot)).all()
    assert all(p[0] != gone["segment_id"] for p in points)
    assert not any(w in str(s.content) for s in snapshots for w in words)
    fresh = client.post("/suggest", json={"text": words[0], "codebook": "bcttv1-discovered"}).json()
    assert not any(s["evidence"]["text"] in words for seg in fresh["segments"] for s in seg["suggestions"])
