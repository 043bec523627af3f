"""The command line for transcripts: import a folder with metadata from file names (and the 'other' speaker
warning), show a transcript, edit its speaker map with an audit row."""

import io

import docx
import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def word_file(turns: list[tuple[str, str]]) -> bytes:
    document = docx.Document()
    for speaker, text in turns:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{speaker}:").bold = True
        paragraph.add_run(f" {text}")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_a_folder_then_show_and_edit(tmp_path, cli_database):
    folder = tmp_path / "interviews"
    folder.mkdir()
    (folder / "PW3_PW.docx").write_bytes(word_file([
        ("Interviewer", "What did you do together?"),
        ("PW3", "We planned small steps, like going to the shop on Monday and the park on Friday.")]))
    (folder / "SP4_SP.txt").write_text("R: What helped you most?\n"
                                       "Q2: And then?\n"
                                       "SP4: We set a goal that I would get out of the house twice a week.\n")
    imported = runner.invoke(app, ["import", str(folder), "--name-pattern", "{participant}_{role}.{*}",
                                   "--site", "Leeds"])
    assert imported.exit_code == 0, imported.output
    assert "transcript 1: PW3_PW (2 sentences, run 1; participant PW3, role peer_worker, site Leeds)" \
        in imported.output
    assert "transcript 2: SP4_SP (3 sentences, run 2; participant SP4, role supported_peer, site Leeds)" \
        in imported.output
    # R falls to the participant's role here (a one-to-one interview): no warning; Q2 is an interviewer label.
    assert "warning" not in imported.output

    assert runner.invoke(app, ["users", "add", "judy", "--role", "adjudicator"]).exit_code == 0
    assert runner.invoke(app, ["users", "add", "cora", "--role", "coder"]).exit_code == 0
    shown = runner.invoke(app, ["transcripts", "show", "2"])
    assert shown.exit_code == 0, shown.output
    assert "  R: supported_peer, 1 sentences (1 coded)" in shown.output
    assert "  Q2: interviewer, 1 sentences (0 coded)" in shown.output

    refused = runner.invoke(app, ["transcripts", "edit", "2", "--speaker-role", "R=interviewer", "--by", "cora"])
    assert refused.exit_code == 1 and "cora is a coder" in refused.output
    edited = runner.invoke(app, ["transcripts", "edit", "2", "--speaker-role", "R=interviewer", "--site", "York",
                                 "--by", "judy"])
    assert edited.exit_code == 0, edited.output
    assert "site: 'Leeds' -> 'York'" in edited.output
    assert "speaker_roles: None -> {'R': 'interviewer'}" in edited.output
    assert "note: 1 sentence(s) are now the interviewer's and no longer coded" in edited.output
    shown = runner.invoke(app, ["transcripts", "show", "2"])
    assert "speaker map: R=interviewer" in shown.output and "  R: interviewer, 1 sentences (0 coded)" in shown.output
    assert "edit 1 by judy" in shown.output and "segment_roles: {'R': 'supported_peer'} -> {'R': 'interviewer'}" \
        in shown.output

    # Without a participant role, R is 'other': the import warns and `show` says so.
    (tmp_path / "lone.txt").write_text("R: What helped?\nSP9: We set a goal that I would walk twice a week.\n")
    warned = runner.invoke(app, ["import", str(tmp_path / "lone.txt")])
    assert warned.exit_code == 0, warned.output
    assert "warning: transcript 3: speakers read as 'other' (not in the peer worker / supported peer columns): R" \
        in warned.output
    assert "warning: speakers read as 'other'" in runner.invoke(app, ["transcripts", "show", "3"]).output
    fixed = runner.invoke(app, ["transcripts", "edit", "3", "--speaker-role", "R=interviewer", "--by", "judy"])
    assert fixed.exit_code == 0 and "warning" not in fixed.output


def test_import_with_a_manifest_names_each_files_metadata(tmp_path, cli_database):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "a.txt").write_text("Interviewer: How was it?\nP: She never judged me, not once.\n")
    (folder / "manifest.jsonl").write_text('{"file": "a.txt", "participant": "SP1", "role": "SP", "arm": "peer"}\n')
    imported = runner.invoke(app, ["import", "--manifest", str(folder / "manifest.jsonl")])
    assert imported.exit_code == 0, imported.output
    assert "participant SP1, role supported_peer, arm peer" in imported.output
    bad = runner.invoke(app, ["import", str(folder / "a.txt"), "--name-pattern", "{participant}-{role}.txt"])
    assert bad.exit_code == 1 and "a.txt: the name does not match --name-pattern" in bad.output
