"""The BCTO importer against the real ontology file (../shared/data/bcto/bcto.xlsx)."""

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from app.cli import app
from taxonomy import CodebookError, load_builtin, load_codebook_file, resolve
from taxonomy.bcto import import_bcto
from tests.conftest import REPO, shared_path

BCTTV1 = load_codebook_file(REPO / "taxonomy" / "codebooks" / "bcttv1.yaml")


def test_every_bcttv1_technique_gets_ontology_wording():
    book, summary = import_bcto(shared_path("data", "bcto", "bcto.xlsx"), BCTTV1)
    codes = {c.id: c for c in book.codes}
    assert len(codes) == len(BCTTV1.codes) == 109  # same 93 techniques and 16 groups
    assert summary.codes_with_bcto == 93 and summary.codes_without_bcto == []
    # 4.5 'Advise to change behaviour' is the ontology's own addition, not a BCTTv1 code: reported, not invented.
    assert list(summary.unknown_references) == ["4.5"]
    # Several ontology classes map to 1.1: both definitions and both class names arrive.
    goal = codes["1.1"]
    assert {"agree behaviour goal", "set behaviour goal"} <= set(goal.synonyms)
    assert "agreeing with the person on a behavioural goal" in goal.definition and "<" not in goal.definition
    assert goal.label == "Goal setting (behaviour)" and goal.parent == "1"
    # The ontology's synonyms column and examples column are carried too.
    assert "habit formation" in codes["8.3"].synonyms
    assert any(e.source.startswith("BCTO") for c in book.codes for e in c.exemplars)
    assert "CC BY 4.0" in book.attribution and "Behaviour Change Technique Ontology" in book.attribution
    # It combines with the Relational-aspects extension like the built-in BCTTv1.
    builtin = load_builtin(REPO / "taxonomy" / "codebooks")
    assert len(resolve(f"{book.name}+relational-aspects", (builtin | {book.name: book}).get).leaves) == 98


def test_import_command_writes_a_codebook_that_loads(tmp_path):
    out = tmp_path / "bcto.yaml"
    result = CliRunner().invoke(app, ["codebook", "import-bcto", str(shared_path("data", "bcto", "bcto.xlsx")),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "93 codes carry BCTO wording" in result.output and "skipped: 4.5" in result.output
    book = load_codebook_file(out)
    assert book.name == "bcttv1-bcto" and book.version.startswith("1.1.0+bcto.")
    assert {c.id for c in book.codes} >= {"10.10", "10.1"}  # decimal ids survive the YAML round trip


def test_a_sheet_without_the_columns_is_refused(tmp_path):
    sheet = tmp_path / "other.xlsx"
    wb = Workbook()
    wb.active.append(["ID", "Label"])
    wb.active.append(["X:1", "something"])
    wb.save(sheet)
    with pytest.raises(CodebookError, match="missing column.*Cross-reference"):
        import_bcto(sheet, BCTTV1)
    not_xlsx = tmp_path / "notes.xlsx"
    not_xlsx.write_text("plain text")
    result = CliRunner().invoke(app, ["codebook", "import-bcto", str(not_xlsx), "--out", str(tmp_path / "o.yaml")])
    assert result.exit_code == 1 and "not a readable .xlsx workbook" in result.output
