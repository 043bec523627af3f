"""Spans end to end over HTTP: a passage suggestion on a multi-sentence turn, accepted, shown in labels,
exported (decisions, segments, Table 2) and written to .qdpx as one selection over the whole span; and the
span decisions that must be refused (4xx), with the reason."""

import json

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from app.batch.inputs import discover
from app.batch.precode import LocalEncoder, PrecodeOptions, Precoder
from app.exchange.refi import PROJECT_NS, read_qdpx
from app.main import create_app
from tests.api.test_jobs import wait
from tests.conftest import add_user, shared_path

# A peer worker's interview (turns from the development half of the interview set, bench/data/interviews.jsonl).
# Turn 1 tells of the peer worker's own experience over several sentences: with passage suggestions on, the
# bundled model suggests a code for the passage as a span. Turn 3 is a problem-solving passage that the model
# does not code as 1.2 (docs/spans.md): the coder codes 1.2 on it as a span by hand.
INTERVIEW = """Interviewer: Did you talk about your own experience?
PW11: Yeah, a fair bit actually. I used to get panic attacks on the tube, really bad ones, to the point where I \
stopped going anywhere. So when I said it does pass, she kind of trusted that, because she knew I'd been there. I \
didn't go into everything, obviously, you pick out what's useful.
Interviewer: What else did you do together?
PW11: Every time the bills went wrong we sat down at the kitchen table. We wrote down each thing that made her miss \
a payment. Then for each one we worked out what she could do differently. If the money ran short she would ring \
the council first instead of hiding the letters.
Interviewer: Anything else?
PW11: Yeah. She came with me to the housing office and helped me fill in the forms.
"""


@pytest.fixture
def settings(settings):
    """Passage suggestions on (the service's default is off: docs/spans.md), as a team may turn them on."""
    return settings.model_copy(update={"passage_windows": 4})


@pytest.fixture
def posted(client):
    out = client.post("/transcripts", json={"text": INTERVIEW, "title": "PW11"}).json()
    turns: dict[int, list[dict]] = {}
    for s in out["segments"]:
        turns.setdefault(s["turn_index"], []).append(s)
    return out, turns, add_user(client.app, "alice", "coder")


