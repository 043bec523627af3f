"""`autocoder agreement`: inter-coder agreement on stored decisions."""

import typer

from app.cli.common import fail, open_session


def agreement(
    transcript: list[int] = typer.Option(None, help="Transcript id(s); all transcripts by default."),
    coder: list[str] = typer.Option(None, help="Coder name(s); everyone who finished a transcript by default."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Agreement between coders and with the model, over the codable sentences of the transcripts both coders
    marked finished: kappa per code, Krippendorff's alpha pooled and per code, prevalence, % agreement."""
    import dataclasses
    import json

    from app.errors import AutocoderError
    from app.services import agreement as stats
    from app.services.visibility import Visibility

    with open_session() as session:
        try:
            report = stats.compare(**stats.gather(session, Visibility.everyone(), transcript or None, coder or None))
        except AutocoderError as exc:
            fail(exc)
    typer.echo(json.dumps(dataclasses.asdict(report), indent=2) if json_out else stats.table(report))
