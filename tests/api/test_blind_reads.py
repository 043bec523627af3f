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


CONFIRMED = "He drove me to the food bank on Fridays and helped me carry the bags home."
NEAR_COPY = "He drove me to the food bank every Friday and helped carry my bags home."


def test_no_read_path_shows_a_coders_confirmed_sentence_to_another(client, anonymous):
    """quentin confirms 12.5 on a sentence; a near-copy in another transcript is stored (an admin imports it, and
    re-suggests it) and read by alice through every path that returns suggestions: none carries quentin's sentence,
    code or name. Nothing stored does; quentin himself sees his confirmation as evidence when he reads it."""
    people = {n: add_user(client.app, n, "coder") for n in ("alice", "quentin")}
    first = client.post("/transcripts", json={"turns": [{"speaker": "SP1", "text": CONFIRMED}]}).json()
    segment = first["segments"][0]["id"]
    assert client.post(f"/segments/{segment}/decisions", headers=people["quentin"],
                       json={"action": "add", "code": "12.5"}).status_code == 201
    second = client.post("/transcripts", json={"turns": [{"speaker": "SP2", "text": NEAR_COPY}],
                                               "title": "near copy"}).json()
    assert client.post(f"/transcripts/{second['id']}/runs", json={}).status_code == 201  # an admin re-suggests

    with client.app.state.session_factory() as session:
        from sqlalchemy import select

        from app.db.tables import Suggestion

        kinds = set(session.scalars(select(Suggestion.evidence_kind)))
        texts = set(session.scalars(select(Suggestion.evidence_text)))
    assert "confirmed" not in kinds and CONFIRMED not in texts  # nothing stored carries quentin's work

    tid = second["id"]
    paths = [f"/transcripts/{tid}", f"/transcripts/{tid}/suggestions?min_score=0", "/review-queue",
             f"/ui/transcripts/{tid}", *[p.format(id=tid) for p in READS], "/exports/project.qdpx"]
    page = anonymous.post("/ui/login", data={"token": people["alice"]["Authorization"].removeprefix("Bearer "),
                                             "next": "/ui/transcripts"},
                          headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                          follow_redirects=False)
    assert page.status_code == 303
    for path in paths:
        reader = anonymous if path.startswith("/ui/") else client
        headers = {} if path.startswith("/ui/") else people["alice"]
        response = reader.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:200])
        body = _text(response)
        assert "quentin" not in body and "coded by" not in body and "you confirmed" not in body, path
        assert '"kind":"confirmed"' not in body.replace(" ", ""), path
        if str(tid) in path:  # transcript 1 holds the sentence itself; what reads transcript 2 must not quote it
            assert CONFIRMED not in body, path

    mine = client.get(f"/transcripts/{tid}", headers=people["quentin"]).json()["segments"][0]["confirmed"]
    assert [c["code_id"] for c in mine] == ["12.5"] and mine[0]["evidence"]["text"] == CONFIRMED
    # ... and on the review page, with an Add button for the code.
    relogin = anonymous.post("/ui/login", data={"token": people["quentin"]["Authorization"].removeprefix("Bearer "),
                                                "next": "/ui/transcripts"},
                             headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                             follow_redirects=False)
    assert relogin.status_code == 303
    html = anonymous.get(f"/ui/transcripts/{tid}").text
    assert "you confirmed" in html and CONFIRMED in html and 'aria-label="Add 12.5' in html
