"""What every command group shares: a migrated database session, the service's own parts (a Learner and
its Coder, no HTTP), finding an admin by name, and printing an error as a CLI error (exit status 1)."""

import typer


def open_session():
    """A session on the configured database, migrated to the newest schema first."""
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory

    url = get_settings().database_url
    upgrade(url)
    return make_session_factory(make_engine(url))()


def fail(exc: Exception) -> None:
    """Print the error (str() keeps a codebook error's list of problems) and exit with status 1."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1) from None


def service_catalog():
    """The configured settings, the codebooks and a session factory on the migrated database, without loading
    the encoder: reports read stored codes, and need no model (loading it took about 8 s a command)."""
    from app.config import get_settings
    from app.db.migrate import upgrade
    from app.db.session import make_engine, make_session_factory
    from app.services.codebooks import CodebookCatalog

    settings = get_settings()
    upgrade(settings.database_url)
    return settings, CodebookCatalog.from_settings(settings), make_session_factory(make_engine(settings.database_url))


def service_learner():
    """A Learner on the configured database and embedding model (the service's own parts, no HTTP)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from app.services.coding import Coder
    from app.services.embedders import make_embedder
    from app.services.learning import Learner

    settings, catalog, sessions = service_catalog()
    embedder = make_embedder(settings)
    if embedder.fallback:
        typer.echo(f"warning: {embedder.fallback}", err=True)
    return Learner(settings, Coder(settings, embedder, catalog), sessions), sessions


def require_admin(session, name: str):
    from app.db import accounts as db
    from app.services.accounts import require

    user = db.get_user(session, name=name)
    if user is None:
        fail(ValueError(f"no user {name!r}: `autocoder users list` shows who there is"))
    require(user, "admin")
    return user


def service_coder():
    """The service's Coder on the configured database and model, and a session factory."""
    learner, sessions = service_learner()
    return learner.coder, sessions