def test_a_passage_suggestion_is_accepted_shown_exported_and_written_to_qdpx(client, posted):
    out, turns, alice = posted
    story, problem = turns[1], turns[3]
    assert len(story) == 4 and len(problem) == 4 and all(s["skip_reason"] is None for s in story + problem)
    spans = [(s, c) for s in out["segments"] for c in s["suggestions"] if c["span"]]
    assert any(s["turn_index"] == 1 for s, _ in spans), "the peer worker's story gets a passage suggestion"
    # Every span keeps to the rules (app/engine/passages.py): inside one turn, at or over the threshold, and its
    # score beats each covered sentence's own score of the code by the margin.
    margin = client.app.state.coder.settings.passage_margin
    by_id = {s["id"]: s for s in out["segments"]}
    for s, c in spans:
        end = by_id[c["span"]["end_segment_id"]]
        assert end["turn_index"] == s["turn_index"] and c["score"] >= out["run"]["threshold"]
        inside = [x for x in out["segments"] if s["position"] <= x["position"] <= end["position"]]
        for x in inside:
            assert all(own["score"] + margin <= c["score"] for own in x["suggestions"]
                       if own["code_id"] == c["code_id"] and not own["span"])
    assert "1.2" not in {c["code_id"] for _, c in spans}
    first, suggestion = next((s, c) for s, c in spans if s["turn_index"] == 1)
    span, code = suggestion["span"], suggestion["code_id"]
    last = next(s for s in story if s["id"] == span["end_segment_id"])
    assert span["start_segment_id"] == first["id"] and last["position"] > first["position"]
    assert (span["start"], span["end"]) == (first["start"], last["end"])
    assert span["text"] == out["text"][span["start"]:span["end"]]
    assert suggestion["score"] >= out["run"]["threshold"]
    # The passage outscores each of its sentences for the code (what makes it a span).
    covered = [s for s in story if first["position"] <= s["position"] <= last["position"]]
    for s in covered:
        own = [c["score"] for c in s["suggestions"] if c["code_id"] == code and not c["span"]]
        assert all(score < suggestion["score"] for score in own)

    accepted = client.post(f"/segments/{first['id']}/decisions", headers=alice,
                           json={"action": "accept", "suggestion_id": suggestion["id"], "run_id": out["run"]["id"]})
    assert accepted.status_code == 201, accepted.text
    [decision] = accepted.json()["decisions"]
    assert decision["end_segment_id"] == last["id"] and decision["span"] == span
    # The problem-solving passage, coded by hand as one span of 1.2.
    added = client.post(f"/segments/{problem[0]['id']}/decisions", headers=alice,
                        json={"action": "add", "code": "1.2", "end_segment_id": problem[-1]["id"]})
    assert added.status_code == 201, added.text
    by_hand = added.json()["decisions"][0]["span"]
    assert (by_hand["start"], by_hand["end"]) == (problem[0]["start"], problem[-1]["end"])

    labels = {s["segment_id"]: s for s in client.get(f"/transcripts/{out['id']}/labels", headers=alice).json()[
        "segments"]}
    assert code in labels[first["id"]]["labels"] and "1.2" in labels[problem[0]["id"]]["labels"]
    assert labels[first["id"]]["spans"] == [{**span, "code": code}]
    assert labels[problem[0]["id"]]["spans"] == [{**by_hand, "code": "1.2"}]

    # Exports: the decision trail carries each span's last segment and offsets; the segment rows their ends.
    rows = {r["code"]: r for r in map(json.loads, client.get("/exports/decisions.jsonl").text.splitlines())}
    assert (rows[code]["end_segment_id"], rows[code]["span_start"], rows[code]["span_end"]) == (
        last["id"], span["start"], span["end"])
    assert (rows["1.2"]["end_segment_id"], rows["1.2"]["span_end"]) == (problem[-1]["id"], problem[-1]["end"])
    segments = {r["segment_id"]: r for r in map(json.loads, client.get("/exports/segments.jsonl").text.splitlines())}
    assert segments[first["id"]]["span_ends_by_coder"] == {"alice": {code: last["id"]}}
    assert segments[first["id"]]["suggested_span_ends"][code] == last["id"]
    assert segments[problem[0]["id"]]["span_ends_by_coder"] == {"alice": {"1.2": problem[-1]["id"]}}
    # Table 2 counts a span once (one peer-worker quote), not once per sentence it covers.
    table = {r["code"]: r for r in client.get("/reports/table2", params={"format": "json"}).json()}
    assert table["1.2"]["pw_segments"] == 1 and table[code]["pw_segments"] == 1
    # An exemplar quote of a span code is the whole passage.
    quotes = client.get("/reports/exemplars", params={"format": "json"}).json()
    [quote] = [q for q in quotes if q["code"] == "1.2"]
    assert (quote["text"], quote["segment_id"], quote["end_segment_id"]) == (
        by_hand["text"], problem[0]["id"], problem[-1]["id"])

    # .qdpx: each span one selection from its first sentence's start to its last one's end, valid REFI-QDA.
    schema = etree.XMLSchema(etree.parse(str(shared_path("data", "refi-qda", "Project.xsd"))))
    root, texts = read_qdpx(client.get("/exports/project.qdpx").content)
    schema.assertValid(root)
    q = f"{{{PROJECT_NS}}}"
    source = root.find(f"{q}Sources/{q}TextSource")
    code_guids = {c.get("guid"): c.get("name").split(" ")[0] for c in root.iter(f"{q}Code")}
    selections = {(int(s.get("startPosition")), int(s.get("endPosition"))):
                  [code_guids[c.find(f"{q}CodeRef").get("targetGUID")] for c in s.findall(f"{q}Coding")]
                  for s in source.findall(f"{q}PlainTextSelection")}
    assert selections == {(span["start"], span["end"]): [code], (by_hand["start"], by_hand["end"]): ["1.2"]}
    text = texts[source.get("guid")]
    assert text[span["start"]:span["end"]] == span["text"] and text[by_hand["start"]:by_hand["end"]] == by_hand["text"]

    # Suggesting again (from the stored sentence vectors; the passages are encoded again) gives the same spans.
    again = client.post(f"/transcripts/{out['id']}/runs", json={})
    assert again.status_code in (200, 201), again.text
    assert [(s["id"], c["code_id"], c["span"]) for s in again.json()["segments"] for c in s["suggestions"]
            if c["span"]] == [(s["id"], c["code_id"], c["span"]) for s, c in spans]


