"""The `autocoder` command: thin wrappers over the library."""

from pathlib import Path

import typer

app = typer.Typer(help="bct-autocoder: suggest BCT codes for interview transcripts.", no_args_is_help=True)
codebook_app = typer.Typer(help="Work with codebook files.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
app.add_typer(db_app, name="db")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


@codebook_app.command("validate")
def validate(paths: list[Path]) -> None:
    """Check codebook files (YAML or JSON) against the schema; exit 1 on the first bad one."""
    from taxonomy import CodebookError, load_codebook_file

    for path in paths:
        try:
            book = load_codebook_file(path)
        except (CodebookError, OSError) as exc:
            typer.echo(f"{path}: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{path}: ok ({book.name} {book.version}, {len(book.codes)} codes)")


@codebook_app.command("list")
def list_codebooks() -> None:
    """The built-in codebooks."""
    from app.config import get_settings
    from taxonomy import load_codebook_file

    for path in sorted(get_settings().taxonomy_dir.glob("*.yaml")):
        book = load_codebook_file(path)
        typer.echo(f"{book.name:24} {book.version:8} {len(book.codes):4} codes  {book.title}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database named by DATABASE_URL to the newest schema."""
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


def main() -> None:
    app()
