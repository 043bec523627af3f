"""Posting a transcript through HTTP: segments, offsets, stored suggestions, filters and re-runs."""

from sqlalchemy import create_engine, text

INTERVIEW = """Interviewer: How was it working with your peer worker?
SP3: She never judged me, not once. I felt safe with her and I could tell her anything.
She came with me to the housing office and helped me fill in the forms.
Interviewer: Anything else?
SP3: Yeah. We set a goal that I would get out of the house twice a week.
"""


def post(client, **body):
    response = client.post("/transcripts", json={"text": INTERVIEW, "participant_id": "SP3", "role": "supported_peer",
                                                 "site": "Setting_5", "trial_arm": "peer support", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_post_returns_segments_with_exact_offsets_and_suggestions(client):
    out = post(client)
    assert out["participant_id"] == "SP3" and out["site"] == "Setting_5" and out["trial_arm"] == "peer support"
    assert out["segment_count"] == len(out["segments"]) == 7
    for seg in out["segments"]:
        assert out["text"][seg["start"]:seg["end"]] == seg["text"]
    by_text = {s["text"]: s for s in out["segments"]}
    assert by_text["Anything else?"]["status"] == "skipped"
    assert by_text["Anything else?"]["skip_reason"] == "interviewer"
    assert by_text["Yeah."]["skip_reason"] == "too_short"
    forms = by_text["She came with me to the housing office and helped me fill in the forms."]
    assert forms["role"] == "supported_peer" and forms["status"] == "suggested"
    assert "3.2" in [s["code_id"] for s in forms["suggestions"]]  # Social support (practical)
    goal = by_text["We set a goal that I would get out of the house twice a week."]
    # Goal setting (behaviour) is shown. The default encoder puts it first (0.76); the bundled MiniLM these
    # tests run on puts 1.5 (reviewing a goal) first since the six interview sets joined the codebook.
    assert "1.1" in [s["code_id"] for s in goal["suggestions"][:2]]
    assert goal["suggestions"][0]["evidence"]["kind"] in {"definition", "exemplar"}
    scores = [s["score"] for s in goal["suggestions"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_every_suggestion_records_the_model_and_codebook_version(client, settings):
    out = post(client, codebook="bcttv1+relational-aspects")
    run = out["run"]
    assert run["model"].startswith("all-MiniLM-L6-v2@")
    assert run["codebook"] == "bcttv1+relational-aspects"
    assert run["codebook_version"] == "interview-talk@1.0.0+bcttv1@1.1.0+relational-aspects@1.1.0"
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(text(
            "select r.model_id, r.codebook_digest, count(s.id), count(distinct snap.digest) from suggestions s "
            "join suggestion_runs r on r.id = s.run_id join codebook_snapshots snap on snap.digest = r.codebook_digest "
            "group by r.model_id, r.codebook_digest"
        )).one()
        embedded = conn.execute(text("select count(*) from segments where embedding is not null")).scalar()
    engine.dispose()
    assert stored[0] == run["model"] and stored[1] == run["codebook_digest"] and stored[3] == 1
    assert stored[2] == 4 * run["top_k"]  # four coded sentences, top_k stored for each
    assert embedded == 7


def test_get_filters_by_code_role_and_score(client):
    tid = post(client)["id"]
    practical = client.get(f"/transcripts/{tid}/suggestions", params={"code": "3.2"}).json()["segments"]
    assert [s["text"] for s in practical] == [
        "She came with me to the housing office and helped me fill in the forms."]
    interviewer = client.get(f"/transcripts/{tid}/suggestions", params={"role": "interviewer"}).json()["segments"]
    assert {s["speaker"] for s in interviewer} == {"Interviewer"}
    everything = client.get(f"/transcripts/{tid}/suggestions", params={"min_score": 0}).json()["segments"]
    strict = client.get(f"/transcripts/{tid}/suggestions", params={"min_score": 0.5}).json()["segments"]
    assert sum(len(s["suggestions"]) for s in everything) == 20
    assert all(x["score"] >= 0.5 for s in strict for x in s["suggestions"])
    assert sum(len(s["suggestions"]) for s in strict) < 20


def test_interviewer_turns_are_coded_only_when_asked(client):
    out = post(client, code_interviewer=True)
    question = next(s for s in out["segments"] if s["text"] == "How was it working with your peer worker?")
    assert question["skip_reason"] is None and question["suggestions"] is not None


def test_an_off_topic_sentence_is_left_uncoded_not_forced(client):
    out = client.post("/transcripts", json={"text": "SP1: The number 73 bus was late on Tuesday because of the rain."})
    [segment] = out.json()["segments"]
    assert segment["status"] == "uncoded" and segment["suggestions"] == []


def test_json_turns_and_the_list(client):
    out = client.post("/transcripts", json={"title": "PW interview", "turns": [
        {"speaker": "Interviewer", "text": "What do you share with the people you support?"},
        {"speaker": "Lee", "role": "peer_worker", "text": "I tell them I've been in hospital myself, so they know "
                                                          "I've been through something like it."}]})
    assert out.status_code == 201, out.text
    body = out.json()
    assert body["source_format"] == "turns"
    lee = [s for s in body["segments"] if s["speaker"] == "Lee"]
    assert lee[0]["role"] == "peer_worker" and lee[0]["suggestions"][0]["code_id"] == "17.1"
    page = client.get("/transcripts").json()
    assert page["total"] == 1 and page["items"][0]["title"] == "PW interview"


def test_plain_text_body_with_metadata_in_the_query(client):
    response = client.post("/transcripts/plain", content=INTERVIEW.encode(),
                           params={"participant_id": "SP3", "codebook": "relational-aspects", "top_k": 2},
                           headers={"content-type": "text/plain"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["run"]["codebook"] == "relational-aspects" and body["run"]["top_k"] == 2
    assert all(s["code_id"].startswith("17.") for seg in body["segments"] for s in seg["suggestions"])


def test_resuggest_keeps_history_and_reuses_embeddings(client, row_counts):
    first = post(client)
    before = row_counts()
    again = client.post(f"/transcripts/{first['id']}/runs", json={"codebook": "peer-change-model", "context": 1})
    assert again.status_code == 201, again.text
    run = again.json()["run"]
    assert run["id"] != first["run"]["id"] and run["codebook"] == "peer-change-model" and run["context"] == 1
    after = row_counts()
    assert after["suggestion_runs"] == before["suggestion_runs"] + 1
    assert after["segments"] == before["segments"]  # the same sentences, not a copy
    current = client.get(f"/transcripts/{first['id']}").json()
    assert current["run"]["id"] == run["id"]
    assert all(s["code_id"].startswith("M") for seg in current["segments"] for s in seg["suggestions"])


def test_context_lets_a_short_sentence_borrow_meaning_from_its_turn(client):
    text = ("SP3: I knew that whatever I told her would stay between us. That meant a lot.\n"
            "Interviewer: Right, and what about the forms?\n")

    def short(context, threshold=None):
        body = {"text": text, "context": context, "top_k": 3}
        if threshold is not None:
            body["threshold"] = threshold
        out = client.post("/transcripts", json=body).json()
        return next(s for s in out["segments"] if s["text"] == "That meant a lot.")

    assert short(0)["status"] == "uncoded"
    alone, with_context = short(0, threshold=0.0), short(1, threshold=0.0)  # every candidate shown
    ranked_alone = [c["code_id"] for c in alone["suggestions"]]
    ranked_with = [c["code_id"] for c in with_context["suggestions"]]
    # Offer confidentiality, from its neighbour: not among the sentence's own first three, among them with the
    # neighbour (17.5 Validating relationship, what "That meant a lot." says by itself, stays first: the codebook
    # classifier ranks it so; under similarity alone 17.4 came first).
    assert "17.4" not in ranked_alone and "17.4" in ranked_with, (ranked_alone, ranked_with)
    # Whether it is then suggested is the background's call: "That meant a lot." with its neighbour still
    # matches ordinary talk about as well as 17.4 (0.35 vs 0.38), so it stays under the threshold; the
    # interview development half measured context as a net loss (docs/evaluation.md).
    assert short(1)["status"] == "uncoded"
