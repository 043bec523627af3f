"""Batch jobs through the API: post a JSONL manifest, follow progress, cancel and resume without storing a
transcript twice, fetch the files."""

import io
import json
import time

import pyarrow.parquet as pq

from tests.conftest import add_user


def manifest(n: int) -> bytes:
    rows = [{"participant_id": f"SP{i}", "role": "supported_peer", "site": "Setting_1",
             "text": f"SP{i}: In week {i} she helped me plan my week. We set a goal to walk every morning."}
            for i in range(n)]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


def wait(client, job_id: str, statuses=("done", "failed", "cancelled"), timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_job_precodes_stores_and_serves_files(client):
    posted = client.post("/jobs", params={"chunk_size": 2, "top_k": 3}, content=manifest(5),
                         headers={"content-type": "application/x-ndjson"})
    assert posted.status_code == 202, posted.text
    job = wait(client, posted.json()["id"])
    assert job["status"] == "done" and job["errors"] == 0
    assert (job["transcripts_done"], job["chunks_done"], job["chunks_total"]) == (5, 3, 3)
    assert job["sentences_done"] == 10 and job["sentences_per_second"] > 0
    assert set(job["files"]) == {"sentences.parquet", "presence.parquet", "errors.json", "warnings.json"}
    table = pq.read_table(io.BytesIO(client.get(f"/jobs/{job['id']}/files/sentences.parquet").content))
    assert table.num_rows == 10 and "code_3" in table.column_names and "code_4" not in table.column_names
    # Every transcript is in the database, with its suggestions, ready for review.
    listed = client.get("/transcripts").json()
    assert listed["total"] == 5
    stored = client.get(f"/transcripts/{listed['items'][0]['id']}").json()
    assert stored["run"]["top_k"] == 3 and stored["segments"][1]["suggestions"][0]["code_id"] == "1.1"


def test_cancel_then_resume_stores_each_transcript_once(client):
    posted = client.post("/jobs", params={"chunk_size": 1}, content=manifest(30)).json()
    cancelled = client.post(f"/jobs/{posted['id']}/cancel")
    assert cancelled.status_code == 200
    job = wait(client, posted["id"], ("cancelled",))
    assert job["transcripts_done"] < 30 and job["files"] == []
    assert client.post(f"/jobs/{posted['id']}/cancel").status_code == 409
    resumed = client.post(f"/jobs/{posted['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "queued"
    job = wait(client, posted["id"])
    assert job["status"] == "done" and job["transcripts_done"] == 30
    assert client.get("/transcripts").json()["total"] == 30  # none twice, none missing
    keys = {t["participant_id"] for t in client.get("/transcripts", params={"limit": 100}).json()["items"]}
    assert keys == {f"SP{i}" for i in range(30)}


def test_bad_manifests_and_roles(client, anonymous):
    bad = client.post("/jobs", content=b'{"text": "SP1: fine."}\nnot json\n')
    assert bad.status_code == 422 and "manifest:2: not a JSON object" in bad.json()["detail"]
    by_path = client.post("/jobs", content=b'{"path": "/etc/passwd"}\n')
    assert by_path.status_code == 422
    assert client.post("/jobs", content=b"").status_code == 422
    assert client.post("/jobs", params={"codebook": "nope"}, content=manifest(1)).status_code == 404
    assert client.get("/jobs/no-such-job").status_code == 404
    viewer = add_user(client.app, "vera", "viewer")
    assert anonymous.post("/jobs", headers=viewer, content=manifest(1)).status_code == 403
    assert client.get("/jobs").json() == []  # refused jobs left nothing behind
