"""Consensus end to end over HTTP: two coders code and finish a transcript, an adjudicator sees their codes side
by side, takes what they agree on, resolves the rest, and Table 2, exports and the .qdpx then report the
consensus by default, where pooled codes would report a code only one coder gave. Blind coders cannot look."""

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from app.cli import app as cli
from app.exchange.refi import read_qdpx
from tests.conftest import add_user

TURNS = [{"speaker": "Interviewer", "text": "How did your peer worker help you?"},
         {"speaker": "SP1", "text": "We set a goal that I would walk to the shop every day. "
                                    "She helped me work out what to do when it rained. "
                                    "She told me about her own recovery and I felt less alone."}]


@pytest.fixture
def double_coded(client):
    """alice and bob code the three sentences; they agree on the first, and differ on the other two:
    sentence 2 only alice coded (1.2), sentence 3 bob gave 1.1 besides the 3.1 both gave."""
    out = client.post("/transcripts", json={"turns": TURNS, "title": "SP1 interview"}).json()
    skipped, *codable = out["segments"]
    assert skipped["skip_reason"] is not None and [s["turn_index"] for s in codable] == [1, 1, 1]
    people = {n: add_user(client.app, n, r) for n, r in [("alice", "coder"), ("bob", "coder"),
                                                          ("judy", "adjudicator"), ("vera", "viewer")]}
    codes = {"alice": [["1.1"], ["1.2"], ["3.1"]], "bob": [["1.1"], [], ["3.1", "1.1"]]}
    for who, per_sentence in codes.items():
        body = [{"segment_id": s["id"], "action": "add", "code": c} for s, cs in zip(codable, per_sentence,
                                                                                     strict=True) for c in cs]
        assert client.post(f"/transcripts/{out['id']}/decisions", headers=people[who],
                           json={"decisions": body}).status_code == 201
        assert client.post(f"/transcripts/{out['id']}/finished", headers=people[who]).status_code == 200
    return out, [s["id"] for s in codable], people


