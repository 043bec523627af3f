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
