"""The `autocoder` command: thin wrappers over the library, one module per command group."""

import typer

from app.cli import (
    agreement,
    codebook,
    discover,
    evaluate,
    export,
    models,
    precode,
    report,
    service,
    transcripts,
    users,
)

app = typer.Typer(help="bct-autocoder: suggest BCT codes for interview transcripts.", no_args_is_help=True)
app.command()(service.serve)
app.command()(evaluate.evaluate)
app.command()(agreement.agreement)
app.command()(precode.precode)
app.command()(models.train)
app.command("import")(transcripts.import_command)
app.add_typer(codebook.app, name="codebook")
app.add_typer(service.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(models.app, name="models")
app.add_typer(transcripts.app, name="transcripts")
app.add_typer(report.app, name="report")
app.add_typer(export.app, name="export")
app.add_typer(discover.app, name="discover")


def main() -> None:
    app()