def test_adjudication_consensus_and_reports_from_it(client, double_coded, settings, monkeypatch):
    out, (s1, s2, s3), people = double_coded
    tid = out["id"]
    judy = people["judy"]

    # Blind coders may not look at the others' codes, nor record consensus.
    assert client.get(f"/transcripts/{tid}/adjudication", headers=people["alice"]).status_code == 403
    assert client.post(f"/transcripts/{tid}/consensus", headers=people["bob"], json={
        "decisions": [{"segment_id": s2, "action": "add", "code": "1.2"}]}).status_code == 403
    assert client.get(f"/transcripts/{tid}/adjudication", headers=people["vera"]).status_code == 200

    view = client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()
    assert view["coders"] == ["alice", "bob"] and view["finished"] == {"alice": True, "bob": True}
    rows = {r["segment_id"]: r for r in view["rows"]}
    assert sorted(rows) == [s1, s2, s3]  # the interviewer's sentence is not codable
    assert rows[s1]["coders"] == {"alice": ["1.1"], "bob": ["1.1"]} and rows[s1]["agreed"]
    assert rows[s2]["coders"] == {"alice": ["1.2"], "bob": []} and rows[s2]["unresolved"]
    assert rows[s3]["coders"] == {"alice": ["3.1"], "bob": ["1.1", "3.1"]} and rows[s3]["unresolved"]
    assert view["unresolved"] == 2 and all(r["consensus"] == [] for r in view["rows"])
    listed = client.get("/disagreements", headers=judy).json()
    assert [(d["transcript_id"], d["segment_id"]) for d in listed] == [(tid, s2), (tid, s3)]
    # Each names the sentence as the pages number it.
    assert [d["number"] for d in listed] == [rows[s2]["number"], rows[s3]["number"]] and \
        all(d["number"] >= 2 and d["end_number"] is None for d in listed)
    assert listed[0]["coders"] == {"alice": ["1.2"], "bob": []}

    # Before any consensus, reports pool every coder's codes and say so.
    pooled = {r["code"]: r for r in client.get("/reports/table2").json()}
    assert pooled["1.2"]["presence"] == "SP" and pooled["1.2"]["source"] == "pooled"

    # The adjudicator takes what both agree on, then resolves the rest.
    taken = client.post(f"/transcripts/{tid}/consensus/agreed", headers=judy)
    assert taken.status_code == 201 and [(d["segment_id"], d["code"]) for d in taken.json()] == [(s1, "1.1")]
    assert client.post(f"/transcripts/{tid}/consensus/agreed", headers=judy).json() == []  # nothing left to take
    recorded = client.post(f"/transcripts/{tid}/consensus", headers=judy, json={"decisions": [
        {"segment_id": s2, "action": "memo", "memo": "No plan for rain was made: not 1.2."},
        {"segment_id": s3, "action": "add", "code": "3.1"}]})
    assert recorded.status_code == 201, recorded.text
    assert {d["adjudicator"] for d in recorded.json()} == {"judy"}
    view = client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()
    rows = {r["segment_id"]: r for r in view["rows"]}
    assert view["unresolved"] == 0 and client.get("/disagreements", headers=judy).json() == []
    assert (rows[s1]["consensus"], rows[s2]["consensus"], rows[s3]["consensus"]) == (["1.1"], [], ["3.1"])
    assert rows[s2]["memos"] == ["No plan for rain was made: not 1.2."]
    # The coders' own labels are untouched by the consensus.
    assert client.get(f"/transcripts/{tid}/labels", headers=people["bob"]).json()["segments"][1]["labels"] == \
        ["1.1", "3.1"]

    # Table 2 now reports the consensus by default: 1.2, which only alice gave, is no longer "SP".
    consensus = {r["code"]: r for r in client.get("/reports/table2").json()}
    assert consensus["1.2"]["presence"] == "Neither" and consensus["1.1"]["presence"] == "SP"
    assert {r["source"] for r in consensus.values()} == {"consensus"}
    pooled = {r["code"]: r for r in client.get("/reports/table2", params={"source": "pooled"}).json()}
    assert pooled["1.2"]["presence"] == "SP" and pooled["1.1"]["sp_segments"] == 2
    assert consensus["1.1"]["sp_segments"] == 1  # bob's 1.1 on sentence 3 was not taken
    alice = {r["code"]: r for r in client.get("/reports/table2", params={"source": "coder:alice"}).json()}
    assert alice["1.2"]["presence"] == "SP" and alice["1.1"]["source"] == "coder:alice"
    named = client.get("/reports/table2", params={"coder": ["alice", "bob"]}).json()  # named coders: theirs
    assert {r["source"] for r in named} == {"pooled"} and next(r for r in named if r["code"] == "1.2")["sp_quote"] \
        == "Yes"
    assert {r["source"] for r in client.get("/reports/table2", params={"coder": "bob"}).json()} == {"coder:bob"}
    markdown = client.get("/reports/table2", params={"format": "markdown"}).text
    assert ("source: consensus codes of 1 adjudicated transcript(s) (still open: SP1 interview (transcript "
            f"{tid}): not marked finished)") in markdown
    assert "source: coder alice alone" in client.get("/reports/table2", params={
        "format": "markdown", "source": "coder:alice"}).text
    assert client.get("/reports/table2", params={"source": "everyone"}).status_code == 422
    assert client.get("/reports/table2", params={"source": "coder:nobody"}).status_code == 404
    quotes = client.get("/reports/exemplars").json()
    assert {q["code"] for q in quotes} == {"1.1", "3.1"} and {q["source"] for q in quotes} == {"consensus"}
    assert client.get("/reports/plots/code-frequency.png", params={"source": "pooled"}).status_code == 200

    # Exports: the consensus codes and their source, the consensus decisions in the trail, and the .qdpx.
    segments = [json.loads(line) for line in client.get("/exports/segments.jsonl").text.splitlines()]
    by_id = {r["segment_id"]: r for r in segments}
    assert (by_id[s2]["confirmed_codes"], by_id[s3]["confirmed_codes"]) == ([], ["3.1"])
    assert by_id[s3]["codes_by_coder"] == {"alice": ["3.1"], "bob": ["1.1", "3.1"]}
    assert {r["source"] for r in segments} == {"consensus"}
    trail = list(csv.DictReader(io.StringIO(client.get("/exports/decisions.csv").text)))
    assert [(d["coder"], d["action"]) for d in trail if d["stage"] == "consensus"] == [
        ("judy", "add"), ("judy", "memo"), ("judy", "add")]
    root, _ = read_qdpx(client.get("/exports/project.qdpx").content)
    # The consensus codes are credited to "consensus"; judy is there as the author of her memo (a note).
    assert {u.get("name") for u in root.iter() if u.tag.endswith("}User")} == {"consensus", "judy"}
    root, _ = read_qdpx(client.get("/exports/project.qdpx", params={"source": "pooled"}).content)
    assert {u.get("name") for u in root.iter() if u.tag.endswith("}User")} == {"alice", "bob"}

    # The command line lists disagreements too (none now), and marks are per stage.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        listed = CliRunner().invoke(cli, ["report", "disagreements"])
        assert listed.exit_code == 0 and "0 unresolved disagreement(s)" in listed.output
    finally:
        get_settings.cache_clear()
    done = client.post(f"/transcripts/{tid}/consensus/finished", headers=judy)
    assert done.status_code == 200 and done.json()["stage"] == "consensus"
    assert client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()["consensus_finished"] is True
    # Agreement now compares each coder with the finished consensus too.
    against = client.get(f"/transcripts/{tid}/agreement", headers=judy).json()["coder_consensus"]
    assert [(p["a"], p["b"], p["units"]) for p in against] == [("alice", "consensus", 3), ("bob", "consensus", 3)]
    assert "alice" in client.get(f"/transcripts/{tid}/agreement", params={"format": "table"}, headers=judy).text
    assert client.post(f"/transcripts/{tid}/consensus/finished", headers=people["alice"]).status_code == 403

    # The model as a second coder against the finished consensus: the shown suggestions, sentence by sentence.
    agreement = client.get(f"/transcripts/{tid}/agreement", headers=judy).json()
    stored = client.get(f"/transcripts/{tid}", headers=judy).json()
    threshold = stored["run"]["threshold"]
    shown = {s["id"]: {c["code_id"] for c in s["suggestions"] if c["score"] >= threshold}
             for s in stored["segments"] if s["id"] in (s1, s2, s3)}
    final = {s1: {"1.1"}, s2: set(), s3: {"3.1"}}  # what the adjudicator settled above
    used = sorted(set().union(*shown.values(), *final.values()))
    model = [int(c in shown[s]) for c in used for s in (s1, s2, s3)]
    truth = [int(c in final[s]) for c in used for s in (s1, s2, s3)]
    pooled = agreement["model_consensus"]
    assert (pooled["a"], pooled["b"], pooled["units"]) == ("model", "consensus", 3)
    same = sum(m == t for m, t in zip(model, truth, strict=True))
    assert pooled["percent_agreement"] == pytest.approx(same / len(model))
    per_code = {c["code"]: c["model_consensus"] for c in agreement["per_code"] + agreement["model_consensus_codes"]
                if c["model_consensus"]}
    assert sorted(per_code) == used


