"""`autocoder export`: segments, decisions, or the project for NVivo / ATLAS.ti / MAXQDA."""

from pathlib import Path

import typer

from app.cli.common import fail, open_session
from app.cli.report import SOURCE

app = typer.Typer(help="Export segments, decisions, or the project for NVivo / ATLAS.ti / MAXQDA.",
                 no_args_is_help=True)


def _export_rows(out: Path, fmt: str, rows) -> None:
    from app.errors import AutocoderError
    from app.services import exports

    with open_session() as session:
        try:
            out.write_bytes(exports.encode(rows(session), fmt))
        except AutocoderError as exc:
            fail(exc)
    typer.echo(f"wrote {out}")


@app.command("segments")
def export_segments(out: Path, fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet."),
                    source: str = typer.Option("auto", help=SOURCE)) -> None:
    """Every segment with its suggestions, the chosen source's codes, and each coder's codes."""
    from app.services import exports
    from app.services.visibility import Visibility

    _export_rows(out, fmt, lambda session: exports.segment_rows(session, Visibility.everyone(), source=source))


@app.command("decisions")
def export_decisions(out: Path, fmt: str = typer.Option("csv", "--format", help="csv, jsonl or parquet.")) -> None:
    """The decision trail."""
    from app.services import exports
    from app.services.visibility import Visibility

    _export_rows(out, fmt, lambda session: exports.decision_rows(session, Visibility.everyone()))


@app.command("qdpx")
def export_qdpx(out: Path, codebook: str = typer.Option(None),
                name: str = typer.Option("bct-autocoder project"),
                source: str = typer.Option("auto", help=SOURCE + " (pooled: each coder as a user)")) -> None:
    """The coded project as a REFI-QDA .qdpx for NVivo, ATLAS.ti or MAXQDA."""
    from app.config import get_settings
    from app.errors import AutocoderError
    from app.services import exports
    from app.services.codebooks import CodebookCatalog
    from app.services.visibility import Visibility

    settings = get_settings()
    with open_session() as session:
        try:
            book = CodebookCatalog.from_settings(settings).resolve(
                session, codebook or exports.current_codebook_name(session, settings.default_codebook))
            out.write_bytes(exports.project(session, Visibility.everyone(), book, name, source=source))
        except AutocoderError as exc:
            fail(exc)
    typer.echo(f"wrote {out}")
