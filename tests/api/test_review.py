"""Review end to end over HTTP with two coders: roles, every decision kept and replayable, blind coding,
stale decisions refused with 409, batches all-or-nothing, agreement figures."""

import pytest
from sqlalchemy import create_engine, func, select

from app.db.tables import Decision
from app.errors import Conflict
from app.services.review import SegmentLabels, apply
from tests.conftest import add_user

INTERVIEW = """Interviewer: How was it working with your peer worker?
SP3: She never judged me, not once. I felt safe with her and I could tell her anything.
She came with me to the housing office and helped me fill in the forms.
We set a goal that I would get out of the house twice a week.
She told me about her own time in hospital, and that made me feel less alone.
"""


@pytest.fixture
def coded(client):
    """A transcript posted by the admin, and the headers of two coders and a viewer."""
    out = client.post("/transcripts", json={"text": INTERVIEW, "participant_id": "SP3"}).json()
    segments = [s for s in out["segments"] if s["suggestions"]]
    assert len(segments) == 5
    people = {name: add_user(client.app, name, role) for name, role in
              [("alice", "coder"), ("bob", "coder"), ("vera", "viewer")]}
    return out, segments, people


def decisions_in_db(settings) -> int:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Decision))
    engine.dispose()
    return count


def test_roles_are_enforced(client, anonymous, coded):
    out, segments, people = coded
    no_token = anonymous.get("/transcripts")
    assert no_token.status_code == 401 and no_token.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in no_token.json()["detail"]
    assert anonymous.get("/transcripts", headers={"Authorization": "Bearer bca_wrong"}).status_code == 401
    assert anonymous.get("/health").status_code == 200  # open, for load balancers
    viewer, coder = people["vera"], people["alice"]
    assert anonymous.get("/transcripts", headers=viewer).status_code == 200
    assert anonymous.get("/users/me", headers=viewer).json()["role"] == "viewer"
    refused = anonymous.post("/transcripts", headers=viewer, json={"text": INTERVIEW})
    assert refused.status_code == 403 and "vera is a viewer" in refused.json()["detail"]
    first = segments[0]["suggestions"][0]
    assert anonymous.post(f"/segments/{segments[0]['id']}/decisions", headers=viewer,
                          json={"action": "accept", "suggestion_id": first["id"]}).status_code == 403
    assert anonymous.post("/codebooks", headers=coder, content="name: x\ncodes: [{id: a, label: A}]").status_code == 403
    assert anonymous.get("/users", headers=coder).status_code == 403
    assert anonymous.post("/users", headers=coder, json={"name": "eve", "role": "admin"}).status_code == 403
    # Admins manage users; a deactivated user's token stops working, their decisions stay.
    made = client.post("/users", json={"name": "carl", "role": "coder"})
    assert made.status_code == 201 and made.json()["token"].startswith("bca_")
    carl = {"Authorization": f"Bearer {made.json()['token']}"}
    assert anonymous.post(f"/segments/{segments[0]['id']}/decisions", headers=carl,
                          json={"action": "accept", "suggestion_id": first["id"]}).status_code == 201
    assert client.post("/users", json={"name": "carl", "role": "coder"}).status_code == 409
    assert client.post("/users/carl/deactivate").json()["active"] is False
    assert anonymous.get("/transcripts", headers=carl).status_code == 401
    assert len(client.get(f"/transcripts/{out['id']}/decisions", params={"coder": "carl"}).json()) == 1
    # The last active admin, and an admin's own account, stay: nobody could manage users over HTTP otherwise.
    last = client.post("/users/admin/deactivate")
    assert last.status_code == 409 and "cannot deactivate themselves" in last.json()["detail"]
    dana = client.post("/users", json={"name": "dana", "role": "admin"}).json()["token"]
    own = anonymous.post("/users/dana/deactivate", headers={"Authorization": f"Bearer {dana}"})
    assert own.status_code == 409 and "cannot deactivate themselves" in own.json()["detail"]
    assert anonymous.post("/users/admin/deactivate", headers={"Authorization": f"Bearer {dana}"}).json()[
        "active"] is False
    alone = client.post("/users/dana/deactivate", headers={"Authorization": f"Bearer {dana}"})
    assert alone.status_code == 409
    with client.app.state.session_factory() as session:
        from app.services.accounts import set_active

        with pytest.raises(Conflict, match="last active admin"):
            set_active(session, "dana", False)  # the command line too


