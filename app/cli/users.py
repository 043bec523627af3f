"""`autocoder users`: users, roles and API tokens."""

import typer

from app.cli.common import fail, open_session

app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


@app.command("add")
def users_add(name: str, role: str = typer.Option("coder", help="viewer, coder, adjudicator or admin.")) -> None:
    """Add a user and print their API token (shown once: only its hash is stored)."""
    from app.errors import AutocoderError
    from app.services import accounts

    with open_session() as session:
        try:
            new = accounts.add_user(session, name, role)
        except AutocoderError as exc:
            fail(exc)
    typer.echo(f"added {name} ({role}). API token, shown once; send it as 'Authorization: Bearer <token>':")
    typer.echo(new.token)


@app.command("token")
def users_token(name: str, revoke_old: bool = typer.Option(False, help="Revoke the user's earlier tokens.")) -> None:
    """Print a new API token for a user (for a lost token, with --revoke-old)."""
    from app.errors import AutocoderError
    from app.services import accounts

    with open_session() as session:
        try:
            new = accounts.new_token(session, name, revoke_old=revoke_old)
        except AutocoderError as exc:
            fail(exc)
    typer.echo(new.token)


@app.command("list")
def users_list() -> None:
    """Users and their roles."""
    from app.db import accounts as db

    with open_session() as session:
        for user in db.list_users(session):
            typer.echo(f"{user.name:24} {user.role:11} {'active' if user.active else 'deactivated'}")  # adjudicator: 11
