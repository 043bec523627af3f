"""`autocoder report`: tables and plots for a paper, from confirmed codes (the consensus by default once any
exists, else every coder's pooled; --source chooses), and the disagreements still to resolve."""

from pathlib import Path

import typer

from app.cli.common import fail, open_session, service_catalog

app = typer.Typer(help="Tables and plots for a paper, from confirmed codes; disagreements to resolve.",
                  no_args_is_help=True)
SOURCE = ("Whose codes: consensus, pooled (all coders), coder:NAME, or auto (default: consensus where any "
          "exists, else pooled)")


def _report_coding(session, catalog, settings, codebook, source, threshold=None):
    from app.errors import AutocoderError
    from app.services import reports
    from app.services.visibility import Visibility

    try:
        book = catalog.resolve(session, codebook or settings.default_codebook, to_encode=False)
        return reports.gather(session, book, scope=Visibility.everyone(), source=source, threshold=threshold)
    except AutocoderError as exc:
        fail(exc)


@app.command("table2")
def report_table2(
    codebook: str = typer.Option(None, help="Codebook (default: the service's)."),
    source: str = typer.Option("auto", help=SOURCE + "; or suggested (UNCONFIRMED, over the threshold)."),
    threshold: float = typer.Option(None, help="With --source suggested: the score floor (default: each run's)."),
    out: Path = typer.Option(None, help="Write CSV here instead of printing Markdown."),
) -> None:
    """The seed paper's Table 2: for every code, quotes from peer workers, supported peers, both or neither."""
    from app.services import exports, reports

    settings, catalog, sessions = service_catalog()
    with sessions() as session:
        coding = _report_coding(session, catalog, settings, codebook, source, threshold)
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
                     source: str = typer.Option("auto", help=SOURCE)) -> None:
    """Exemplar quotes per code, with speaker and transcript, as Markdown."""
    from app.services import reports

    settings, catalog, sessions = service_catalog()
    with sessions() as session:
        coding = _report_coding(session, catalog, settings, codebook, source)
        typer.echo(reports.exemplars_markdown(coding, reports.exemplars(coding, per_code)))


@app.command("plots")
def report_plots(
    out: Path = typer.Option(Path("reports"), help="Folder for code-frequency.{png,svg} and group-heatmap.{png,svg}."),
    codebook: str = typer.Option(None), source: str = typer.Option("auto", help=SOURCE),
) -> None:
    """Codes by speaker role, and a transcript x code-group heat map, as PNG and SVG."""
    from app.services import plots

    settings, catalog, sessions = service_catalog()
    out.mkdir(parents=True, exist_ok=True)
    with sessions() as session:
        coding = _report_coding(session, catalog, settings, codebook, source)
        for name, draw in plots.PLOTS.items():
            for fmt in plots.FORMATS:
                (out / f"{name}.{fmt}").write_bytes(draw(coding, fmt))
                typer.echo(f"wrote {out / f'{name}.{fmt}'}")


@app.command("disagreements")
def report_disagreements(
    transcript: list[int] = typer.Option(None, help="Transcript id(s); all by default."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON lines instead of text."),
) -> None:
    """Sentences (and spans) where coders disagree and no consensus decision is recorded yet."""
    import json

    from app.errors import AutocoderError
    from app.services import consensus
    from app.services.visibility import Visibility

    with open_session() as session:
        try:
            found = consensus.disagreements(session, Visibility.everyone(), transcript or None)
        except AutocoderError as exc:
            fail(exc)
    for view, row in found:
        # Sentence numbers, as the pages show them; the segment id for the API beside them.
        where = f"sentence {row.number}" + (f"–{row.end_number}" if row.end_number else "") + \
            f" (segment {row.segment_id})"
        if json_out:
            typer.echo(json.dumps({"transcript_id": view.transcript_id, "title": view.title,
                                   "segment_id": row.segment_id, "end_segment_id": row.end_segment_id,
                                   "number": row.number, "end_number": row.end_number,
                                   "speaker": row.speaker, "text": row.text, "coders": row.coders}))
            continue
        codes = "; ".join(f"{n}: {', '.join(c) or '(none)'}" for n, c in row.coders.items())
        typer.echo(f"transcript {view.transcript_id} {where} [{row.speaker}] {row.text}\n    {codes}")
    if not json_out:
        typer.echo(f"{len(found)} unresolved disagreement(s)")
