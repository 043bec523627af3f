"""Transcription markers over real HTTP: a transcript full of `[laughs]`, `(pause)` and timestamps keeps
each marker inside its sentence, codes the words alone, and the review page shows the markers muted."""

from tests.conftest import add_user
from tests.web.test_page_routes import sign_in

TEXT = """Interviewer: How did your peer worker help? [00:12:31]
SP3: It was a mountain, honestly. [laughs] But she helped me make a list of what to do first. (pause)
SP3: [sighs] We set a goal that I would walk to the park every morning. [inaudible]
SP3: [crosstalk]
Interviewer: And then?
SP3: She told me about her own time in hospital (laughs), and that made me feel less alone.
"""
CLEAN = TEXT
for marker in ("[00:12:31]", "[laughs]", "(pause)", "[sighs]", "[inaudible]", "[crosstalk]", " (laughs)"):
    CLEAN = CLEAN.replace(marker, "")


def test_markers_stay_in_their_sentence_and_scoring_reads_the_words(client):
    alice = add_user(client.app, "alice", "coder")
    made = client.post("/transcripts", headers=alice, json={"text": TEXT}).json()
    texts = [s["text"] for s in made["segments"]]
    assert "It was a mountain, honestly. [laughs]" in texts
    assert "But she helped me make a list of what to do first. (pause)" in texts
    assert "[sighs] We set a goal that I would walk to the park every morning. [inaudible]" in texts
    assert not any(t.startswith(("laughs]", "]")) or t == "[" for t in texts)
    alone = [s for s in made["segments"] if s["text"] == "[crosstalk]"]  # a turn of its own: not coded
    assert len(alone) == 1 and alone[0]["status"] == "skipped" and alone[0]["suggestions"] == []
    for segment in made["segments"]:  # every offset still points at the exact characters
        assert TEXT[segment["start"]:segment["end"]] == segment["text"]

    # The same words without markers get the same codes and scores: markers are not read.
    with_markers = client.post("/suggest", json={"text": TEXT.split("SP3: ", 2)[2], "split": True}).json()
    without = client.post("/suggest", json={"text": CLEAN.split("SP3: ", 2)[2], "split": True}).json()
    def codes(out: dict) -> list:
        return [[(c["code_id"], round(c["score"], 4)) for c in s["suggestions"]] for s in out["segments"]
                if s["text"] != "[crosstalk]" and s["text"].strip()]

    assert codes(with_markers) == codes(without)

    # The review page shows them, muted.
    sign_in(client, alice)
    page = client.get(f"/ui/transcripts/{made['id']}").text
    assert '<span class="marker">[laughs]</span>' in page and '<span class="marker">(pause)</span>' in page
