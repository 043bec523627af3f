"""Confirmed sentences are evidence at once: a coder's confirmation is suggested for a near-copy in another
transcript before any retrain, shown as a confirmed example, and only to those the blind rule lets see it. It is
computed for each reader when a transcript is read: no stored run carries it (every coder reads a stored run)."""

from tests.conftest import add_user

CONFIRMED = "He drove me to the food bank on Fridays and helped me carry the bags home."
NEAR_COPY = "He drove me to the food bank every Friday and helped carry my bags home."
CODE = "12.5"  # deliberately not what similarity would say (3.2 practical support): it can only come from the coder


def test_a_confirmed_sentence_is_evidence_for_a_near_copy_before_any_retrain(client):
    cora = add_user(client.app, "cora", "coder")
    dan = add_user(client.app, "dan", "coder")
    first = client.post("/transcripts", headers=cora,
                        json={"turns": [{"speaker": "SP1", "text": CONFIRMED}], "participant_id": "SP1"}).json()
    probe = {"text": NEAR_COPY, "top_k": 5}
    before = client.post("/suggest", headers=cora, json=probe).json()["segments"][0]["suggestions"]
    assert CODE not in [s["code_id"] for s in before]

    segment = first["segments"][0]["id"]
    added = client.post(f"/segments/{segment}/decisions", headers=cora, json={"action": "add", "code": CODE})
    assert added.status_code == 201, added.text
    assert client.get("/models/serving").json()["version"] is None  # nothing retrained

    second = client.post("/transcripts", headers=cora,
                         json={"turns": [{"speaker": "SP2", "text": NEAR_COPY}], "participant_id": "SP2"}).json()
    stored = second["segments"][0]["suggestions"]
    assert all(s["evidence"]["kind"] != "confirmed" and "cora" not in s["evidence"]["source"] for s in stored)
    mine = client.get(f"/transcripts/{second['id']}", headers=cora).json()["segments"][0]["confirmed"]
    assert mine[0]["code_id"] == CODE and mine[0]["score"] >= 0.75
    assert mine[0]["evidence"]["kind"] == "confirmed" and mine[0]["evidence"]["text"] == CONFIRMED
    assert f"transcript {first['id']}" in mine[0]["evidence"]["source"] and "cora" in mine[0]["evidence"]["source"]
    # The confirmed sentence is no evidence for itself.
    assert client.get(f"/transcripts/{first['id']}", headers=cora).json()["segments"][0]["confirmed"] == []

    # Blind coding: another coder's suggestions never draw on cora's confirmations; an admin's do.
    theirs = client.post("/suggest", headers=dan, json=probe).json()["segments"][0]["suggestions"]
    assert CODE not in [s["code_id"] for s in theirs]
    assert client.get(f"/transcripts/{second['id']}", headers=dan).json()["segments"][0]["confirmed"] == []
    admin = client.post("/suggest", json=probe).json()["segments"][0]["suggestions"]
    assert admin[0]["code_id"] == CODE
    assert client.get(f"/transcripts/{second['id']}").json()["segments"][0]["confirmed"][0]["code_id"] == CODE
