"""Managing transcripts through HTTP: an adjudicator edits metadata and the speaker map, each change is an
audit row, roles are re-derived (skip reasons with them, decisions kept, stale suggestions said); speakers read
as 'other' are warned about; import takes per-file metadata from file names or a manifest."""

import io

import docx

from tests.conftest import add_user

# "R" is a common interviewer label that no role pattern reads: it falls to 'other'.
INTERVIEW = """R: How was it working with your peer worker over the last few months?
SP3: She never judged me, not once. I felt safe with her and I could tell her anything.
R: And what did the two of you actually do together each week?
SP3: We set a goal that I would get out of the house twice a week.
"""
OTHER_R = ("speakers read as 'other' (not in the peer worker / supported peer columns): R; set a speaker map "
           "(speaker_roles, e.g. --speaker-role 'R=interviewer') or the participant's role")


def test_edit_speaker_map_rederives_roles_with_an_audit_row(client, anonymous):
    out = client.post("/transcripts", json={"text": INTERVIEW, "participant_id": "SP3", "site": "Setting_5"}).json()
    tid = out["id"]
    assert out["warnings"] == [OTHER_R]
    r_segments = [s for s in out["segments"] if s["speaker"] == "R"]
    assert {(s["role"], s["skip_reason"]) for s in r_segments} == {("other", None)}  # coded, wrongly
    coder = add_user(client.app, "cora", "coder")
    judge = add_user(client.app, "judy", "adjudicator")
    decided = anonymous.post(f"/segments/{r_segments[0]['id']}/decisions", headers=coder,
                             json={"action": "add", "code": "1.1"})
    assert decided.status_code == 201, decided.text

    refused = anonymous.patch(f"/transcripts/{tid}", headers=coder, json={"site": "Leeds"})
    assert refused.status_code == 403 and "adjudicator" in refused.json()["detail"]
    edited = anonymous.patch(f"/transcripts/{tid}", headers=judge,
                             json={"site": "Leeds", "speaker_roles": {"R": "interviewer"}})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["roles_changed"] == {"R": ["other", "interviewer"]}
    assert (body["now_skipped"], body["now_coded"], body["decisions_kept"], body["stale"]) == (2, 0, 1, True)
    assert body["notes"] == [
        f"2 sentence(s) are now the interviewer's and no longer coded; the current run's suggestions on them are "
        f"stale until a new run (POST /transcripts/{tid}/runs)",
        "1 decision(s) on sentences whose role changed are kept as they were"]
    assert body["transcript"]["site"] == "Leeds" and body["transcript"]["warnings"] == []
    assert body["transcript"]["speaker_roles"] == {"R": "interviewer"}

    now = client.get(f"/transcripts/{tid}").json()
    assert now["warnings"] == [] and now["site"] == "Leeds"
    assert {(s["role"], s["skip_reason"], s["status"]) for s in now["segments"] if s["speaker"] == "R"} == {
        ("interviewer", "interviewer", "skipped")}
    assert {s["role"] for s in now["segments"] if s["speaker"] == "SP3"} == {"supported_peer"}
    assert len(client.get(f"/transcripts/{tid}/decisions").json()) == 1  # coders' work is never dropped

    audit = client.get(f"/transcripts/{tid}/edits").json()
    assert [(a["edited_by"], a["changes"]) for a in audit] == [("judy", {
        "site": ["Setting_5", "Leeds"], "speaker_roles": [None, {"R": "interviewer"}],
        "segment_roles": [{"R": "other"}, {"R": "interviewer"}]})]

    # The same values again change nothing: no audit row.
    again = client.patch(f"/transcripts/{tid}", json={"site": "Leeds"}).json()
    assert again["edit"] is None and len(client.get(f"/transcripts/{tid}/edits").json()) == 1

    # Clearing the map makes R's sentences coded again; they have no suggestions until a new run.
    cleared = client.patch(f"/transcripts/{tid}", json={"speaker_roles": None}).json()
    assert (cleared["now_coded"], cleared["roles_changed"]) == (2, {"R": ["interviewer", "other"]})
    assert cleared["notes"][0].startswith("2 sentence(s) are now coded but have no suggestions yet")
    assert cleared["edit"]["edited_by"] == "admin"
    rerun = client.post(f"/transcripts/{tid}/runs", json={}).json()
    assert all(s["suggestions"] or s["status"] == "uncoded" for s in rerun["segments"] if s["speaker"] == "R")
    assert [s["skip_reason"] for s in rerun["segments"] if s["speaker"] == "R"] == [None, None]


