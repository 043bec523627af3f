"""The command line: codebook validation and listing."""

import json

from typer.testing import CliRunner

from app.cli import app
from app.exchange.refi import PROJECT_NS, read_qdpx

runner = CliRunner()


def test_validate_builtin_and_broken_codebooks(tmp_path):
    good = runner.invoke(app, ["codebook", "validate", "taxonomy/codebooks/bcttv1.yaml"])
    assert good.exit_code == 0 and "ok (bcttv1 1.1.0, 109 codes)" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncodes:\n  - {id: a, label: A}\n  - {id: a, label: ''}\n")
    result = runner.invoke(app, ["codebook", "validate", str(bad)])
    assert result.exit_code == 1
    assert "label is empty" in result.output and "duplicate code ids" not in result.output  # field errors first


def test_list_builtin_codebooks():
    result = runner.invoke(app, ["codebook", "list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "bcttv1", "interview-talk", "peer-change-model", "relational-aspects"]


def test_users_add_prints_a_token_once_that_signs_in(tmp_path, monkeypatch, embedder):
    from fastapi.testclient import TestClient

    from app.config import Settings, get_settings
    from app.main import create_app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        added = runner.invoke(app, ["users", "add", "alice", "--role", "coder"])
        assert added.exit_code == 0, added.output
        token = added.output.strip().splitlines()[-1]
        assert token.startswith("bca_")
        assert runner.invoke(app, ["users", "add", "alice"]).exit_code == 1  # already exists
        bad_role = runner.invoke(app, ["users", "add", "bob", "--role", "boss"])
        assert bad_role.exit_code == 1 and "unknown role 'boss'" in bad_role.output
        listed = runner.invoke(app, ["users", "list"])
        assert listed.output.split() == ["alice", "coder", "active"]
        assert token not in runner.invoke(app, ["users", "list"]).output  # only the hash is stored
        with TestClient(create_app(Settings(database_url=url, cache_dir=tmp_path), embedder)) as client:
            me = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["name"] == "alice"
        table = runner.invoke(app, ["agreement"])
        assert table.exit_code == 0 and "Coders: (none)" in table.output
    finally:
        get_settings.cache_clear()


def test_train_and_roll_back_from_the_command_line(tmp_path, monkeypatch, embedder):
    from fastapi.testclient import TestClient

    from app.config import Settings, get_settings
    from app.main import create_app
    from tests.api.test_learning import interview, label
    from tests.conftest import add_user

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for name, value in [("DATABASE_URL", url), ("AUTOCODER_MODELS_DIR", str(tmp_path / "models")),
                        ("AUTOCODER_CACHE_DIR", str(tmp_path / "cache"))]:
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        settings = Settings(database_url=url, cache_dir=tmp_path / "cache", models_dir=tmp_path / "models")
        with TestClient(create_app(settings, embedder)) as client:
            client.headers.update(add_user(client.app, "ada", "admin"))
            coder = add_user(client.app, "cy", "coder")
            for n in range(4):
                label(client, coder, client.post("/transcripts", json={"text": interview(n)}).json())
        trained = runner.invoke(app, ["train", "--by", "ada"])
        assert trained.exit_code == 0, trained.output
        assert "version 1: 24 labelled segments from 4 transcripts" in trained.output
        assert "promoted: macro F1" in trained.output
        assert "served" in trained.output and "baseline" in trained.output
        assert len(list((tmp_path / "models").glob("v1-*/card.json"))) == 1
        listed = runner.invoke(app, ["models", "list"]).output
        assert listed.startswith("* v1 ")
        folder = tmp_path / "batch"
        folder.mkdir()
        (folder / "sp9.txt").write_text("SP9: We went to the football with my brother.\n")
        for choice, first in [("served", "5.1"), ("", None)]:
            ran = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / f"out-{choice or 'none'}"),
                                      "--format", "jsonl"] + (["--classifier", choice] if choice else []))
            assert ran.exit_code == 0, ran.output
            row = json.loads((tmp_path / f"out-{choice or 'none'}" / "sentences.jsonl").read_text())
            assert (row["code_1"] == "5.1") == (first == "5.1"), (choice, row["code_1"])
        wrong = runner.invoke(app, ["precode", str(folder), "--out", str(tmp_path / "x"), "--classifier", "7"])
        assert wrong.exit_code == 1 and "no ready classifier version 7" in wrong.output
        back = runner.invoke(app, ["models", "rollback", "--by", "ada"])
        assert back.exit_code == 0 and "serving similarity alone" in back.output
        refused = runner.invoke(app, ["models", "promote", "1", "--by", "cy"])
        assert refused.exit_code == 1 and "cy is a coder" in refused.output
    finally:
        get_settings.cache_clear()


