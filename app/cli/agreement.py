"""`autocoder agreement`: inter-coder agreement on stored decisions."""

import typer

from app.cli.common import open_session


def agreement(
    transcript: list[int] = typer.Option(None, help="Transcript id(s); all transcripts by default."),
    coder: list[str] = typer.Option(None, help="Coder name(s); everyone who decided by default."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Agreement between coders (Cohen's kappa, Krippendorff's alpha, % agreement) and with the model."""
    import dataclasses
    import json

    from app.services import agreement as stats
    from app.services.visibility import Visibility

    with open_session() as session:
        report = stats.compare(*stats.gather(session, Visibility.everyone(), transcript or None, coder or None))
    typer.echo(json.dumps(dataclasses.asdict(report), indent=2) if json_out else stats.table(report))