def test_two_coders_every_decision_kept_and_replayable(client, anonymous, coded, settings):
    out, segments, people = coded
    alice, bob = people["alice"], people["bob"]
    run_id = out["run"]["id"]
    s0, s1, s2, s3 = segments[:4]

    def decide(who, segment, **body):
        response = anonymous.post(f"/segments/{segment['id']}/decisions", headers=who, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    first = decide(alice, s0, action="accept", suggestion_id=s0["suggestions"][0]["id"], run_id=run_id)
    assert first["labels"] == [{"segment_id": s0["id"], "labels": [s0["suggestions"][0]["code_id"]],
                                "rejected": [], "memos": [], "spans": [], "no_code": False}]
    decision = first["decisions"][0]
    assert decision["coder"] == "alice" and decision["model"] == out["run"]["model"]
    assert decision["codebook_version"] == out["run"]["codebook_version"] and decision["run_id"] == run_id
    decide(alice, s1, action="reject", suggestion_id=s1["suggestions"][0]["id"])
    changed = decide(alice, s2, action="change", suggestion_id=s2["suggestions"][0]["id"], code="17.2")
    assert changed["labels"][0]["labels"] == ["17.2"]
    assert changed["labels"][0]["rejected"] == [s2["suggestions"][0]["code_id"]]
    decide(alice, s3, action="add", code="17.5")
    decide(alice, s3, action="memo", memo="Reads like trust rather than support.")
    removed = decide(alice, s3, action="remove", code="17.5")
    assert removed["labels"][0]["labels"] == [] and removed["labels"][0]["memos"] == [
        "Reads like trust rather than support."]
    decide(bob, s0, action="accept", suggestion_id=s0["suggestions"][0]["id"])
    decide(bob, s1, action="add", code="3.3")

    # Everything is kept, in order, with who and when; replaying the trail gives the current labels.
    trail = client.get(f"/transcripts/{out['id']}/decisions").json()
    assert [(d["coder"], d["action"]) for d in trail] == [
        ("alice", "accept"), ("alice", "reject"), ("alice", "change"), ("alice", "add"), ("alice", "memo"),
        ("alice", "remove"), ("bob", "accept"), ("bob", "add")]
    assert decisions_in_db(settings) == 8
    replayed: dict[int, SegmentLabels] = {}
    for d in trail:
        if d["coder"] == "alice":
            apply(replayed.setdefault(d["segment_id"], SegmentLabels()), d["action"], d["code_id"],
                  d["from_code_id"], d["memo"])
    served = anonymous.get(f"/transcripts/{out['id']}/labels", headers=alice).json()
    assert served["coder"] == "alice"
    assert {s["segment_id"]: s["labels"] for s in served["segments"]} == {k: v.labels for k, v in replayed.items()}

    # Blind coding: alice sees only her own trail and cannot read bob's labels; admins and viewers see all.
    assert {d["coder"] for d in anonymous.get(f"/transcripts/{out['id']}/decisions", headers=alice).json()} == {
        "alice"}
    assert anonymous.get(f"/transcripts/{out['id']}/labels", headers=alice,
                         params={"coder": "bob"}).status_code == 403
    bob_labels = anonymous.get(f"/transcripts/{out['id']}/labels", headers=people["vera"], params={"coder": "bob"})
    assert {s["segment_id"]: s["labels"] for s in bob_labels.json()["segments"]} == {
        s0["id"]: [s0["suggestions"][0]["code_id"]], s1["id"]: ["3.3"]}
    history = client.get(f"/segments/{s3['id']}/decisions").json()
    assert [d["action"] for d in history] == ["add", "memo", "remove"]


def test_bad_decisions_get_clear_errors(client, coded):
    out, segments, _ = coded
    s0, s1 = segments[:2]
    cases = [
        ({"action": "accept"}, 422, "needs the suggestion_id"),
        ({"action": "accept", "suggestion_id": s1["suggestions"][0]["id"]}, 422, "is not a suggestion on segment"),
        ({"action": "add", "code": "99.9"}, 422, "'99.9' is not a codable code"),
        ({"action": "add", "code": "17"}, 422, "'17' is not a codable code"),  # a group, not a technique
        ({"action": "change", "suggestion_id": s0["suggestions"][0]["id"], "code": s0["suggestions"][0]["code_id"]},
         422, "to a different code"),
        ({"action": "remove", "code": "1.1"}, 409, "is not among your labels"),
        ({"action": "memo", "memo": "   "}, 422, "a memo is 1 to"),
        ({"action": "shrug"}, 422, ""),
    ]
    for body, status, message in cases:
        response = client.post(f"/segments/{s0['id']}/decisions", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.text
    assert client.post("/segments/999999/decisions", json={"action": "add", "code": "1.1"}).status_code == 404
    assert client.get(f"/transcripts/{out['id']}/decisions").json() == []


def test_stale_decision_is_refused_with_409(client, coded, settings):
    out, segments, people = coded
    old = segments[0]["suggestions"][0]
    rerun = client.post(f"/transcripts/{out['id']}/runs", json={"threshold": 0.2})
    assert rerun.status_code == 201
    stale = client.post(f"/segments/{segments[0]['id']}/decisions", headers=people["alice"],
                        json={"action": "accept", "suggestion_id": old["id"]})
    assert stale.status_code == 409 and "suggested again since" in stale.json()["detail"]
    pinned = client.post(f"/segments/{segments[0]['id']}/decisions", headers=people["alice"],
                         json={"action": "add", "code": "1.1", "run_id": out["run"]["id"]})
    assert pinned.status_code == 409 and "no longer current" in pinned.json()["detail"]
    assert decisions_in_db(settings) == 0
    fresh = rerun.json()["segments"]
    new = next(s for s in fresh if s["id"] == segments[0]["id"])["suggestions"][0]
    assert client.post(f"/segments/{segments[0]['id']}/decisions", headers=people["alice"],
                       json={"action": "accept", "suggestion_id": new["id"]}).status_code == 201


def test_batches_are_all_or_nothing(client, coded, settings):
    out, segments, people = coded
    good = [{"segment_id": s["id"], "action": "accept", "suggestion_id": s["suggestions"][0]["id"]}
            for s in segments[:3]]
    bad = client.post(f"/transcripts/{out['id']}/decisions", headers=people["alice"],
                      json={"decisions": good + [{"segment_id": segments[3]["id"], "action": "add", "code": "0.0"}]})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("decision 4: ")
    assert decisions_in_db(settings) == 0
    other = client.post("/transcripts", json={"text": INTERVIEW}).json()
    mixed = client.post(f"/transcripts/{other['id']}/decisions", headers=people["alice"], json={"decisions": good})
    assert mixed.status_code == 422 and f"transcript {other['id']}" in mixed.json()["detail"]
    ok = client.post(f"/transcripts/{out['id']}/decisions", headers=people["alice"], json={"decisions": good})
    assert ok.status_code == 201 and len({d["batch_id"] for d in ok.json()["decisions"]}) == 1
    # Accept everything over a score: one transaction, one batch id, exactly the suggestions over it.
    over = [s for seg in segments for s in seg["suggestions"] if s["score"] >= 0.4]
    accepted = client.post(f"/transcripts/{out['id']}/accept", headers=people["bob"],
                           json={"min_score": 0.4, "run_id": out["run"]["id"]})
    assert accepted.status_code == 201
    assert sorted(d["suggestion_id"] for d in accepted.json()["decisions"]) == sorted(s["id"] for s in over)
    assert decisions_in_db(settings) == 3 + len(over)
    none = client.post(f"/transcripts/{out['id']}/accept", headers=people["bob"], json={"min_score": 0.99})
    assert none.status_code == 422


def test_agreement_matches_the_worked_kappa_example(client, anonymous):
    """Cohen's kappa article's example: 50 items, both yes 20, A yes B no 5, A no B yes 10, both no 15:
    p_o = 0.70, p_e = 0.50, kappa = 0.40 (and Krippendorff's alpha for these 100 values is 0.40 too)."""
    text = "\n".join(f"SP1: Sentence number {i} is about something worth saying." for i in range(50))
    out = client.post("/transcripts", json={"text": text, "threshold": 0.0}).json()
    segments = out["segments"]
    assert len(segments) == 50
    people = {n: add_user(client.app, n, "coder") for n in ("alice", "bob")}
    pattern = ["yy"] * 20 + ["yn"] * 5 + ["ny"] * 10 + ["nn"] * 15

    def batch(who: str, column: int) -> None:
        body = [{"segment_id": s["id"], "action": "add", "code": "1.1"} if p[column] == "y" else
                {"segment_id": s["id"], "action": "reject", "suggestion_id": s["suggestions"][0]["id"]}
                for s, p in zip(segments, pattern, strict=True)]
        response = anonymous.post(f"/transcripts/{out['id']}/decisions", headers=people[who], json={"decisions": body})
        assert response.status_code == 201, response.text

    batch("alice", 0)
    batch("bob", 1)
    # Only transcripts a coder marked finished count: until both have, there is nothing to compare.
    finished = anonymous.post(f"/transcripts/{out['id']}/finished", headers=people["alice"])
    assert finished.status_code == 200 and finished.json()["finished_by"] == ["alice"]
    report = client.get(f"/transcripts/{out['id']}/agreement").json()
    assert report["units"] == 0 and report["pairs"][0]["units"] == 0 and report["unfinished"] == {"bob": [out["id"]]}
    # Under blind coding bob learns only that he has finished, not who else has.
    assert anonymous.post(f"/transcripts/{out['id']}/finished", headers=people["bob"],
                          json={"finished": True}).json()["finished_by"] == ["bob"]
    # Blind coding: coders cannot see agreement; admins can.
    assert anonymous.get(f"/transcripts/{out['id']}/agreement", headers=people["alice"]).status_code == 403
    report = client.get(f"/transcripts/{out['id']}/agreement").json()
    assert report["coders"] == ["alice", "bob"] and report["units"] == 50 and report["codes"] == ["1.1"]
    assert report["transcripts"] == [out["id"]] and report["unfinished"] == {}
    (pair,) = report["pairs"]
    assert pair["units"] == 50 and pair["transcripts"] == 1
    assert pair["kappa"] == pytest.approx(0.40) and pair["percent_agreement"] == pytest.approx(0.70)
    assert (pair["prevalence_a"], pair["prevalence_b"]) == (0.5, 0.6)
    assert report["alpha"] == pytest.approx(0.40)  # 1 - 99 * 15 / (55 * 45): here exactly kappa's 0.40
    (code,) = report["per_code"]
    assert code["applied"] == {"alice": 25, "bob": 30} and code["pairs"][0]["kappa"] == pytest.approx(0.40)
    assert code["prevalence"] == {"alice": 0.5, "bob": 0.6}
    # The model counts as a rater: its shown suggestions against each coder.
    assert [(m["a"], m["b"], m["units"]) for m in report["model"]] == [("model", "alice", 50), ("model", "bob", 50)]
    # Reopened by bob: the transcript leaves agreement again.
    assert anonymous.delete(f"/transcripts/{out['id']}/finished", headers=people["bob"]).json()["finished"] is False
    assert client.get("/agreement").json()["units"] == 0
    assert anonymous.post(f"/transcripts/{out['id']}/finished", headers=people["bob"]).status_code == 200
    table = client.get("/agreement", params={"format": "table"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/plain")
    assert "alice / bob" in table.text and "0.400" in table.text and "70.0" in table.text