def test_consensus_decisions_are_checked(client, double_coded, settings, monkeypatch):
    out, (s1, s2, s3), people = double_coded
    tid, judy = out["id"], people["judy"]
    path = f"/transcripts/{tid}/consensus"

    def send(*decisions):
        return client.post(path, headers=judy, json={"decisions": list(decisions)})

    skipped = out["segments"][0]["id"]
    assert send({"segment_id": s1, "action": "add", "code": "99.9"}).status_code == 422
    assert send({"segment_id": s1, "action": "remove", "code": "1.1"}).status_code == 409
    assert send({"segment_id": s1, "action": "accept", "code": "1.1"}).status_code == 422
    assert send({"segment_id": 10**6, "action": "add", "code": "1.1"}).status_code == 404
    assert send({"segment_id": s3, "end_segment_id": s1, "action": "add", "code": "1.2"}).status_code == 422
    assert send({"segment_id": skipped, "end_segment_id": s2, "action": "add", "code": "1.2"}).status_code == 422
    # All or nothing: the second decision fails, so the first is not kept either.
    refused = send({"segment_id": s1, "action": "add", "code": "1.1"}, {"segment_id": s1, "action": "add",
                                                                         "code": "1.1"})
    assert refused.status_code == 409 and refused.json()["detail"].startswith("decision 2:")
    assert client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()["rows"][0]["consensus"] == []

    # A span: one consensus code over sentences 2-3 is its own row, and leaves the single sentences' rows.
    span = send({"segment_id": s2, "end_segment_id": s3, "action": "add", "code": "1.2"})
    assert span.status_code == 201 and span.json()[0]["end_segment_id"] == s3
    rows = client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()["rows"]
    spans = [r for r in rows if r["end_segment_id"] is not None]
    assert [(r["segment_id"], r["end_segment_id"], r["consensus"]) for r in spans] == [(s2, s3, ["1.2"])]
    assert spans[0]["text"].startswith("She helped me") and spans[0]["text"].endswith("less alone.")
    assert spans[0]["coders"] == {"alice": [], "bob": []} and not spans[0]["unresolved"]
    assert send({"segment_id": s2, "action": "remove", "code": "1.2"}).status_code == 409  # not on s2 alone
    assert send({"segment_id": s2, "end_segment_id": s3, "action": "remove", "code": "1.2"}).status_code == 201
    table2 = {r["code"]: r for r in client.get("/reports/table2", params={"source": "consensus"}).json()}
    assert table2["1.2"]["presence"] == "Neither"
    assert client.get("/disagreements", params={"transcript": tid}).json()[0]["segment_id"] == s2


