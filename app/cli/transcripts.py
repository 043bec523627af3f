"""`autocoder import` and `autocoder transcripts`: bring transcripts in, manage and delete them."""

from pathlib import Path

import typer

from app.cli.common import fail, require_admin, service_coder

app = typer.Typer(help="Stored transcripts: delete one and everything made from it.", no_args_is_help=True)


@app.command("delete")
def transcripts_delete(transcript_id: int, by: str = typer.Option(..., help="The admin deleting it.")) -> None:
    """Delete a transcript, its segments, vectors, runs, suggestions, decisions and cached embeddings; an
    audit row (no text) stays."""
    from app.errors import AutocoderError
    from app.services.privacy import delete_transcript

    coder, sessions = service_coder()
    with sessions() as session:
        try:
            row = delete_transcript(session, coder, transcript_id, require_admin(session, by))
        except AutocoderError as exc:
            fail(exc)
        counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in row.removed.items())
        typer.echo(f"deleted transcript {transcript_id} ({row.participant_id or 'no participant id'}): {counts}")


def import_command(
    paths: list[Path],
    codebook: str = typer.Option(None, help="Codebook to suggest with (default: the service's)."),
    participant_id: str = typer.Option(None), site: str = typer.Option(None),
    trial_arm: str = typer.Option(None),
    code_interviewer: bool = typer.Option(False, help="Code interviewers' sentences too."),
) -> None:
    """Import transcripts (.txt .docx .vtt .srt .csv .jsonl, or .zip of them): all are stored, or none."""
    from app.errors import AutocoderError
    from app.services.coding import SuggestOptions
    from app.services.imports import import_files

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(ValueError(f"no such file: {', '.join(missing)}"))
    coder, sessions = service_coder()
    metadata = {k: v for k, v in dict(participant_id=participant_id, site=site, trial_arm=trial_arm).items() if v}
    with sessions() as session:
        try:
            result = import_files(session, None, coder, [(p.name, p.read_bytes()) for p in paths],
                                  SuggestOptions(codebook), metadata, code_interviewer)
        except AutocoderError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            for problem in exc.details or []:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1) from None
        for transcript, run in result.stored:
            typer.echo(f"transcript {transcript.id}: {transcript.title} ({len(transcript.segments)} sentences, "
                       f"run {run.id})")
    for name in result.skipped:
        typer.echo(f"skipped {name}", err=True)