def test_a_participant_role_rederives_but_declared_turn_roles_stay(client):
    turns = [{"speaker": "Facilitator", "text": "How did it start for you with the service?"},
             {"speaker": "Maya", "text": "My peer worker rang me every week to see how I was doing."},
             {"speaker": "Sam", "role": "peer_worker", "text": "I showed her how I plan my week, step by step."}]
    out = client.post("/transcripts", json={"turns": turns}).json()
    assert {s["speaker"]: s["role"] for s in out["segments"]} == {
        "Facilitator": "interviewer", "Maya": "other", "Sam": "peer_worker"}
    edited = client.patch(f"/transcripts/{out['id']}", json={"role": "supported_peer"}).json()
    assert edited["roles_changed"] == {"Maya": ["other", "supported_peer"]}  # Sam's declared role is kept
    assert edited["now_coded"] == 0 and edited["stale"] is False  # 'other' and a participant are both coded
    named = client.patch(f"/transcripts/{out['id']}", json={"speaker_roles": {"Sam": "supported_peer"}}).json()
    assert named["roles_changed"] == {"Sam": ["peer_worker", "supported_peer"]}  # a map entry overrides


def test_bad_edits_are_refused_clearly(client, row_counts):
    tid = client.post("/transcripts", json={"text": INTERVIEW}).json()["id"]
    bad_role = client.patch(f"/transcripts/{tid}", json={"speaker_roles": {"R": "boss"}})
    assert bad_role.status_code == 422
    unknown_field = client.patch(f"/transcripts/{tid}", json={"text": "new words"})
    assert unknown_field.status_code == 422
    assert client.patch("/transcripts/999999", json={"site": "x"}).status_code == 404
    assert client.get("/transcripts/999999/edits").status_code == 404
    assert client.get(f"/transcripts/{tid}/edits").json() == []
    assert client.patch(f"/transcripts/{tid}", json={"participant_id": "SP3"}).json()["edit"] is not None
    assert row_counts()["transcript_edits"] == 1
    assert client.delete(f"/transcripts/{tid}").status_code == 200
    assert row_counts()["transcript_edits"] == 0  # deleting a participant's transcript takes its edits too


def word_file(turns: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for speaker, text in turns:
        document.add_paragraph(f"{speaker}: {text}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_import_takes_metadata_from_names_or_a_manifest_and_warns(client):
    talk = [("Interviewer", "What did you do together?"), ("P", "We planned small steps, like the shop on Monday.")]
    named = client.post("/transcripts/import", data={"name_pattern": "{participant}_{role}.docx", "site": "Leeds"},
                        files=[("files", ("PW3_PW.docx", word_file(talk))),
                               ("files", ("SP4_supported-peer.docx", word_file(talk)))])
    assert named.status_code == 201, named.text
    assert [(t["participant_id"], t["role"], t["site"], t["warnings"]) for t in named.json()["transcripts"]] == [
        ("PW3", "peer_worker", "Leeds", []), ("SP4", "supported_peer", "Leeds", [])]  # P is the participant

    manifest = b"file,participant,role,site,arm,wave\none.txt,SP2,,York,usual care,2\ntwo.docx,PW5,PW,,,\n"
    listed = client.post("/transcripts/import", files=[
        ("files", ("one.txt", INTERVIEW.replace("SP3", "SP2").encode())), ("files", ("two.docx", word_file(talk))),
        ("manifest", ("manifest.csv", manifest))])
    assert listed.status_code == 201, listed.text
    one, two = listed.json()["transcripts"]
    assert (one["participant_id"], one["role"], one["site"], one["trial_arm"]) == ("SP2", None, "York", "usual care")
    assert one["extra"] == {"wave": "2", "source_file": "one.txt", "source_format": "txt"}
    assert one["warnings"] == [OTHER_R]  # no participant role and R matches no pattern
    assert (two["participant_id"], two["role"]) == ("PW5", "peer_worker")

    mapped = client.post("/transcripts/import", data={"speaker_roles": '{"R": "interviewer"}'},
                         files=[("files", ("three.txt", INTERVIEW.encode()))])
    assert mapped.status_code == 201, mapped.text
    three = mapped.json()["transcripts"][0]
    assert three["warnings"] == [] and three["speaker_roles"] == {"R": "interviewer"}
    bad_map = client.post("/transcripts/import", data={"speaker_roles": '{"R": "boss"}'},
                          files=[("files", ("four.txt", INTERVIEW.encode()))])
    assert bad_map.status_code == 422 and "unknown role 'boss'" in bad_map.json()["detail"]

    nothing = client.get("/transcripts").json()["total"]
    misnamed = client.post("/transcripts/import", data={"name_pattern": "{participant}_{role}.docx"},
                           files=[("files", ("interview.docx", word_file(talk)))])
    assert misnamed.status_code == 422
    assert misnamed.json()["problems"] == [
        "interview.docx: the name does not match --name-pattern '{participant}_{role}.docx'"]
    unlisted = client.post("/transcripts/import", files=[
        ("files", ("one.txt", INTERVIEW.encode())), ("manifest", ("m.csv", b"file,site\nother.txt,York\n"))])
    assert unlisted.status_code == 422 and unlisted.json()["problems"] == ["manifest: no file other.txt was sent"]
    bad_pattern = client.post("/transcripts/import", data={"name_pattern": "{name}.docx"},
                              files=[("files", ("a.docx", word_file(talk)))])
    assert bad_pattern.status_code == 422 and "unknown field {name}" in bad_pattern.json()["detail"]
    assert client.get("/transcripts").json()["total"] == nothing  # nothing stored by a refused import