def test_the_adjudication_page(client, double_coded):
    """The page shows both coders' codes with labels, highlights unresolved rows, and takes a coder's code
    through the same service; coders under blind coding are refused, and so are posts not sent by the page."""
    out, (s1, s2, s3), people = double_coded
    tid = out["id"]

    def sign_in(who: str) -> None:
        client.cookies.set("autocoder_token", people[who]["Authorization"].removeprefix("Bearer "))

    sign_in("alice")
    assert client.get(f"/ui/transcripts/{tid}/adjudication").status_code == 403
    assert client.get("/ui/adjudication").status_code == 403
    sign_in("judy")
    listing = client.get("/ui/adjudication")
    assert listing.status_code == 200 and f"/ui/transcripts/{tid}/adjudication" in listing.text
    page = client.get(f"/ui/transcripts/{tid}/adjudication")
    assert page.status_code == 200
    html = page.text
    assert "<th scope=\"col\">alice</th>" in html and "<th scope=\"col\">bob</th>" in html
    assert html.count('class="adj-row unresolved"') == 2 and "Problem solving" in html  # 1.2's label
    assert 'aria-label="Take 1.2 from alice"' in html and "Take every agreed code (1 sentence)" in html
    only = client.get(f"/ui/transcripts/{tid}/adjudication", params={"unresolved": "1"}).text
    assert only.count('class="adj-row') == 2

    form = {"segment_id": str(s2), "action": "add", "code": "1.2 Problem solving"}
    assert client.post(f"/ui/transcripts/{tid}/consensus", data=form).status_code == 403  # no HX-Request
    assert client.post(f"/ui/transcripts/{tid}/consensus", data=form,
                       headers={"HX-Request": "true", "Origin": "https://evil.example"}).status_code == 403
    taken = client.post(f"/ui/transcripts/{tid}/consensus", data=form, headers={"HX-Request": "true"})
    assert taken.status_code == 200 and f'id="row-{s2}-0"' in taken.text
    assert 'class="adj-row resolved"' in taken.text and '<span id="unresolved-count" hx-swap-oob="true">1</span>' \
        in taken.text
    again = client.post(f"/ui/transcripts/{tid}/consensus", data=form, headers={"HX-Request": "true"})
    assert again.status_code == 409 and "already a consensus code" in again.text
    agreed = client.post(f"/ui/transcripts/{tid}/consensus/agreed", headers={"HX-Request": "true"})
    assert agreed.status_code == 204 and agreed.headers["HX-Refresh"] == "true"
    view = client.get(f"/transcripts/{tid}/adjudication", headers=people["judy"]).json()
    assert [r["consensus"] for r in view["rows"]] == [["1.1"], ["1.2"], []] and view["unresolved"] == 1
    sign_in("vera")  # a viewer sees the page, without the adjudicator's buttons, and may not post
    html = client.get(f"/ui/transcripts/{tid}/adjudication").text
    assert "Take every agreed code" not in html and 'aria-label="Take' not in html
    assert client.post(f"/ui/transcripts/{tid}/consensus", data=form,
                       headers={"HX-Request": "true"}).status_code == 403


