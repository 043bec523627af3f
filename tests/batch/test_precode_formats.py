"""`autocoder precode` reads every format `import` reads, through the same readers; it lists each file it
skipped and why in errors.json and exits 2; per-file metadata comes from file names or a manifest."""

import io
import json
import zipfile
from pathlib import Path

import docx
import pyarrow.parquet as pq
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import app
from app.db.tables import Transcript

runner = CliRunner()

VTT = """WEBVTT

NOTE exported from the recorder; speakers in voice tags

00:00:01.000 --> 00:00:04.500
<v Interviewer>How did the peer worker help you?</v>

00:00:05.000 --> 00:00:09.250
<v.loud SP7>She came with me to the housing office and helped me with the forms.</v>
"""

SRT = """1
00:00:01,000 --> 00:00:03,000
PW2: I shared my own experience of hospital with her.

2
00:00:03,500 --> 00:00:06,000
It helped her open up about how she felt that week.
"""


def word_file(turns: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for speaker, text in turns:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{speaker}:").bold = True
        paragraph.add_run(f" {text}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PW_TALK = [("Interviewer", "What did you do together?"),
           ("PW3", "We planned small steps, like going to the shop on Monday and the park on Friday.")]
SP_TALK = [("Interviewer", "What helped?"),
           ("SP4", "We set a goal that I would get out of the house twice a week.")]


def mixed_folder(root: Path) -> Path:
    folder = root / "mixed"
    (folder / "site2").mkdir(parents=True)
    (folder / "a.txt").write_text("Interviewer: How was it?\nSP3: She never judged me, not once. I felt safe "
                                  "with her.\n")
    (folder / "b.docx").write_bytes(word_file(PW_TALK))
    (folder / "c.vtt").write_text(VTT)
    (folder / "d.srt").write_text(SRT)
    (folder / "site2" / "e.json").write_text(json.dumps({
        "participant_id": "SP9", "role": "supported_peer", "site": "Setting_2",
        "turns": [{"speaker": "SP9", "text": "We set a goal that I would get out of the house twice a week."}]}))
    (folder / "turns.csv").write_text(
        "transcript,speaker,role,text\n"
        "A1,Facilitator,interviewer,How did it start?\n"
        "A1,Maya,supported_peer,My peer worker rang me every week to see how I was doing.\n"
        "B2,Sam,peer_worker,I showed her how I plan my week so she could try it too.\n")
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("inner/sp4.docx", word_file(SP_TALK))
        z.writestr("inner/scan.pdf", b"%PDF-1.4")
        z.writestr("__MACOSX/inner/._sp4.docx", b"\x00\x05")
    (folder / "bundle.zip").write_bytes(bundle.getvalue())
    (folder / "broken.docx").write_bytes(b"this is not a Word file")  # unreadable
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4 not a transcript")  # a type no reader takes
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden: never an input
    return folder


def test_a_mixed_folder_is_read_whole_and_every_skipped_file_is_listed(tmp_path):
    folder = mixed_folder(tmp_path)
    result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "out"), "--chunk-size", "3"])
    assert result.exit_code == 2, result.output  # finished, but some files were skipped
    errors = json.loads((tmp_path / "out" / "errors.json").read_text())
    assert {e["file"]: e["reason"] for e in errors} == {
        "broken.docx": "not a readable Word (.docx) file (BadZipFile)",
        "bundle.zip/inner/scan.pdf": "skipped inside the archive: unsupported file type .pdf; transcripts are "
                                     ".txt, .json, .docx, .vtt, .srt, .csv, .jsonl, .zip",
        "notes.pdf": "unsupported file type .pdf; transcripts are .txt, .json, .docx, .vtt, .srt, .csv, .jsonl, "
                     ".zip",
    }
    assert "3 file(s) skipped or not read" in result.output and "notes.pdf: unsupported file type" in result.output
    rows = pq.read_table(tmp_path / "out" / "sentences.parquet").to_pylist()
    coded = {r["transcript"] for r in rows if r["status"] != "skipped" and r["code_1"]}  # ranked codes
    assert coded == {"a.txt", "b.docx", "bundle.zip/inner/sp4.docx", "c.vtt", "d.srt", "site2/e.json",
                     "turns.csv#A1", "turns.csv#B2"}
    said = {(r["transcript"], r["speaker"], r["role"], r["skip_reason"]) for r in rows}
    assert ("c.vtt", "SP7", "supported_peer", None) in said and ("c.vtt", "Interviewer", "interviewer",
                                                                   "interviewer") in said
    assert ("b.docx", "PW3", "peer_worker", None) in said
    e = next(r for r in rows if r["transcript"] == "site2/e.json")
    assert (e["participant_id"], e["transcript_role"], e["site"]) == ("SP9", "supported_peer", "Setting_2")
    presence = [r["transcript"] for r in pq.read_table(tmp_path / "out" / "presence.parquet").to_pylist()]
    assert presence == ["a.txt", "b.docx", "bundle.zip/inner/sp4.docx", "c.vtt", "d.srt", "site2/e.json",
                        "turns.csv#A1", "turns.csv#B2"]  # input order


