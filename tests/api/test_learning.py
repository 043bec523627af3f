"""Learning end to end over HTTP: confirm labels, retrain, the promoted version changes suggestions and is
recorded on them, rollback restores similarity; model cards; the review queue and 'more like this'."""

import io
import json
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from app.services.queue import pick_diverse, uncertainty
from tests.api.test_jobs import wait as wait_job
from tests.conftest import add_user

# Sentences about football: nothing in BCTTv1's definitions says football, so similarity never puts 5.1
# (information about health consequences) first for them. The coders here do, consistently: a classifier
# must learn it from their labels alone.
FOOTBALL = [
    "We went to watch the football on Saturday afternoon.",
    "He supports the same football team as my brother.",
    "We talked about the football results every week.",
    "The football season had just started when we met.",
    "She bought two tickets for the football match.",
    "Football was the thing we always had in common.",
]
OTHER = [
    "She helped me fill in the housing forms at the council office.",
    "We set a goal that I would walk to the shops twice a week.",
]
CODE = "5.1"


def interview(n: int) -> str:
    lines = [f"SP{n}: {FOOTBALL[(n + i) % len(FOOTBALL)]}" for i in range(4)] + [f"SP{n}: {s}" for s in OTHER]
    return "Interviewer: Tell me about your peer worker.\n" + "\n".join(lines) + "\n"


def wait_for(client, version: int) -> dict:
    for _ in range(600):
        out = client.get(f"/models/{version}").json()
        if out["status"] != "training":
            return out
        time.sleep(0.1)
    raise AssertionError(f"version {version} still training after 60 s")


def label(client, coder, transcript: dict) -> None:
    """The coder adds 5.1 to every football sentence and accepts the best suggestion on the others."""
    decisions = []
    for seg in transcript["segments"]:
        if seg["status"] == "skipped":
            continue
        if "ootball" in seg["text"]:
            decisions.append({"segment_id": seg["id"], "action": "add", "code": CODE})
            if seg["suggestions"] and seg["suggestions"][0]["code_id"] != CODE:
                decisions.append({"segment_id": seg["id"], "action": "reject",
                                  "suggestion_id": seg["suggestions"][0]["id"]})
        elif seg["suggestions"]:
            decisions.append({"segment_id": seg["id"], "action": "accept",
                              "suggestion_id": seg["suggestions"][0]["id"]})
    response = client.post(f"/transcripts/{transcript['id']}/decisions", headers=coder,
                           json={"decisions": decisions})
    assert response.status_code == 201, response.text


def football_rank(out: dict) -> tuple[int | None, float | None]:
    seg = out["segments"][0]
    for s in seg["suggestions"]:
        if s["code_id"] == CODE:
            return s["rank"], s["score"]
    return None, None


