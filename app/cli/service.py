"""Run the service and upgrade its database: `autocoder serve`, `autocoder db upgrade`."""

import typer

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


@app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database named by DATABASE_URL to the newest schema."""
    from app.config import get_settings
    from app.db.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")
