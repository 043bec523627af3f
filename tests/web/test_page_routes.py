"""The review pages over HTTP (no browser): the code picker's matching, the queue leaving out near-empty
fragments, the finish button's form post, who may see the team's progress, a passage's code shown once
with its sentence range, and a long transcript's windows of turns."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import accounts
from app.db import decisions as db
from app.db.tables import Suggestion
from app.engine.code_index import stands_alone
from app.errors import InvalidInput
from app.main import create_app
from app.services import progress
from app.web import picker
from taxonomy import load_builtin, resolve
from tests.conftest import add_user
from tests.web.long_interview import long_interview

SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
FRAGMENTS = """Interviewer: How are you getting on now?
SP4: A bit wobbly.
SP4: She came with me to the housing office and helped me fill in the forms.
SP4: We set a goal that I would get out of the house twice a week.
SP4: Not really, no.
SP4: She told me about her own time in hospital, and that made me feel less alone.
"""


@pytest.fixture(scope="module")
def codes() -> list[picker.Choice]:
    return picker.choices(resolve("bcttv1", load_builtin(Path(Settings().taxonomy_dir)).get))


def sign_in(client: TestClient, headers: dict) -> TestClient:
    token = headers["Authorization"].removeprefix("Bearer ")
    response = client.post("/ui/login", data={"token": token, "next": "/ui/transcripts"}, headers=SAME_SITE,
                           follow_redirects=False)
    assert response.status_code == 303
    return client


def test_picker_finds_codes_by_number_label_synonym_and_definition(codes):
    assert [c.id for c in picker.search(codes, "1.2")][:1] == ["1.2"]
    assert [c.id for c in picker.search(codes, "problem solving")] == ["1.2"]
    assert [c.id for c in picker.search(codes, "EMOTIONAL support")][0] == "3.3"  # any case, any order
    by_definition = picker.search(codes, "praise")  # no label says praise; definitions do
    assert by_definition and all("praise" not in c.label.casefold() for c in by_definition)
    assert all("praise" in c.definition.casefold() or "praise" in " ".join(c.synonyms).casefold()
               for c in by_definition)
    assert picker.search(codes, "xyzzy") == [] and picker.search(codes, "  ") == []

    assert picker.resolve(codes, "1.2") == "1.2"
    assert picker.resolve(codes, "1.2 Problem solving") == "1.2"  # as the list fills the box in
    assert picker.resolve(codes, "problem solving") == "1.2"
    assert picker.resolve(codes, "Social support (emotional)") == "3.3"
    assert picker.resolve(codes, "emotional support") == "3.3"  # in one label; in others' only by definition
    with pytest.raises(InvalidInput, match=r"fits 2 codes \(12.1 Restructuring the physical environment; 12.2"):
        picker.resolve(codes, "restructuring")
    with pytest.raises(InvalidInput, match="no code matches 'xyzzy'"):
        picker.resolve(codes, "xyzzy")
    with pytest.raises(InvalidInput, match="at most 200 characters"):
        picker.resolve(codes, "support " * 40)


def test_queue_leaves_out_near_empty_fragments(client):
    posted = client.post("/transcripts", json={"text": FRAGMENTS}).json()
    by_text = {s["text"]: s for s in posted["segments"]}
    wobbly = by_text["A bit wobbly."]
    assert wobbly["skip_reason"] is None  # long enough to code (min_words), so the page shows it...
    assert not stands_alone(wobbly["text"]) and not stands_alone("Not really, no.")
    coder = add_user(client.app, "quinn", "coder")
    queued = [i["segment"]["text"] for i in client.get("/review-queue", headers=coder,
                                                         params={"limit": 50}).json()["items"]]
    # ...but it says too little for its scores to teach anything: the queue holds only what stands alone.
    assert sorted(queued) == sorted(t for t, s in by_text.items() if not s["skip_reason"] and stands_alone(t))
    assert len(queued) == 3


def test_finish_button_marks_and_reopens_through_a_same_site_form(client, anonymous):
    posted = client.post("/transcripts", json={"text": FRAGMENTS, "title": "SP4"}).json()
    coder = add_user(client.app, "cleo", "coder")
    page = sign_in(anonymous, coder)
    url = f"/ui/transcripts/{posted['id']}/finished"
    refused = page.post(url, data={"finished": "true"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    done = page.post(url, data={"finished": "true", "page": "2"}, headers=SAME_SITE, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/ui/transcripts/{posted['id']}?page=2"
    with client.app.state.session_factory() as session:
        cleo = accounts.get_user(session, name="cleo")
        assert progress.finished_coders(session, [posted["id"]]) == {posted["id"]: {cleo.id}}
    assert "You marked this transcript finished" in page.get(f"/ui/transcripts/{posted['id']}").text
    page.post(url, data={"finished": "false"}, headers=SAME_SITE)
    assert "Mark transcript finished" in page.get(f"/ui/transcripts/{posted['id']}").text
    assert page.post("/ui/transcripts/99999/finished", data={"finished": "true"}, headers=SAME_SITE).status_code == 404

    viewer = sign_in(TestClient(client.app), add_user(client.app, "val", "viewer"))
    assert viewer.post(url, data={"finished": "true"}, headers=SAME_SITE).status_code == 403


@pytest.mark.parametrize("blind", [True, False])
def test_team_progress_is_for_admins_adjudicators_and_viewers_while_coding_is_blind(settings, embedder, blind):
    with TestClient(create_app(settings.model_copy(update={"blind_review": blind}), embedder)) as client:
        admin = add_user(client.app, "ana", "admin")
        posted = client.post("/transcripts", headers=admin, json={"text": FRAGMENTS, "title": "SP4"}).json()
        coder = add_user(client.app, "cleo", "coder")
        seg = next(s for s in posted["segments"] if s["suggestions"])
        assert client.post(f"/segments/{seg['id']}/decisions", headers=coder, json={
            "action": "accept", "suggestion_id": seg["suggestions"][0]["id"]}).status_code == 201
        for name, role in [("adi", "adjudicator"), ("val", "viewer"), ("ana2", "admin")]:
            page = sign_in(TestClient(client.app), add_user(client.app, name, role)).get("/ui/progress")
            assert page.status_code == 200, role
            cell = re.search(r'data-coder="cleo">(.*?)</td>', page.text, re.S).group(1)
            codable = sum(not s["skip_reason"] for s in posted["segments"])
            assert f"1 / {codable}" in cell and "finished" not in cell
        as_coder = sign_in(TestClient(client.app), coder).get("/ui/progress")
        assert as_coder.status_code == (403 if blind else 200)
        if blind:
            assert "coding is blind" in as_coder.text


def test_a_passage_code_is_shown_once_with_its_sentence_range(client, anonymous):
    """Span decisions come from the spans API; here one is stored directly, as that API stores it."""
    posted = client.post("/transcripts", json={"text": FRAGMENTS}).json()
    coder = add_user(client.app, "cleo", "coder")
    codable = [s for s in posted["segments"] if not s["skip_reason"]]
    first, last = codable[1], codable[3]
    with client.app.state.session_factory() as session:
        cleo = accounts.get_user(session, name="cleo")
        db.add_decisions(session, rows=[dict(
            transcript_id=posted["id"], segment_id=first["id"], end_segment_id=last["id"], coder_id=cleo.id,
            action="add", code_id="1.2", run_id=posted["run"]["id"], stage="coding")])
        session.commit()
    html = sign_in(anonymous, coder).get(f"/ui/transcripts/{posted['id']}").text
    a, b = first["position"] + 1, last["position"] + 1
    assert html.count(f"(sentences {a}–{b})") == 2  # on its collapsed line and in the opened view
    assert html.count("1.2</strong> Problem solving") == 2  # on the first sentence only, not on each
    summary = re.search(rf'id="seg-{first["id"]}".*?<ul class="shown-codes"(.*?)</ul>', html, re.S).group(1)
    assert "(sentences" in summary and "Problem solving" in summary

    # A passage suggestion (scored over several sentences; the spans work stores them) says which sentences.
    with client.app.state.session_factory() as session:
        session.add(Suggestion(run_id=posted["run"]["id"], segment_id=codable[0]["id"], end_segment_id=first["id"],
                               rank=9, code_id="3.3", code_label="Social support (emotional)", score=0.99,
                               evidence_kind="definition", evidence_text="Advise on, arrange, or provide emotional "
                               "social support", evidence_source="codebook definition"))
        session.commit()
    html = anonymous.get(f"/ui/transcripts/{posted['id']}").text
    article = re.search(rf'id="seg-{codable[0]["id"]}"(.*?)</article>', html, re.S).group(1)
    assert f"(passage: sentences {codable[0]['position'] + 1}–{a})" in article


def test_long_transcript_in_windows_folded_and_a_change_with_both_labels(client, anonymous):
    """The page's HTML without a browser (the Chromium tests drive it): windows of 20 turns, interviewer lines
    folded with no 'Not coded' line, and a decided sentence collapsed to 'from → to' with both labels."""
    posted = client.post("/transcripts", json={"text": long_interview(), "title": "SP7"}).json()
    coder = add_user(client.app, "cleo", "coder")
    seg = next(s for s in posted["segments"] if s["suggestions"] and s["turn_index"] < 20)
    target = "3.3" if seg["suggestions"][0]["code_id"] != "3.3" else "1.2"
    assert client.post(f"/segments/{seg['id']}/decisions", headers=coder, json={
        "action": "change", "suggestion_id": seg["suggestions"][0]["id"], "code": target}).status_code == 201
    page = sign_in(anonymous, coder)
    url = f"/ui/transcripts/{posted['id']}"

    first = page.get(url).text
    assert "Turns 1–20 (page 1 of 3)" in first and "Not coded" not in first
    interviewer = [s for s in posted["segments"] if s["turn_index"] < 20 and s["skip_reason"] == "interviewer"]
    assert first.count('<span class="count">1 interviewer sentence</span>') == len(interviewer) == 10
    assert first.count('class="seg codable') == sum(
        1 for s in posted["segments"] if s["turn_index"] < 20 and not s["skip_reason"])
    line = re.search(r'<li class="shown changed">(.*?)</li>', first, re.S).group(1)
    words = re.sub(r"<[^>]+>", " ", line).split()
    top = seg["suggestions"][0]
    labels = {"3.3": "Social support (emotional)", "1.2": "Problem solving"}
    assert words == f"{top['code_id']} {top['label']} → {target} {labels[target]} ✓ changed".split()

    assert "Turns 41–49 (page 3 of 3)" in page.get(url, params={"page": 3}).text
    assert "Turns 41–49 (page 3 of 3)" in page.get(url, params={"page": 99}).text  # past the end: the last
    late = next(s for s in posted["segments"] if s["turn_index"] == 44)
    held = page.get(url, params={"segment": late["id"]}).text
    assert "page 3 of 3" in held and f'id="seg-{late["id"]}"' in held
    filtered = page.get(url, params={"role": "supported_peer"}).text  # 24 answers: two windows
    assert "Turns 2–40 (page 1 of 2)" in filtered and 'href="?role=supported_peer&amp;page=2"' in filtered


PASSAGE = ("Interviewer: What did you two work on?\n"
           "SP4: The forms had piled up for months. She sat with me and we listed what to do first. "
           "Then we made a plan for each letter. Not really.\n"
           "SP4: She told me about her own time in hospital.\n")


def test_the_add_form_codes_a_passage_through_a_later_sentence_of_the_turn(client, anonymous):
    posted = client.post("/transcripts", json={"text": PASSAGE, "title": "SP4"}).json()
    turn = [s for s in posted["segments"] if s["turn_index"] == 1]
    codable = [s for s in turn if not s["skip_reason"]]
    assert len(codable) == 3 and turn[-1]["skip_reason"]  # "Not really." is too short to code
    first, last = codable[0], codable[-1]
    coder = add_user(client.app, "cleo", "coder")
    page = sign_in(anonymous, coder)
    html = page.get(f"/ui/transcripts/{posted['id']}").text
    form = re.search(rf'id="seg-{first["id"]}".*?<form class="add pick"(.*?)</form>', html, re.S).group(1)
    # Offered: the codable sentences after it in the same turn, and no further (not the fragment, not turn 2).
    offered = re.findall(r'<option value="(\d+)">through sentence (\d+)</option>', form)
    assert offered == [(str(s["id"]), str(s["position"] + 1)) for s in codable[1:]]
    later = re.search(rf'id="seg-{last["id"]}".*?<form class="add pick"(.*?)</form>', html, re.S).group(1)
    assert "through sentence" not in later  # the turn's last codable sentence has nothing after it

    hx = SAME_SITE | {"HX-Request": "true"}
    url = f"/ui/segments/{first['id']}/decide"
    base = {"action": "add", "code": "problem solving", "run_id": str(posted["run"]["id"])}
    refused = page.post(url, data=base | {"end_segment_id": str(turn[-1]["id"])}, headers=hx)
    assert refused.status_code == 422 and "in the span is not coded" in refused.text  # shown on the sentence
    assert page.post(url, data=base | {"end_segment_id": "x1"}, headers=hx).status_code == 422
    huge = page.post(url, data=base | {"end_segment_id": "9223372036854775808"}, headers=hx)  # was a 500
    assert huge.status_code == 422 and "sentence id" in huge.text
    added = page.post(url, data=base | {"end_segment_id": str(last["id"])}, headers=hx)
    assert added.status_code == 200
    a, b = first["position"] + 1, last["position"] + 1
    assert f"(sentences {a}–{b})" in added.text and "Problem solving" in added.text

    labels = client.get(f"/transcripts/{posted['id']}/labels", headers=coder).json()
    (on_first,) = [s for s in labels["segments"] if s["segment_id"] == first["id"]]
    assert on_first["labels"] == ["1.2"]
    assert [(sp["start_segment_id"], sp["end_segment_id"]) for sp in on_first["spans"]] == [(first["id"], last["id"])]


def test_near_misses_are_folded_under_the_line_and_can_be_accepted(client, anonymous):
    """A sentence the gate leaves uncoded still shows its best codes, folded as near misses, with scores under
    the threshold; a coder can accept one from there."""
    text = ("Interviewer: How was the week?\n"
            "SP2: I went to my cousin's fortieth that weekend, in Blackpool.\n"
            "SP2: We set a goal that I would get out of the house twice a week.\n")
    posted = client.post("/transcripts", json={"text": text, "title": "SP2"}).json()
    party, goal = [s for s in posted["segments"] if not s["skip_reason"]]
    threshold = posted["run"]["threshold"]
    assert party["status"] == "uncoded" and goal["status"] == "suggested"
    coder = add_user(client.app, "cleo", "coder")
    page = sign_in(anonymous, coder).get(f"/ui/transcripts/{posted['id']}").text
    article = re.search(rf'id="seg-{party["id"]}"(.*?)</article>', page, re.S).group(1)
    assert "No code reaches the threshold." in article and "3 near misses below the line" in article
    near = re.findall(r'data-suggestion="(\d+)".*?<span class="score" title="score">([0-9.]+)</span>', article, re.S)
    assert len(near) == 3 and all(float(score) < threshold for _, score in near)
    assert [float(s) for _, s in near] == sorted((float(s) for _, s in near), reverse=True)
    shown = re.search(rf'id="seg-{goal["id"]}"(.*?)</article>', page, re.S).group(1)
    assert shown.index('class="suggestions"') < shown.index(goal["suggestions"][0]["code_id"])
    taken = client.post(f"/segments/{party['id']}/decisions", headers=coder,
                        json={"action": "accept", "suggestion_id": int(near[0][0])})
    assert taken.status_code == 201, taken.text