def test_the_adjudicator_sees_memos_context_and_cannot_close_by_accident(client, double_coded):
    """Each row carries the coders' memos and "no code applies", the sentence numbers, the interviewer's
    question, the sentences around it and the model's suggestion with its evidence; finishing the consensus
    with rows unresolved is a 409 listing them until the adjudicator confirms."""
    out, (s1, s2, s3), people = double_coded
    tid, judy = out["id"], people["judy"]
    assert client.post(f"/segments/{s2}/decisions", headers=people["bob"],
                       json={"action": "memo", "memo": "Rain plan? Not sure it is problem solving."}).status_code == 201
    assert client.post(f"/segments/{s2}/decisions", headers=people["bob"], json={"action": "none"}).status_code == 201

    rows = {r["segment_id"]: r for r in client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()["rows"]}
    row = rows[s2]
    assert row["coder_memos"] == {"bob": ["Rain plan? Not sure it is problem solving."]}
    assert row["no_code"] == ["bob"] and row["coders"]["bob"] == []
    assert (row["number"], row["end_number"]) == (3, None)
    assert row["question"] == "How did your peer worker help you?"
    assert row["before"].startswith("We set a goal") and row["after"].startswith("She told me about")
    assert row["suggestion"]["code"] and row["suggestion"]["evidence_text"]
    assert rows[s1]["before"] == "How did your peer worker help you?"

    refused = client.post(f"/transcripts/{tid}/consensus/finished", headers=judy)
    assert refused.status_code == 409 and "sentences 3, 4" in refused.json()["detail"]
    view = client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()
    assert view["consensus_finished"] is False
    done = client.post(f"/transcripts/{tid}/consensus/finished", headers=judy, json={"unresolved_ok": True})
    assert done.status_code == 200, done.text
    assert client.get(f"/transcripts/{tid}/adjudication", headers=judy).json()["consensus_finished"] is True
    # Agreement now compares each coder with the finished consensus too.
    against = client.get(f"/transcripts/{tid}/agreement", headers=judy).json()["coder_consensus"]
    assert [(p["a"], p["b"], p["units"]) for p in against] == [("alice", "consensus", 3), ("bob", "consensus", 3)]
    assert "alice" in client.get(f"/transcripts/{tid}/agreement", params={"format": "table"}, headers=judy).text

    # The page shows the memo, the question and the confirmation that lists the unresolved sentences.
    from tests.web.test_page_routes import sign_in

    assert client.post(f"/transcripts/{tid}/consensus/finished", headers=judy,
                       json={"finished": False}).status_code == 200
    page = sign_in(client, judy).get(f"/ui/transcripts/{tid}/adjudication").text
    assert "Rain plan? Not sure it is problem solving." in page and "How did your peer worker help you?" in page
    assert "no code applies" in page and 'id="finish-status"' in page
    hx = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin", "HX-Request": "true"}
    asked = client.post(f"/ui/transcripts/{tid}/consensus/finished", data={"done": "true"}, headers=hx)
    assert asked.status_code == 409 and "still unresolved (sentences 3, 4)" in asked.text  # listed as they are now
    assert "finished anyway" in asked.text
    done = client.post(f"/ui/transcripts/{tid}/consensus/finished", data={"done": "true", "unresolved_ok": "true"},
                       headers=hx)
    assert done.status_code == 204


def test_reports_never_hide_what_is_missing(client, double_coded):
    """A second transcript coded but not adjudicated still counts in the default (auto) Table 2, pooled, and
    the caption names it and the first transcript's open consensus; source=consensus leaves it out and says
    so; the segments export names each transcript's source; source=all puts the consensus and every coder
    in one .qdpx."""
    out, (s1, s2, s3), people = double_coded
    judy, alice = people["judy"], people["alice"]
    assert client.post(f"/transcripts/{out['id']}/consensus", headers=judy, json={"decisions": [
        {"segment_id": s1, "action": "add", "code": "1.1"}]}).status_code == 201  # rows 2 and 3 still open
    other = client.post("/transcripts", json={"text": "Interviewer: And then?\nSP2: She came with me to the "
                                                     "housing office and we filled in the forms together.\n",
                                              "title": "SP2 interview"}).json()
    seg = next(s for s in other["segments"] if s["status"] != "skipped")
    assert client.post(f"/segments/{seg['id']}/decisions", headers=alice,
                       json={"action": "add", "code": "3.2"}).status_code == 201

    rows = {r["code"]: r for r in client.get("/reports/table2").json()}
    assert rows["3.2"]["presence"] == "SP" and rows["3.2"]["source"] == "consensus+pooled"
    caption = client.get("/reports/table2", params={"format": "markdown"}).text
    assert "2 row(s) unresolved, not marked finished" in caption
    assert f"all coders pooled for 1 transcript(s) without consensus: SP2 interview (transcript {other['id']})" \
        in caption
    strict = client.get("/reports/table2", params={"format": "markdown", "source": "consensus"}).text
    assert "1 coded transcript(s) without consensus left out: SP2 interview" in strict
    assert {r["code"]: r for r in client.get("/reports/table2", params={"source": "consensus"}).json()}[
        "3.2"]["presence"] != "SP"

    lines = client.get("/exports/segments.jsonl").text.splitlines()
    by_transcript = {(r["transcript_id"], r["source"]) for r in map(json.loads, lines)}
    assert (out["id"], "consensus") in by_transcript and (other["id"], "pooled") in by_transcript

    project, _ = read_qdpx(client.get("/exports/project.qdpx", params={"source": "all"}).content)
    assert {"consensus", "alice", "bob"} <= {u.get("name") for u in project.iter() if u.tag.endswith("}User")}