def test_a_folder_of_only_word_files_with_metadata_from_their_names(tmp_path, monkeypatch):
    from app.config import get_settings

    folder = tmp_path / "word"
    folder.mkdir()
    (folder / "PW3_PW_Leeds.docx").write_bytes(word_file(PW_TALK))
    (folder / "SP4_SP_York.docx").write_bytes(word_file(SP_TALK))
    url = f"sqlite:///{tmp_path / 'precode.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "out"), "--into-db",
                                     "--name-pattern", "{participant}_{role}_{site}.docx"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "errors.json").read_text()) == []
    rows = pq.read_table(tmp_path / "out" / "sentences.parquet").to_pylist()
    assert {(r["transcript"], r["participant_id"], r["transcript_role"], r["site"]) for r in rows} == {
        ("PW3_PW_Leeds.docx", "PW3", "peer_worker", "Leeds"), ("SP4_SP_York.docx", "SP4", "supported_peer", "York")}
    engine = create_engine(url)
    with Session(engine) as session:
        stored = [(t.title, t.participant_id, t.role, t.site, t.extra["source_format"])
                  for t in session.scalars(select(Transcript).order_by(Transcript.id))]
    engine.dispose()
    assert stored == [("PW3_PW_Leeds", "PW3", "peer_worker", "Leeds", "docx"),
                      ("SP4_SP_York", "SP4", "supported_peer", "York", "docx")]


def test_a_name_that_does_not_fit_the_pattern_is_skipped_and_listed(tmp_path):
    folder = tmp_path / "word"
    folder.mkdir()
    (folder / "PW3_PW.docx").write_bytes(word_file(PW_TALK))
    (folder / "PW3_XX.docx").write_bytes(word_file(PW_TALK))
    (folder / "interview-sp4.docx").write_bytes(word_file(SP_TALK))
    result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "out"),
                                 "--name-pattern", "{participant}_{role}.docx"])
    assert result.exit_code == 2, result.output
    assert {e["file"]: e["reason"] for e in json.loads((tmp_path / "out" / "errors.json").read_text())} == {
        "PW3_XX.docx": "role 'XX' is neither a role (peer_worker, supported_peer, interviewer, other) nor a label "
                       "the role patterns read (such as PW or SP)",
        "interview-sp4.docx": "the name does not match --name-pattern '{participant}_{role}.docx'"}
    rows = pq.read_table(tmp_path / "out" / "sentences.parquet").to_pylist()
    assert {(r["transcript"], r["transcript_role"]) for r in rows} == {("PW3_PW.docx", "peer_worker")}


def test_a_manifest_gives_each_file_its_metadata(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "one.docx").write_bytes(word_file(PW_TALK))
    (folder / "two.vtt").write_text(VTT)
    (folder / "manifest.csv").write_text("file,participant,role,site,arm,wave\n"
                                         "one.docx,PW3,PW,Leeds,peer support,1\n"
                                         "two.vtt,SP7,SP,York,usual care,2\n")
    result = runner.invoke(app, ["precode", str(folder / "manifest.csv"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "out" / "sentences.parquet").to_pylist()
    assert {(r["transcript"], r["participant_id"], r["transcript_role"], r["site"], r["trial_arm"])
            for r in rows} == {("one.docx", "PW3", "peer_worker", "Leeds", "peer support"),
                               ("two.vtt", "SP7", "supported_peer", "York", "usual care")}
    bad = folder / "bad.csv"
    bad.write_text("file,participant,role\none.docx,PW3,boss\n")
    refused = runner.invoke(app, ["precode", str(bad), "--out", str(tmp_path / "out2")])
    assert refused.exit_code == 1 and "bad.csv:2: role 'boss' is neither a role" in refused.output


def test_speakers_read_as_other_are_warned_about(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "r.txt").write_text("R: What did you talk about?\nSP2: We talked about my week and set a goal.\n")
    result = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    warning = ("speakers read as 'other' (not in the peer worker / supported peer columns): R; set a speaker map "
               "(speaker_roles, e.g. --speaker-role 'R=interviewer') or the participant's role")
    assert json.loads((tmp_path / "out" / "warnings.json").read_text()) == [
        {"file": "r.txt", "transcript_index": 0, "warning": warning}]
    assert f"warning: r.txt: {warning}" in result.output
