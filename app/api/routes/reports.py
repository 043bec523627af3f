"""Reports (Table 2, exemplar quotes, counts, plots) and exports (segments, decisions, REFI-QDA project)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app.api.deps import CoderDep, SessionDep, Visible
from app.api.media import JSON, MARKDOWN, PNG, SVG, TABLES, ZIP, answers
from app.api.schemas.common import ErrorOut, Id
from app.services import exports, plots, reports, sources

router = APIRouter(tags=["reports and exports"])
ERRORS = {404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no NUL or control characters (PostgreSQL refuses NUL in a query)
Source = Annotated[str | None, Query(max_length=120, pattern=PRINTABLE, description=(
    f"Whose codes: {sources.HELP}; or suggested (UNCONFIRMED suggestions over the threshold)"))]
HumanSource = Annotated[str | None, Query(max_length=120, pattern=PRINTABLE,
                                          description=f"Whose codes: {sources.HELP}")]
Transcripts = Annotated[list[Id] | None, Query(alias="transcript", description="Transcript id(s); all by default")]
Table = Literal["csv", "jsonl", "parquet"]
Coders = Annotated[list[str] | None, Query(alias="coder", description="Coder name(s); everyone by default")]


def _coding(session, scope, coder, codebook, source, transcripts, coders, threshold) -> reports.Coding:
    book = coder.catalog.resolve(session, codebook or coder.settings.default_codebook, to_encode=False)
    return reports.gather(session, book, scope=scope, source=source, transcript_ids=transcripts, coders=coders,
                          threshold=threshold)


def _file(data: bytes, fmt: str, name: str) -> Response:
    return Response(data, media_type=exports.FORMATS.get(fmt, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@router.get("/reports/table2", responses={**ERRORS, **answers(JSON, MARKDOWN, *TABLES)})
def table2(scope: Visible, session: SessionDep, coder: CoderDep, codebook: str | None = None,
           source: Source = None, threshold: Annotated[float | None, Query(ge=0, le=1)] = None,
           transcript: Transcripts = None, coders: Coders = None,
           format: Literal["json", "markdown", "csv", "jsonl", "parquet"] = "json") -> Response:
    """For every code: its group, and whether peer workers, supported peers, both or neither gave a quote.
    Each row names its source: the consensus by default once any exists, else all coders pooled
    (source=suggested: from suggestions at or over the threshold, marked UNCONFIRMED)."""
    coding = _coding(session, scope, coder, codebook, source, transcript, coders, threshold)
    rows = reports.table2(coding)
    if format == "markdown":
        return PlainTextResponse(reports.table2_markdown(coding, rows), media_type="text/markdown")
    data = [{"code": r.code, "label": r.label, "group": r.group, "pw_segments": r.pw, "sp_segments": r.sp,
             "presence": r.presence, "pw_quote": r.cells[0], "sp_quote": r.cells[1], "source": coding.source}
            for r in rows]
    if format == "json":
        return JSONResponse(data)
    return _file(exports.encode(data, format), format, f"table2-{coding.source.replace(':', '-')}")


@router.get("/reports/exemplars", responses={**ERRORS, **answers(JSON, MARKDOWN)})
def exemplar_quotes(scope: Visible, session: SessionDep, coder: CoderDep, codebook: str | None = None,
                    source: Source = None, per_code: Annotated[int, Query(ge=1, le=50)] = 3,
                    transcript: Transcripts = None, coders: Coders = None,
                    format: Literal["json", "markdown"] = "json") -> Response:
    """Quotes per code with speaker, role and transcript (longest first, varied across transcripts)."""
    coding = _coding(session, scope, coder, codebook, source, transcript, coders, None)
    quotes = reports.exemplars(coding, per_code)
    if format == "markdown":
        return PlainTextResponse(reports.exemplars_markdown(coding, quotes), media_type="text/markdown")
    return JSONResponse([{
        "code": code, "text": q.quote, "speaker": q.segment.speaker, "role": q.segment.role,
        "transcript_id": q.transcript.id, "title": q.transcript.title, "segment_id": q.segment.id,
        "end_segment_id": q.end.id if q.end else None, "coders": list(q.coders), "source": coding.source}
        for code, items in quotes.items() for q in items])


@router.get("/reports/counts", responses={**ERRORS, **answers(*TABLES)}, response_class=Response)
def counts(scope: Visible, session: SessionDep, coder: CoderDep, codebook: str | None = None,
           by: Literal["role", "transcript", "group"] = "role", source: Source = None,
           transcript: Transcripts = None, coders: Coders = None,
           format: Literal["csv", "jsonl", "parquet"] = "csv") -> Response:
    """Segments per code x role, or the transcript x code (or x group) matrix."""
    coding = _coding(session, scope, coder, codebook, source, transcript, coders, None)
    rows = reports.code_by_role(coding) if by == "role" else reports.transcript_by(
        coding, "code" if by == "transcript" else "group")[1]
    return _file(exports.encode([r | {"source": coding.source} for r in rows], format), format,
                 f"counts-by-{by}-{coding.source.replace(':', '-')}")


@router.get("/reports/plots/{name}.{fmt}", responses={**ERRORS, **answers(PNG, SVG)}, response_class=Response)
def plot(name: Literal["code-frequency", "group-heatmap"], fmt: Literal["png", "svg"], scope: Visible,
         session: SessionDep, coder: CoderDep, codebook: str | None = None,
         source: Source = None, transcript: Transcripts = None, coders: Coders = None) -> Response:
    """code-frequency (codes by speaker role) or group-heatmap (transcripts x code groups), as png or svg."""
    coding = _coding(session, scope, coder, codebook, source, transcript, coders, None)
    return Response(plots.PLOTS[name](coding, fmt), media_type=plots.MEDIA[fmt])


@router.get("/exports/segments.{fmt}", responses={**ERRORS, **answers(*TABLES)}, response_class=Response)
def export_segments(fmt: Table, scope: Visible, session: SessionDep, transcript: Transcripts = None,
                    source: HumanSource = None) -> Response:
    """Every segment with its suggestions, the codes of the chosen source (confirmed_codes; the source column
    names it) and each coder's codes and rejections (csv, jsonl or parquet)."""
    return _file(exports.encode(exports.segment_rows(session, scope, transcript, source), fmt), fmt, "segments")


@router.get("/exports/decisions.{fmt}", responses={**ERRORS, **answers(*TABLES)}, response_class=Response)
def export_decisions(fmt: Table, scope: Visible, session: SessionDep, transcript: Transcripts = None) -> Response:
    """The decision trail: who decided what, when, on which suggestion and model (csv, jsonl or parquet)."""
    return _file(exports.encode(exports.decision_rows(session, scope, transcript), fmt), fmt, "decisions")


@router.get("/exports/project.qdpx", responses={**ERRORS, **answers(ZIP)}, response_class=Response)
def export_project(scope: Visible, session: SessionDep, coder: CoderDep, codebook: str | None = None,
                   transcript: Transcripts = None,
                   name: Annotated[str, Query(min_length=1, max_length=200, pattern=PRINTABLE,
                                              description="The project's name (no control characters)")
                                   ] = "bct-autocoder project",
                   source: HumanSource = None) -> Response:
    """The coded project for NVivo, ATLAS.ti or MAXQDA (REFI-QDA): sources, coded segments, codes, coders
    (the consensus, as user "consensus", by default once any exists; source=pooled: each coder as themselves)."""
    book = coder.catalog.resolve(session, codebook or exports.current_codebook_name(
        session, coder.settings.default_codebook), to_encode=False)
    return Response(exports.project(session, scope, book, name, transcript, source), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="project.qdpx"'})