def test_retrain_promote_serve_and_roll_back(client):
    coder = add_user(client.app, "cora", "coder")
    probe = {"text": "I told him about the football game last night.", "top_k": 10, "threshold": 0.0}
    before = client.post("/suggest", json=probe).json()
    assert before["classifier_version"] is None
    rank_before, _ = football_rank(before)
    assert rank_before is None or rank_before > 3  # similarity alone does not see it

    # Too few labels: the version fails, with the reason, and nothing is served.
    empty = client.post("/models/retrain", json={}).json()
    assert empty["status"] == "training"
    failed = wait_for(client, empty["version"])
    assert failed["status"] == "failed" and "too few confirmed labels" in failed["message"]
    assert client.get("/models/serving").json()["version"] is None

    transcripts = [client.post("/transcripts", json={"text": interview(n), "participant_id": f"SP{n}"}).json()
                   for n in range(6)]
    for t in transcripts:
        label(client, coder, t)

    assert client.post("/models/retrain", headers=coder, json={}).status_code == 403  # admins retrain
    started = client.post("/models/retrain", json={})
    assert started.status_code == 202
    version = wait_for(client, started.json()["version"])
    assert version["status"] == "ready", version
    assert version["serving"] is True and version["triggered_by"] == "admin"
    card = version["card"]
    assert card["data"]["segments"] == 36 and card["data"]["transcripts"] == 6
    assert card["data"]["positives"][CODE] == 24 and CODE in card["model"]["codes_with_model"]
    assert card["embedding_model"] == before["model"] and card["codebook"]["name"] == before["codebook"]
    modes = card["validation"]["modes"]
    assert set(modes) == {"similarity", "baseline", "served"} and card["validation"]["folds"] == 3
    assert card["model"]["chosen"] in card["model"]["candidates"] and card["model"]["baseline"]
    per_code = {row["code"]: row for row in modes["served"]["per_code"]}
    assert per_code[CODE]["f1"] > 0.8  # held out: sentences of transcripts the fold did not train on
    verdict = card["promotion"]
    assert verdict["against"] == "similarity" and verdict["promoted"] and verdict["better"]
    assert verdict["new_macro_f1"] > verdict["served_macro_f1"]
    v1 = version["version"]
    serving = client.get("/models/serving").json()
    assert serving["version"] == v1 and serving["reason"] == "promoted"

    # Served without a restart: the next suggestion uses it and says so.
    after = client.post("/suggest", json=probe).json()
    assert after["classifier_version"] == v1
    rank_after, score_after = football_rank(after)
    assert rank_after == 1 and score_after > 0.3
    stored = client.post("/transcripts", json={"text": "SP9: We watched the football together on Sunday."}).json()
    assert stored["run"]["classifier_version"] == v1
    assert stored["segments"][0]["suggestions"][0]["code_id"] == CODE
    seg = stored["segments"][0]
    decided = client.post(f"/segments/{seg['id']}/decisions", headers=coder,
                          json={"action": "accept", "suggestion_id": seg["suggestions"][0]["id"]}).json()
    assert decided["decisions"][0]["classifier_version"] == v1  # the decision records which model suggested

    # Batch jobs score with the version served when they were created, and store runs that say so.
    job = client.post("/jobs", content=json.dumps({"text": "SP8: The football was on all afternoon."}).encode())
    assert job.status_code == 202 and job.json()["options"]["classifier"] == v1
    done = wait_job(client, job.json()["id"])
    assert done["status"] == "done", done
    table = pq.read_table(io.BytesIO(client.get(f"/jobs/{done['id']}/files/sentences.parquet").content))
    assert table.column("code_1").to_pylist() == [CODE]
    batch = client.get("/transcripts", params={"limit": 500}).json()["items"][-1]
    assert client.get(f"/transcripts/{batch['id']}/suggestions").json()["run"]["classifier_version"] == v1

    # Retraining with one new labelled segment: too few held-out labels to prove it better, so v1 stays.
    second = wait_for(client, client.post("/models/retrain", json={}).json()["version"])
    assert second["status"] == "ready" and second["serving"] is False
    assert "at least 5 are needed" in second["message"]
    assert client.get("/models/serving").json()["version"] == v1
    forced = wait_for(client, client.post("/models/retrain", json={"force": True}).json()["version"])
    assert forced["serving"] is True and "forced" in forced["message"]
    v3 = forced["version"]

    # Roll back: to the previous version, then to similarity alone, which restores the old scores exactly.
    back = client.post("/models/rollback", json={}).json()
    assert back["version"] == v1 and back["reason"] == "rollback" and back["changed_by"] == "admin"
    none = client.post("/models/rollback", json={"similarity_only": True}).json()
    assert none["version"] is None
    again = client.post("/suggest", json=probe).json()
    assert again["classifier_version"] is None
    assert again["segments"][0]["suggestions"] == before["segments"][0]["suggestions"]
    assert client.post(f"/models/{v3}/promote").json()["version"] == v3
    assert client.post("/suggest", json=probe).json()["classifier_version"] == v3

    listed = client.get("/models").json()
    assert [v["version"] for v in listed] == [v3, v3 - 1, v1, empty["version"]]
    assert [v["serving"] for v in listed] == [True, False, False, False]
    assert client.get("/models/999").status_code == 404
    assert client.post(f"/models/{empty['version']}/promote").status_code == 409  # a failed fit never serves


