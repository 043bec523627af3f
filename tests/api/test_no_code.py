"""'No code applies' (action none): a coder decides a sentence carries no code. It counts as decided on the
page and in the team's progress, leaves the review queue, reads as absence in agreement, and a later code
undoes it. The team's progress lists coders, not the adjudicator."""

from tests.conftest import add_user
from tests.web.test_page_routes import SAME_SITE, sign_in

TEXT = """Interviewer: How did your peer worker help?
SP3: She helped me make a list of what to do first and we set a goal to walk every morning.
SP3: The weather was grey that whole month and the buses were always late.
SP3: She told me about her own time in hospital, and that made me feel less alone.
"""


def test_no_code_applies_counts_as_decided_everywhere(client, anonymous):
    alice, bob = add_user(client.app, "alice", "coder"), add_user(client.app, "bob", "coder")
    add_user(client.app, "judy", "adjudicator")
    made = client.post("/transcripts", json={"text": TEXT}).json()
    tid = made["id"]
    coded = [s for s in made["segments"] if s["status"] != "skipped"]
    first, weather, last = coded
    decide = f"/segments/{first['id']}/decisions"

    # alice accepts a code on the first sentence, then decides no code applies: her code is withdrawn.
    accepted = {"action": "accept", "suggestion_id": first["suggestions"][0]["id"]}
    assert anonymous.post(decide, headers=alice, json=accepted).status_code == 201
    out = anonymous.post(decide, headers=alice, json={"action": "none"})
    assert out.status_code == 201, out.text
    assert anonymous.post(decide, headers=alice, json={"action": "none", "code": "1.1"}).status_code == 422
    labels = {s["segment_id"]: s for s in anonymous.get(f"/transcripts/{tid}/labels", headers=alice).json()["segments"]}
    assert labels[first["id"]]["labels"] == [] and labels[first["id"]]["no_code"] is True
    # Every sentence decided: two with no code, one with a code.
    for seg in (weather, last):
        assert anonymous.post(f"/segments/{seg['id']}/decisions", headers=alice,
                              json={"action": "none"}).status_code == 201
    assert anonymous.post(f"/segments/{last['id']}/decisions", headers=alice,
                          json={"action": "add", "code": "3.1"}).status_code == 201  # a code undoes it
    labels = {s["segment_id"]: s for s in anonymous.get(f"/transcripts/{tid}/labels", headers=alice).json()["segments"]}
    assert labels[last["id"]]["labels"] == ["3.1"] and labels[last["id"]]["no_code"] is False

    # The queue has nothing left for alice on this transcript; bob still has it.
    queued = {i["segment"]["id"] for i in anonymous.get("/review-queue", headers=alice).json()["items"]}
    assert not queued & {s["id"] for s in coded}
    # The page says every sentence is decided, and shows the decision.
    page = sign_in(anonymous, alice).get(f"/ui/transcripts/{tid}").text
    assert f"You have decided on {len(coded)} of {len(coded)} sentences." in page
    assert "No code applies" in page and 'class="no-code"' in page
    anonymous.cookies.clear()

    # A memo alone is a note, not a decision: bob's sentence stays open on his page and in progress.
    assert anonymous.post(decide, headers=bob, json={"action": "memo", "memo": "ask the team"}).status_code == 201
    assert f"You have decided on 0 of {len(coded)} sentences." in sign_in(anonymous, bob).get(
        f"/ui/transcripts/{tid}").text
    anonymous.cookies.clear()

    # The team's progress: alice 3 of 3, bob 0 of 3; the adjudicator is not a coder there.
    progress = sign_in(anonymous, {"Authorization": client.headers["Authorization"]}).get("/ui/progress").text
    anonymous.cookies.clear()
    assert "alice" in progress and "bob" in progress and "judy" not in progress
    assert f'aria-label="alice: {len(coded)} of {len(coded)} decided"' in progress
    assert f'aria-label="bob: 0 of {len(coded)} decided"' in progress
    # Finishing is allowed either way, and says what is left.
    for who, left in ((alice, 0), (bob, len(coded))):
        done = anonymous.post(f"/transcripts/{tid}/finished", headers=who, json={})
        assert done.status_code == 200 and done.json()["undecided"] == left, done.text
        assert anonymous.post(f"/transcripts/{tid}/finished", headers=who, json={"finished": False}).status_code == 200

    # Agreement: alice's "none" is absence of every code; bob adds 3.1 on the last sentence too.
    assert anonymous.post(f"/segments/{last['id']}/decisions", headers=bob,
                          json={"action": "add", "code": "3.1"}).status_code == 201
    for who in (alice, bob):
        assert anonymous.post(f"/transcripts/{tid}/finished", headers=who, json={"finished": True}).status_code \
            in (200, 201)
    report = client.get(f"/transcripts/{tid}/agreement").json()
    pair = report["pairs"][0]
    assert pair["units"] == len(coded)
    # alice's "none" sentences agree with bob's undecided ones: both absent
    assert pair["percent_agreement"] == 1.0 and pair["kappa"] == 1.0


def test_the_page_button_decides_no_code(client, anonymous):
    alice = add_user(client.app, "alice", "coder")
    made = client.post("/transcripts", json={"text": TEXT}).json()
    seg = next(s for s in made["segments"] if s["status"] != "skipped")
    sign_in(anonymous, alice)
    page = anonymous.get(f"/ui/transcripts/{made['id']}").text
    assert f'hx-post="/ui/segments/{seg["id"]}/decide"' in page and "No code applies" in page
    fragment = anonymous.post(f"/ui/segments/{seg['id']}/decide", data={"action": "none", "run_id": made["run"]["id"]},
                              headers={**SAME_SITE, "HX-Request": "true"})
    assert fragment.status_code == 200, fragment.text
    assert "collapsed" in fragment.text and "No code applies" in fragment.text
