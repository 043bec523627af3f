"""The command line: codebook validation and listing."""

from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def test_validate_builtin_and_broken_codebooks(tmp_path):
    good = runner.invoke(app, ["codebook", "validate", "taxonomy/codebooks/bcttv1.yaml"])
    assert good.exit_code == 0 and "ok (bcttv1 1.0.0, 109 codes)" in good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncodes:\n  - {id: a, label: A}\n  - {id: a, label: ''}\n")
    result = runner.invoke(app, ["codebook", "validate", str(bad)])
    assert result.exit_code == 1
    assert "label is empty" in result.output and "duplicate code ids" not in result.output  # field errors first


def test_list_builtin_codebooks():
    result = runner.invoke(app, ["codebook", "list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "bcttv1", "peer-change-model", "relational-aspects"]


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
