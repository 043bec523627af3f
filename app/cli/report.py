"""`autocoder report`: tables and plots for a paper, from confirmed codes."""

from pathlib import Path

import typer

from app.cli.common import fail, service_coder

app = typer.Typer(help="Tables and plots for a paper, from confirmed codes.", no_args_is_help=True)


def _report_coding(session, coder, codebook, source, threshold=None):
    from app.errors import AutocoderError
    from app.services import reports
    from app.services.visibility import Visibility

    try:
        book = coder.catalog.resolve(session, codebook or coder.settings.default_codebook)
        return reports.gather(session, book, scope=Visibility.everyone(), source=source, threshold=threshold)
    except AutocoderError as exc:
        fail(exc)


@app.command("table2")
def report_table2(
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
    source: str = typer.Option("confirmed", help="confirmed, or suggested (UNCONFIRMED, over the threshold)."),
    threshold: float = typer.Option(None, help="With --source suggested: the score floor (default: each run's)."),
    out: Path = typer.Option(None, help="Write CSV here instead of printing Markdown."),
) -> None:
    """The seed paper's Table 2: for every code, quotes from peer workers, supported peers, both or neither."""
    from app.services import exports, reports

    coder, sessions = service_coder()
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source, threshold)
        rows = reports.table2(coding)
        if out is None:
            typer.echo(reports.table2_markdown(coding, rows))
            return
        out.write_bytes(exports.encode([{"code": r.code, "label": r.label, "group": r.group, "pw_quote": r.cells[0],
                                         "sp_quote": r.cells[1], "presence": r.presence, "pw_segments": r.pw,
                                         "sp_segments": r.sp, "source": coding.source} for r in rows], "csv"))
        typer.echo(f"wrote {out}")


@app.command("exemplars")
def report_exemplars(codebook: str = typer.Option(None), per_code: int = typer.Option(3),
                     source: str = typer.Option("confirmed")) -> None:
    """Exemplar quotes per code, with speaker and transcript, as Markdown."""
    from app.services import reports

    coder, sessions = service_coder()
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source)
        typer.echo(reports.exemplars_markdown(coding, reports.exemplars(coding, per_code)))


@app.command("plots")
def report_plots(
    out: Path = typer.Option(Path("reports"), help="Folder for code-frequency.{png,svg} and group-heatmap.{png,svg}."),
    codebook: str = typer.Option(None), source: str = typer.Option("confirmed"),
) -> None:
    """Codes by speaker role, and a transcript x code-group heat map, as PNG and SVG."""
    from app.services import plots

    coder, sessions = service_coder()
    out.mkdir(parents=True, exist_ok=True)
    with sessions() as session:
        coding = _report_coding(session, coder, codebook, source)
        for name, draw in plots.PLOTS.items():
            for fmt in plots.FORMATS:
                (out / f"{name}.{fmt}").write_bytes(draw(coding, fmt))
                typer.echo(f"wrote {out / f'{name}.{fmt}'}")