def test_passage_windows_1_turns_passage_suggestions_off(settings, embedder):
    with TestClient(create_app(settings.model_copy(update={"passage_windows": 1}), embedder)) as client:
        client.headers.update(add_user(client.app, "admin", "admin"))
        out = client.post("/transcripts", json={"text": INTERVIEW}).json()
    assert out["segments"] and not [c for s in out["segments"] for c in s["suggestions"] if c["span"]]


def test_a_coder_codes_a_span_by_hand_and_removes_it(client, posted):
    out, turns, alice = posted
    passage = turns[3]
    added = client.post(f"/segments/{passage[1]['id']}/decisions", headers=alice,
                        json={"action": "add", "code": "1.4", "end_segment_id": passage[3]["id"]})
    assert added.status_code == 201, added.text
    [labels] = added.json()["labels"]
    assert labels["spans"] == [{"code": "1.4", "start_segment_id": passage[1]["id"],
                                "end_segment_id": passage[3]["id"], "start": passage[1]["start"],
                                "end": passage[3]["end"], "text": out["text"][passage[1]["start"]:passage[3]["end"]]}]
    # The same sentence as its own end is one sentence, not a span.
    one = client.post(f"/segments/{passage[0]['id']}/decisions", headers=alice,
                      json={"action": "add", "code": "1.1", "end_segment_id": passage[0]["id"]})
    assert one.status_code == 201 and one.json()["decisions"][0]["end_segment_id"] is None
    # A confirmed sentence is evidence for its code at once; a span's first sentence is not (the passage was).
    copy = client.post("/transcripts", json={"text": f"SP3: {passage[0]['text']} {passage[1]['text']}\n"}).json()
    read = client.get(f"/transcripts/{copy['id']}", headers=alice).json()  # computed for alice when she reads
    evidence = {(s["text"], c["code_id"]): c["evidence"]["kind"] for s in read["segments"] for c in s["confirmed"]}
    assert evidence[(passage[0]["text"], "1.1")] == "confirmed"
    assert evidence.get((passage[1]["text"], "1.4")) != "confirmed"
    removed = client.post(f"/segments/{passage[1]['id']}/decisions", headers=alice,
                          json={"action": "remove", "code": "1.4"})
    assert removed.status_code == 201 and removed.json()["labels"][0]["spans"] == []


def test_span_decisions_that_are_not_one_turn_s_codable_run_are_refused(client, posted, row_counts):
    out, turns, alice = posted
    passage, later = turns[3], turns[5]
    before = row_counts()

    def refused(segment, body, status=422):
        response = client.post(f"/segments/{segment['id']}/decisions", headers=alice, json=body)
        assert response.status_code == status, response.text
        return response.json()["detail"]

    assert "one turn" in refused(passage[0], {"action": "add", "code": "1.2", "end_segment_id": later[-1]["id"]})
    assert "ends after it starts" in refused(passage[2], {"action": "add", "code": "1.2",
                                                          "end_segment_id": passage[0]["id"]})
    # "Yeah." is too short to code: a span may not start on (or run over) it.
    assert later[0]["skip_reason"] == "too_short"
    assert "not coded (too_short)" in refused(later[0], {"action": "add", "code": "1.2",
                                                         "end_segment_id": later[1]["id"]})
    assert "is for accept, change, add" in refused(passage[0], {"action": "memo", "memo": "x",
                                                                 "end_segment_id": passage[1]["id"]})
    other = client.post("/transcripts", json={"text": INTERVIEW}).json()
    assert "transcript" in refused(passage[0], {"action": "add", "code": "1.2",
                                                "end_segment_id": other["segments"][2]["id"]})
    assert "no segment with id 2147483647" in refused(
        passage[0], {"action": "add", "code": "1.2", "end_segment_id": 2**31 - 1}, status=404)
    after = row_counts()
    assert after["decisions"] == before["decisions"] == 0


