"""REFI-QDA exchange: codebooks as .qdc and coded projects as .qdpx, validated against the REFI-QDA schema
(../shared/data/refi-qda/Project.xsd, MIT), and our own exports read back."""

import io
import zipfile

import pytest
from lxml import etree

from app.exchange.refi import CODEBOOK_NS, PROJECT_NS, guid, read_qdpx
from tests.api.test_review import INTERVIEW
from tests.conftest import add_user, shared_path


@pytest.fixture(scope="module")
def project_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(shared_path("data", "refi-qda", "Project.xsd"))))


@pytest.fixture(scope="module")
def codebook_schema() -> etree.XMLSchema:
    """The same schema for a .qdc: CodeBookType under the codebook namespace, with CodeBook as its root."""
    text = shared_path("data", "refi-qda", "Project.xsd").read_text(encoding="utf-8")
    text = text.replace(PROJECT_NS, CODEBOOK_NS).replace(
        "<!-- ===== Element Declarations ===== -->",
        '<!-- ===== Element Declarations ===== --><xsd:element name="CodeBook" type="CodeBookType"/>', 1)
    return etree.XMLSchema(etree.fromstring(text.encode("utf-8")))


def test_codebook_qdc_validates_and_round_trips(client, codebook_schema):
    response = client.get("/codebooks/bcttv1+relational-aspects/qdc")
    assert response.status_code == 200 and "bcttv1+relational-aspects.qdc" in response.headers["content-disposition"]
    document = etree.fromstring(response.content)
    codebook_schema.assertValid(document)
    codes = document.findall(f".//{{{CODEBOOK_NS}}}Code")
    assert len(codes) == 98 + 17  # 98 codable techniques under 16 BCTTv1 groups and Relational aspects
    goal = next(c for c in codes if c.get("name") == "1.1 Goal setting (behaviour)")
    assert goal.get("isCodable") == "true" and goal.getparent().get("isCodable") == "false"

    imported = client.post("/codebooks/qdc", params={"name": "from-qdc"}, content=response.content,
                           headers={"content-type": "application/xml"})
    assert imported.status_code == 201, imported.text
    assert imported.json()["leaves"] == 98
    original = {c["id"]: c for c in client.get("/codebooks/bcttv1+relational-aspects").json()["codes"]}
    back = {c["id"]: c for c in client.get("/codebooks/from-qdc").json()["codes"]}
    assert set(back) == set(original)
    for code_id, code in original.items():
        mine = back[code_id]
        assert (mine["label"], mine["parent"], mine["definition"], mine["synonyms"]) == (
            code["label"], code["parent"], code["definition"], code["synonyms"]), code_id
        assert [(e["text"], e["source"]) for e in mine["exemplars"]] == [
            (e["text"], e["source"]) for e in code["exemplars"]], code_id
    again = client.post("/codebooks/qdc", params={"name": "from-qdc"}, content=response.content)
    assert again.status_code == 200 and again.json()["created"] is False  # same content: no new version

    broken = client.post("/codebooks/qdc", params={"name": "x"}, content=b"<CodeBook")
    assert broken.status_code == 422 and "not well-formed XML" in broken.json()["detail"]
    other = client.post("/codebooks/qdc", params={"name": "x"}, content=b"<a xmlns='urn:other'/>")
    assert other.status_code == 422 and "not a REFI-QDA codebook" in other.json()["detail"]