def test_review_queue_prefers_uncertain_and_varied_segments(client):
    coder = add_user(client.app, "quinn", "coder")
    transcripts = [client.post("/transcripts", json={"text": interview(n)}).json() for n in range(3)]
    queue = client.get("/review-queue", headers=coder, params={"limit": 5}).json()["items"]
    assert all(item["segment"]["suggestions"] and item["why"] for item in queue)
    texts = [item["segment"]["text"] for item in queue]
    # Small talk (football: the gate scores it near 0, every code "0.00 apart") is not queued; the
    # technique-like sentences are, each once before any of its copies in the other transcripts.
    assert not any("ootball" in t for t in texts) and "0.00 apart" not in " ".join(i["why"] for i in queue)
    assert set(texts[:2]) == set(OTHER) and len(queue) == 5
    label(client, coder, transcripts[0])
    decided = {s["id"] for s in transcripts[0]["segments"]}
    later = client.get("/review-queue", headers=coder, params={"limit": 50}).json()["items"]
    assert later and not decided & {item["segment"]["id"] for item in later}
    # Another coder's queue is their own (blind coding): everything is still undecided for them.
    other = add_user(client.app, "olga", "coder")
    assert len(client.get("/review-queue", headers=other, params={"limit": 50}).json()["items"]) == 2 * 3
    viewer = add_user(client.app, "vic", "viewer")
    assert client.get("/review-queue", headers=viewer).status_code == 403

    football = next(s for s in transcripts[0]["segments"] if "ootball" in s["text"])
    similar = client.get(f"/segments/{football['id']}/similar", params={"limit": 6}).json()
    assert len(similar) == 6 and football["id"] not in {s["segment"]["id"] for s in similar}
    sims = [s["similarity"] for s in similar]
    assert sims == sorted(sims, reverse=True)
    assert sum("ootball" in s["segment"]["text"] for s in similar[:4]) == 4
    # Each reads as in its transcript: its status and its shown suggestions (a technique's neighbours included).
    stored = {s["id"]: s for t in transcripts for s in client.get(f"/transcripts/{t['id']}").json()["segments"]}
    technique = next(s for s in stored.values() if s["status"] == "suggested")
    for found in (similar, client.get(f"/segments/{technique['id']}/similar", params={"limit": 6}).json()):
        assert [(s["segment"]["status"], [c["code_id"] for c in s["segment"]["suggestions"]]) for s in found] == \
            [(stored[s["segment"]["id"]]["status"],
              [c["code_id"] for c in stored[s["segment"]["id"]]["suggestions"]]) for s in found]
    assert any(s["segment"]["status"] == "suggested" for s in found)
    undecided = client.get(f"/segments/{football['id']}/similar", headers=coder,
                           params={"limit": 50, "undecided": True}).json()
    assert not decided & {s["segment"]["id"] for s in undecided}
    assert client.get("/segments/99999/similar").status_code == 404


def test_uncertainty_and_diversity_rules():
    assert uncertainty(0.31, 0.10, 0.30)[0] == pytest.approx(0.99)  # on the threshold: show it or not?
    assert uncertainty(0.70, 0.69, 0.30)[0] == pytest.approx(0.99)  # two codes tied: which?
    assert uncertainty(0.80, 0.20, 0.30)[0] == pytest.approx(0.5)
    same, other = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vectors = np.stack([same, same, other]).astype(np.float32)
    assert pick_diverse(vectors, np.array([1.0, 0.9, 0.8]), 2) == [0, 2]  # the near-copy waits


def test_retraining_starts_by_itself_after_enough_new_labels(settings, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings.model_copy(update={"retrain_every": 20}), embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        coder = add_user(client.app, "cora", "coder")
        label(client, coder, client.post("/transcripts", json={"text": interview(0)}).json())
        assert client.get("/models").json() == []  # 8 label decisions: not yet
        for n in range(1, 4):
            label(client, coder, client.post("/transcripts", json={"text": interview(n)}).json())
        versions = client.get("/models").json()
        assert len(versions) == 1 and versions[0]["trigger"] == "auto" and versions[0]["triggered_by"] is None
        assert wait_for(client, versions[0]["version"])["status"] == "ready"


def test_a_served_version_whose_files_are_gone_falls_back_to_similarity(client, settings, caplog):
    """A models folder lost or restored from an old backup: suggestions, imports and the model card go on (the
    card says why), and the version cannot be promoted again until it is retrained."""
    import logging
    import shutil

    coder = add_user(client.app, "cora", "coder")
    for n in range(6):
        posted = client.post("/transcripts", json={"text": interview(n), "participant_id": f"SP{n}"}).json()
        label(client, coder, posted)
    version = wait_for(client, client.post("/models/retrain", json={}).json()["version"])
    assert version["status"] == "ready" and version["serving"] is True
    with client.app.state.session_factory() as session:
        from app.db import classifiers as db

        folder = settings.models_dir / db.get_classifier(session, classifier_id=version["version"]).path
    shutil.rmtree(folder)
    client.app.state.coder.served._loaded.clear()  # as a restarted service would find it

    with caplog.at_level(logging.WARNING, logger="app.services.serving"):
        out = client.post("/suggest", json={"text": "We watched the football together on Sunday."})
    assert out.status_code == 200 and out.json()["classifier_version"] is None
    assert "cannot be read" in caplog.text
    assert client.post("/transcripts", json={"text": "SP9: We set a goal together."}).status_code == 201
    card = client.get(f"/models/{version['version']}")
    assert card.status_code == 200 and "cannot be read" in card.json()["card"]["unreadable"]
    again = client.post(f"/models/{version['version']}/promote")
    assert again.status_code == 409 and "cannot be served" in again.json()["detail"]
    # Held in memory is not enough: promotion reads the files from disk (the attack found it passing when the
    # version was still cached and its folder deleted).
    client.app.state.coder.served._loaded[version["version"]] = object()
    cached = client.post(f"/models/{version['version']}/promote")
    assert cached.status_code == 409 and version["version"] not in client.app.state.coder.served._loaded
