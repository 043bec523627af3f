"""Listing, reading and uploading codebooks over HTTP."""

import yaml

MINE = """
name: my-peer-codes
title: Our team's peer-support codes
version: "0.1"
extends: [bcttv1]
codes:
  - id: P
    label: Peer-specific
  - id: P.1
    parent: P
    label: Talking about medication side effects
    definition: The peer worker and the person talk about side effects of their psychiatric medication.
    exemplars:
      - {text: "We talked about how the tablets made me put on weight and feel slow.", source: team pilot}
  - id: P.2
    parent: "3"
    label: Going for a walk together
    definition: Peer worker and person go out walking together during a session.
"""


def test_list_and_read_builtin_codebooks(client):
    listed = {c["name"]: c for c in client.get("/codebooks").json()}
    assert listed["bcttv1"]["leaves"] == 93 and listed["bcttv1"]["origin"] == "builtin"
    assert listed["relational-aspects"]["leaves"] == 5
    combined = client.get("/codebooks/bcttv1+relational-aspects").json()
    assert len(combined["leaves"]) == 98
    assert [p["name"] for p in combined["parts"]] == ["interview-talk", "bcttv1", "relational-aspects"]
    assert "Marks" in combined["parts"][2]["attribution"]
    sources = {b["source"] for b in combined["background"]}  # what "no code" is learned from, shown with its source
    assert any(s.startswith("interview set") for s in sources) and len(combined["background"]) > 100
    assert combined["background_borrowed"] is False
    assert client.get("/codebooks/peer-change-model").json()["background_borrowed"] is True


def test_upload_yaml_extend_a_builtin_and_use_it(client):
    r = client.post("/codebooks", content=MINE.encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    assert r.json()["leaves"] == 93 + 2  # P.2 hangs under BCTTv1's group 3, so group 3 stays a group
    again = client.post("/codebooks", content=MINE.encode())
    assert again.status_code == 200 and again.json()["created"] is False  # same content: no new version
    listed = {c["name"]: c for c in client.get("/codebooks").json()}
    assert listed["my-peer-codes"]["origin"] == "upload" and listed["my-peer-codes"]["extends"] == ["bcttv1"]
    # The team's own words: with the tests' `fast` encoder, "the tablets made her put on weight and she felt slow"
    # sits as close to 4.3 (re-attribution: "it was the medication and my body", an interview-set exemplar) as
    # to P.1; the default encoder puts P.1 first there too (0.80 against 0.002).
    out = client.post("/suggest", json={"text": "We talked about how her tablets made her put on weight and feel slow.",
                                        "codebook": "my-peer-codes", "top_k": 3}).json()
    assert out["segments"][0]["suggestions"][0]["code_id"] == "P.1"
    assert out["segments"][0]["suggestions"][0]["evidence"]["source"] == "team pilot"


def test_upload_json_and_a_new_version(client):
    book = yaml.safe_load(MINE) | {"extends": []}
    book["codes"] = [c for c in book["codes"] if c["id"] != "P.2"]
    first = client.post("/codebooks", json=book)
    assert first.status_code == 201
    book["version"] = "0.2"
    book["codes"][1]["definition"] += " Also interactions."
    second = client.post("/codebooks", json=book)
    assert second.status_code == 201 and second.json()["digest"] != first.json()["digest"]
    assert client.get("/codebooks/my-peer-codes").json()["version"] == "my-peer-codes@0.2"