def test_project_qdpx_validates_and_carries_every_coding(client, project_schema):
    out = client.post("/transcripts", json={"text": INTERVIEW, "title": "SP3 interview"}).json()
    coders = {name: add_user(client.app, name, "coder") for name in ("alice", "bob")}
    coded = [s for s in out["segments"] if s["suggestions"]]
    for name, headers in coders.items():
        decisions = [{"segment_id": s["id"], "action": "accept", "suggestion_id": s["suggestions"][0]["id"]}
                     for s in coded[:3]]
        decisions.append({"segment_id": coded[3]["id"], "action": "add", "code": "3.2" if name == "alice" else "1.1"})
        assert client.post(f"/transcripts/{out['id']}/decisions", headers=headers,
                           json={"decisions": decisions}).status_code == 201

    response = client.get("/exports/project.qdpx", params={"name": "Peer support"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(n.split("/")[0] for n in archive.namelist()) == ["project.qde", "sources"]
    root, texts = read_qdpx(response.content)
    project_schema.assertValid(root)
    q = f"{{{PROJECT_NS}}}"
    assert root.get("name") == "Peer support"
    assert {u.get("name") for u in root.iter(f"{q}User")} == {"alice", "bob"}
    source = root.find(f"{q}Sources/{q}TextSource")
    text = texts[source.get("guid")]
    assert text == out["text"] and source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
    selections = source.findall(f"{q}PlainTextSelection")
    assert len(selections) == 4
    by_segment = {s["id"]: s for s in out["segments"]}
    code_guids = {c.get("guid"): c.get("name").split(" ")[0] for c in root.iter(f"{q}Code")}
    user_guids = {u.get("guid"): u.get("name") for u in root.iter(f"{q}User")}
    found = []
    for sel in selections:
        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
        segment = next(s for s in by_segment.values() if (s["start"], s["end"]) == (start, end))
        assert text[start:end] == segment["text"]
        for coding in sel.findall(f"{q}Coding"):
            found.append((segment["id"], user_guids[coding.get("creatingUser")],
                          code_guids[coding.find(f"{q}CodeRef").get("targetGUID")]))
    expected = {(s["id"], name, s["suggestions"][0]["code_id"]) for s in coded[:3] for name in coders}
    expected |= {(coded[3]["id"], "alice", "3.2"), (coded[3]["id"], "bob", "1.1")}
    assert set(found) == expected and len(found) == len(expected)
    assert guid("user", "alice") in user_guids
    again, _ = read_qdpx(client.get("/exports/project.qdpx").content)  # stable GUIDs: a re-import updates
    assert [e.get("guid") for e in again.iter() if e.get("guid")] == [e.get("guid") for e in root.iter()
                                                                         if e.get("guid")]


def test_project_qdpx_memos_are_notes_participants_are_cases_and_each_coding_is_its_coders(client, project_schema):
    """Two coders code one sentence differently and write memos; two transcripts are one participant's. The
    .qdpx has each coding by its own coder (with when it was applied), each memo as a Note referenced from the
    coding it is about (or from its sentence), a case per participant with role, site and arm, and validates."""
    meta = {"role": "supported_peer", "site": "Setting_5", "trial_arm": "peer support"}
    first = client.post("/transcripts", json={"text": INTERVIEW, "title": "SP3 first", "participant_id": "SP3",
                                              **meta}).json()
    second = client.post("/transcripts", json={"text": INTERVIEW, "title": "SP3 follow-up", "participant_id": "SP3",
                                               **meta | {"site": "Setting_6"}}).json()
    worker = client.post("/transcripts", json={"text": INTERVIEW, "title": "PW6", "participant_id": "PW6",
                                               "role": "peer_worker", "site": "Setting_5"}).json()
    anonymous = client.post("/transcripts", json={"text": INTERVIEW, "title": "no participant"}).json()
    # Imported without a role (as the README's import does): the case takes the role its speech was read as.
    assert client.post("/transcripts", json={"text": INTERVIEW.replace("SP3:", "SP9:"), "title": "SP9",
                                             "participant_id": "SP9"}).status_code == 201
    coders = {name: add_user(client.app, name, "coder") for name in ("alice", "bob")}
    codable = [s for s in first["segments"] if s["suggestions"]]
    shared, quiet = codable[0]["id"], codable[1]["id"]
    decide = {
        "alice": [{"segment_id": shared, "action": "add", "code": "3.2"},
                  {"segment_id": shared, "action": "memo", "code": "3.2", "memo": "Practical help: 3.2, not 3.1."},
                  {"segment_id": shared, "action": "memo", "code": "1.1", "memo": "Bob may read a goal here."}],
        "bob": [{"segment_id": shared, "action": "add", "code": "1.1"},
                {"segment_id": quiet, "action": "memo", "memo": "Nothing to code, but the tone matters."}],
    }
    for name, decisions in decide.items():
        response = client.post(f"/transcripts/{first['id']}/decisions", headers=coders[name],
                               json={"decisions": decisions})
        assert response.status_code == 201, response.text

    root, _ = read_qdpx(client.get("/exports/project.qdpx").content)
    project_schema.assertValid(root)
    q = f"{{{PROJECT_NS}}}"
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{q}User")}
    assert set(users.values()) == {"alice", "bob"}
    codes = {c.get("guid"): c.get("name").split(" ")[0] for c in root.iter(f"{q}Code")}
    notes = {n.get("guid"): n for n in root.iter(f"{q}Note")}
    assert len(notes) == 3
    memo_of = {g: (users[n.get("creatingUser")], n.findtext(f"{q}PlainTextContent")) for g, n in notes.items()}
    assert all(n.get("creationDateTime") for n in notes.values())

    sources = {s.get("name"): s for s in root.iter(f"{q}TextSource")}
    selections = {int(s.get("startPosition")): s for s in sources["SP3 first"].findall(f"{q}PlainTextSelection")}
    by_id = {s["id"]: s for s in first["segments"]}
    coded = selections[by_id[shared]["start"]]
    codings = {(users[c.get("creatingUser")], codes[c.find(f"{q}CodeRef").get("targetGUID")]):
               [memo_of[r.get("targetGUID")] for r in c.findall(f"{q}NoteRef")] for c in coded.findall(f"{q}Coding")}
    assert codings == {("alice", "3.2"): [("alice", "Practical help: 3.2, not 3.1.")], ("bob", "1.1"): []}
    assert all(c.get("creationDateTime") for c in coded.findall(f"{q}Coding"))
    # alice's memo about 1.1, a code she does not apply, belongs to the sentence, not to bob's coding
    assert [memo_of[r.get("targetGUID")] for r in coded.findall(f"{q}NoteRef")] == [
        ("alice", "Bob may read a goal here.")]
    uncoded = selections[by_id[quiet]["start"]]  # a memo alone still marks its sentence
    assert uncoded.findall(f"{q}Coding") == [] and uncoded.get("endPosition") == str(by_id[quiet]["end"])
    assert [memo_of[r.get("targetGUID")] for r in uncoded.findall(f"{q}NoteRef")] == [
        ("bob", "Nothing to code, but the tone matters.")]

    variables = {v.get("guid"): v.get("name") for v in root.iter(f"{q}Variable")}
    assert sorted(variables.values()) == ["arm", "role", "site"]

    def values(el: etree._Element) -> dict[str, str]:
        return {variables[v.find(f"{q}VariableRef").get("targetGUID")]: v.findtext(f"{q}TextValue")
                for v in el.findall(f"{q}VariableValue")}

    source_names = {s.get("guid"): name for name, s in sources.items()}
    cases = {c.get("name"): c for c in root.iter(f"{q}Case")}
    assert set(cases) == {"SP3", "PW6", "SP9"}  # the transcript without a participant id is no case
    assert values(cases["SP9"]) == {"role": "supported_peer"}
    assert values(cases["SP3"]) == {"role": "supported_peer", "site": "Setting_5; Setting_6", "arm": "peer support"}
    assert values(cases["PW6"]) == {"role": "peer_worker", "site": "Setting_5"}
    assert sorted(source_names[r.get("targetGUID")] for r in cases["SP3"].findall(f"{q}SourceRef")) == [
        "SP3 first", "SP3 follow-up"]
    assert [source_names[r.get("targetGUID")] for r in cases["PW6"].findall(f"{q}SourceRef")] == ["PW6"]
    assert values(sources["SP3 follow-up"])["site"] == "Setting_6"  # each source keeps its own transcript's values
    assert values(sources["no participant"]) == {"role": "supported_peer"}  # read from its speech, as SP9's
    assert set(sources) == {first["title"], second["title"], worker["title"], anonymous["title"], "SP9"}

    # blind coding: bob's own export has his coding and memo, and nothing of alice's
    own, _ = read_qdpx(client.get("/exports/project.qdpx", headers=coders["bob"]).content)
    project_schema.assertValid(own)
    assert {u.get("name") for u in own.iter(f"{q}User")} == {"bob"}
    assert [n.findtext(f"{q}PlainTextContent") for n in own.iter(f"{q}Note")] == [
        "Nothing to code, but the tone matters."]


def test_two_unnumbered_qdc_codes_whose_names_share_64_characters_are_named_plainly(client):
    """A code id keeps the first 64 characters of an unnumbered name: two such names collide, and the refusal
    said they were 'both called' one name when they differ."""
    stem = "Talking about what the peer worker did when things went badly at home " * 2
    xml = (f'<CodeBook xmlns="{CODEBOOK_NS}" origin="t"><Codes>'
           f'<Code guid="a1b2c3d4-0000-4000-8000-000000000001" name="{stem}first" isCodable="true"/>'
           f'<Code guid="a1b2c3d4-0000-4000-8000-000000000002" name="{stem}second" isCodable="true"/>'
           '</Codes></CodeBook>')
    response = client.post("/codebooks/qdc", params={"name": "long-names"}, content=xml.encode(),
                           headers={"content-type": "application/xml"})
    assert response.status_code == 422
    assert f"two codes would have the id {stem[:64]!r}" in response.json()["detail"]
    assert "both called" not in response.json()["detail"]