def _stored_spans(out: dict) -> set[tuple[int, int, str, float]]:
    by_id = {s["id"]: s for s in out["segments"]}
    return {(s["start"], by_id[c["span"]["end_segment_id"]]["end"], c["code_id"], c["score"])
            for s in out["segments"] for c in s["suggestions"] if c["span"]}


def test_passages_are_suggested_alike_by_post_suggest_precode_and_batch_jobs(client, posted, tmp_path):
    """A passage is suggested the same way wherever it is coded (app/engine/passages.py span_suggestions):
    stored on import, in POST /suggest with split, in pre-coding and in a batch job that stores its transcripts."""
    out = posted[0]
    stored = _stored_spans(out)
    assert stored, "the interview has passage suggestions when they are on"

    # POST /suggest: the posted text split into sentences; a span names its sentences by position in `segments`
    # and its characters in the posted text. The interviewer's turns are coded here too (nothing is skipped in a
    # snippet), so only the participant's spans are compared.
    snippet = client.post("/suggest", json={"text": INTERVIEW, "split": True})
    assert snippet.status_code == 200, snippet.text
    segments = snippet.json()["segments"]
    snippet_spans = set()
    for n, s in enumerate(segments):
        for c in s["suggestions"]:
            if c["span"] is None:
                continue
            span = c["span"]
            assert span["first_segment"] == n < span["last_segment"]
            assert (span["start"], span["end"]) == (s["start"], segments[span["last_segment"]]["end"])
            assert span["text"] == INTERVIEW[span["start"]:span["end"]]
            if not INTERVIEW[:span["start"]].rsplit("\n", 1)[-1].startswith("Interviewer"):
                snippet_spans.add((span["start"], span["end"], c["code_id"], c["score"]))
    assert snippet_spans == stored
    # Without split the text is one passage: nothing to span.
    whole = client.post("/suggest", json={"text": INTERVIEW}).json()["segments"]
    assert all(c["span"] is None for s in whole for c in s["suggestions"])

    # Pre-coding: a span is a row's code with span_end_i, the position of its last sentence.
    coder = client.app.state.coder
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "pw11.txt").write_text(INTERVIEW)
    with client.app.state.session_factory() as session:
        _, index = coder.index_for(session, None)
    options = PrecodeOptions(scoring=coder.settings.scoring(), passages=coder.settings.passages())
    Precoder(coder.settings, index, LocalEncoder(coder.embedder), options).run(discover(folder), tmp_path / "out")
    rows = pq.read_table(tmp_path / "out" / "sentences.parquet").to_pylist()
    precoded = {(r["start"], rows[r[f"span_end_{i}"]]["end"], r[f"code_{i}"], round(r[f"score_{i}"], 4))
                for r in rows for i in range(1, 6) if r[f"span_end_{i}"] is not None}
    assert precoded == stored

    # A batch job stores its transcripts with the same spans.
    job = client.post("/jobs", content=json.dumps({"text": INTERVIEW, "title": "PW11 again"}).encode() + b"\n",
                      headers={"content-type": "application/x-ndjson"})
    assert job.status_code == 202, job.text
    assert wait(client, job.json()["id"])["status"] == "done"
    listed = client.get("/transcripts", params={"limit": 10}).json()["items"]
    again = next(t for t in listed if t["title"] == "PW11 again")
    assert _stored_spans(client.get(f"/transcripts/{again['id']}").json()) == stored