def test_import_report_and_export_from_the_command_line(tmp_path, monkeypatch):
    from app.config import get_settings

    for name, value in [("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}"),
                        ("AUTOCODER_CACHE_DIR", str(tmp_path / "cache"))]:
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        good = tmp_path / "sp1.srt"
        good.write_text("1\n00:00:01,000 --> 00:00:03,000\nSP1: She helped me set a goal for the week.\n")
        bad = tmp_path / "notes.pdf"
        bad.write_bytes(b"%PDF")
        refused = runner.invoke(app, ["import", str(good), str(bad)])
        assert refused.exit_code == 1 and "notes.pdf: unsupported file type .pdf" in refused.output
        imported = runner.invoke(app, ["import", str(good), "--site", "Leeds", "--participant-id", "SP1"])
        assert imported.exit_code == 0, imported.output
        assert "transcript 1: sp1 (1 sentences, run 1; participant SP1, site Leeds)" in imported.output
        # Reports read stored codes: none of them loads the encoder (that took ~8 s a command).
        import app.services.embedders as embedders

        def no_encoder(*args, **kwargs):
            raise AssertionError("a report loaded the encoder")

        monkeypatch.setattr(embedders, "make_embedder", no_encoder)
        table = runner.invoke(app, ["report", "table2"])
        assert table.exit_code == 0 and "| 1.1 | Goal setting (behaviour) | Neither | Neither |" in table.output
        assert "source: all coders pooled" in table.output  # no consensus yet: pooled, and labelled so
        refused = runner.invoke(app, ["report", "table2", "--source", "coder:nobody"])
        assert refused.exit_code == 1 and "no user 'nobody'" in refused.output
        listed = runner.invoke(app, ["report", "disagreements"])
        assert listed.exit_code == 0 and "0 unresolved disagreement(s)" in listed.output
        figures = runner.invoke(app, ["agreement", "--json"])
        assert figures.exit_code == 0 and json.loads(figures.output)["units"] == 0
        plots = runner.invoke(app, ["report", "plots", "--out", str(tmp_path / "figures")])
        assert plots.exit_code == 0 and (tmp_path / "figures" / "group-heatmap.svg").exists()
        out = tmp_path / "segments.jsonl"
        assert runner.invoke(app, ["export", "segments", str(out), "--format", "jsonl"]).exit_code == 0
        assert '"time_start": 1.0' in out.read_text() and '"site": "Leeds"' in out.read_text()
        qdc = tmp_path / "book.qdc"
        assert runner.invoke(app, ["codebook", "export-qdc", "relational-aspects", str(qdc)]).exit_code == 0
        back = runner.invoke(app, ["codebook", "import-qdc", str(qdc), "--name", "ra-copy"])
        assert back.exit_code == 0 and "stored: ra-copy (5 codes)" in back.output
        qdpx = tmp_path / "project.qdpx"
        assert runner.invoke(app, ["export", "qdpx", str(qdpx)]).exit_code == 0
        root, _ = read_qdpx(qdpx.read_bytes())
        # The participant, with their site, and the role their speech was read as (imported without --role).
        case = root.find(f"{{{PROJECT_NS}}}Cases/{{{PROJECT_NS}}}Case")
        values = [v.text for v in case.iter(f"{{{PROJECT_NS}}}TextValue")]
        assert case.get("name") == "SP1" and sorted(values) == ["Leeds", "supported_peer"]
    finally:
        get_settings.cache_clear()
