"""Blind double coding holds on every read of coders' work: exports, reports, the .qdpx project, agreement,
the audit trail. A coder sees only their own decisions, labels, memos and name; admins and viewers see all."""

import csv
import io
import json
import zipfile

import pytest

from tests.conftest import add_user

INTERVIEW = [{"speaker": "SP3", "text": "She never judged me and I felt safe telling her anything at all."},
             {"speaker": "SP3", "text": "We set a goal that I would get out of the house twice a week."}]
SECRET = "bob-private-memo-about-trust"


@pytest.fixture
def double_coded(client):
    out = client.post("/transcripts", json={"turns": INTERVIEW, "title": "Blind test"}).json()
    people = {n: add_user(client.app, n, r) for n, r in [("alice", "coder"), ("bob", "coder"), ("vera", "viewer")]}
    first, second = out["segments"][0]["id"], out["segments"][1]["id"]
    for who, code in (("alice", "1.1"), ("bob", "17.4")):
        body = {"decisions": [{"segment_id": first, "action": "add", "code": code},
                              {"segment_id": second, "action": "add", "code": code}]}
        assert client.post(f"/transcripts/{out['id']}/decisions", headers=people[who], json=body).status_code == 201
    memo = {"action": "memo", "memo": SECRET}
    assert client.post(f"/segments/{first}/decisions", headers=people["bob"], json=memo).status_code == 201
    return out, people


READS = ["/exports/decisions.csv", "/exports/decisions.jsonl", "/exports/segments.csv", "/exports/segments.jsonl",
         "/reports/exemplars", "/reports/exemplars?format=markdown", "/reports/table2", "/reports/table2?format=csv",
         "/reports/counts?by=role", "/reports/counts?by=transcript&format=jsonl", "/transcripts/{id}/decisions",
         "/transcripts/{id}/labels"]


def _text(response) -> str:
    if response.headers["content-type"] == "application/zip":
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        return "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return response.text


def test_a_blind_coder_reads_only_their_own_work_everywhere(client, double_coded):
    out, people = double_coded
    for path in [*READS, "/exports/project.qdpx"]:
        response = client.get(path.format(id=out["id"]), headers=people["alice"])
        assert response.status_code == 200, (path, response.text)
        body = _text(response)
        assert "bob" not in body and SECRET not in body, path
    decisions = list(csv.DictReader(io.StringIO(client.get("/exports/decisions.csv", headers=people["alice"]).text)))
    assert {d["coder"] for d in decisions} == {"alice"} and {d["code"] for d in decisions} == {"1.1"}
    segments = [json.loads(line) for line in
                client.get("/exports/segments.jsonl", headers=people["alice"]).text.splitlines()]
    assert all(r["codes_by_coder"] == {"alice": ["1.1"]} and r["confirmed_codes"] == ["1.1"] for r in segments)
    quotes = client.get("/reports/exemplars", headers=people["alice"]).json()
    assert {q["code"] for q in quotes} == {"1.1"} and all(q["coders"] == ["alice"] for q in quotes)
    counts = list(csv.DictReader(io.StringIO(client.get("/reports/counts", headers=people["alice"]).text)))
    assert next(r for r in counts if r["code"] == "17.4")["total"] == "0"
    table2 = {r["code"]: r["presence"] for r in client.get("/reports/table2", headers=people["alice"]).json()}
    assert table2["17.4"] == "Neither" and table2["1.1"] == "SP"
    # Naming another coder, or comparing coders, is refused outright.
    for path in ("/reports/exemplars?coder=bob", "/reports/table2?coder=bob", "/reports/counts?coder=bob",
                 f"/transcripts/{out['id']}/agreement", "/agreement", f"/transcripts/{out['id']}/adjudication",
                 "/disagreements", "/reports/table2?source=consensus", "/reports/table2?source=coder:bob",
                 "/exports/segments.csv?source=consensus", "/exports/project.qdpx?source=coder:bob"):
        assert client.get(path, headers=people["alice"]).status_code == 403, path


def test_admins_and_viewers_see_every_coder(client, double_coded):
    out, people = double_coded
    for headers in ({}, people["vera"]):
        decisions = list(csv.DictReader(io.StringIO(client.get("/exports/decisions.csv", headers=headers).text)))
        assert {d["coder"] for d in decisions} == {"alice", "bob"} and SECRET in {d["memo"] for d in decisions}
        quotes = client.get("/reports/exemplars", headers=headers).json()
        assert {q["code"] for q in quotes} == {"1.1", "17.4"}
        project = _text(client.get("/exports/project.qdpx", headers=headers))
        assert "alice" in project and "bob" in project
        assert client.get(f"/transcripts/{out['id']}/agreement", headers=headers).json()["coders"] == ["alice", "bob"]


def test_without_blind_coding_coders_see_each_other(settings, embedder):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings.model_copy(update={"blind_review": False}), embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        _, people = _code(client)
        decisions = client.get("/exports/decisions.jsonl", headers=people["alice"]).text
        assert '"coder": "bob"' in decisions and SECRET in decisions


def _code(client):
    out = client.post("/transcripts", json={"turns": INTERVIEW}).json()
    people = {n: add_user(client.app, n, "coder") for n in ("alice", "bob")}
    segment = out["segments"][0]["id"]
    assert client.post(f"/segments/{segment}/decisions", headers=people["bob"],
                       json={"action": "memo", "memo": SECRET}).status_code == 201
    return out, people
