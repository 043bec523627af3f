"""Per-file metadata: file-name patterns, manifest rows and role labels; and the layering that lets batch
pre-coding share the readers and segmentation without the service layer."""

import ast
from pathlib import Path

import pytest

from app.ingest.metadata import NamePattern, PerFile, fields_of, participant_role, read_manifest
from app.ingest.readers import ReadError, read_file

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("value", "role"), [
    ("PW", "peer_worker"), ("pw3", "peer_worker"), ("SP", "supported_peer"), ("Supported peer", "supported_peer"),
    ("peer-worker", "peer_worker"), ("Interviewer", "interviewer"), ("other", "other")])
def test_roles_are_read_as_names_or_labels(value, role):
    assert participant_role(value) == role


def test_an_unknown_role_is_refused_with_its_value():
    with pytest.raises(ValueError, match="role 'boss' is neither a role"):
        participant_role("boss")


def test_name_patterns():
    pattern = NamePattern("{participant}_{role}.docx")
    assert pattern.fields("PW3_PW.docx") == {"participant_id": "PW3", "role": "peer_worker"}
    assert pattern.fields("batch.zip/inner/SP4_sp.DOCX") == {"participant_id": "SP4", "role": "supported_peer"}
    with pytest.raises(ValueError, match="does not match"):
        pattern.fields("PW3_PW.txt")
    stem = NamePattern("{participant}-{arm}")  # no extension: fits the name without its own
    assert stem.fields("SP1-usual care.vtt") == {"participant_id": "SP1", "trial_arm": "usual care"}
    folders = NamePattern("{site}/{participant}.{*}")
    assert folders.fields("wave1/Leeds/SP2.srt") == {"site": "Leeds", "participant_id": "SP2"}
    assert NamePattern("{participant}_{*}.txt").fields("turns.csv#A1".replace("turns.csv", "P1_x.txt")) == {
        "participant_id": "P1"}
    for bad, why in [("{name}.docx", "unknown field"), ("plain.docx", "no field"),
                     ("{role}_{role}.docx", "appears twice")]:
        with pytest.raises(ValueError, match=why):
            NamePattern(bad)


def test_manifest_rows_resolve_aliases_and_keep_the_rest():
    assert fields_of({"file": "a.docx", "participant": "SP1", "role": "SP", "arm": "peer", "wave": "2",
                      "Site": "Leeds"}) == ({"participant_id": "SP1", "role": "supported_peer", "trial_arm": "peer",
                                             "site": "Leeds"}, {"wave": "2"})
    rows = read_manifest("m.csv", b"file,participant_id,role\na.docx,PW1,PW\nsub/b.vtt,SP2,\n")
    files = PerFile(NamePattern("{participant}.{*}"), rows)
    assert files.lookup("a.docx") == ({"participant_id": "PW1", "role": "peer_worker"}, {})
    assert files.lookup("sub/b.vtt") == ({"participant_id": "SP2"}, {})  # the row wins over the name
    assert files.lookup("c.txt") == ({"participant_id": "c"}, {})
    assert files.unused(["a.docx"]) == ["sub/b.vtt"]
    with pytest.raises(ReadError, match="m.csv, line 2: each row names its transcript in a 'file' column"):
        read_manifest("m.csv", b"participant\nSP1\n")
    with pytest.raises(ReadError, match="m.jsonl, line 1: role 'x' is neither"):
        read_manifest("m.jsonl", b'{"file": "a.txt", "role": "x"}\n')


def test_json_transcripts_are_read_like_the_api_takes_them():
    found, _ = read_file("t.json", b'{"participant_id": "SP1", "role": "supported_peer", "speaker_roles": '
                                   b'{"R": "interviewer"}, "turns": [{"speaker": "R", "text": "Hi."}]}')
    assert (found[0].turns, found[0].metadata, found[0].speaker_roles) == (
        [{"speaker": "R", "text": "Hi."}], {"participant_id": "SP1", "role": "supported_peer"}, {"R": "interviewer"})
    with pytest.raises(ReadError, match="t.json, line 1: not JSON"):
        read_file("t.json", b"{nope")
    with pytest.raises(ReadError, match="'turns' must be a list of objects with 'speaker' and 'text'"):
        read_file("t.json", b'[{"text": "no speaker"}]')
    with pytest.raises(ReadError, match=r"t.json: turns\[0\].start 'soon' is not a number of seconds"):
        read_file("t.json", b'[{"speaker": "A", "text": "Hi.", "start": "soon"}]')


def test_a_speaker_label_too_long_for_its_column_is_refused():
    from app.config import Settings
    from app.engine.transcripts import TranscriptInput, segment_transcript
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="is longer than 100 characters"):
        segment_transcript(TranscriptInput(turns=[{"speaker": "S" * 101, "text": "Hello there."}]),
                           Settings().segmentation())


def test_batch_never_imports_the_service_layer():
    """app/batch reads and segments through app/ingest and app/engine, as the service does: no app.services."""
    for path in sorted((REPO / "app" / "batch").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module] + \
                   [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("app.services") or m.startswith("app.api")], path.name
