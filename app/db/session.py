"""Database engine and sessions, from a URL: SQLite by default, PostgreSQL or any SQLAlchemy URL."""

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, busy_seconds: float = 30.0) -> Engine:
    """An engine for `url`; for SQLite, creates the folder and turns on foreign keys and WAL. A write waits at
    most `busy_seconds` for another one (SQLite's lock; PostgreSQL's lock_timeout) and then fails, which the
    service answers with 503 and Retry-After."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_seconds})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True,
                         connect_args={"options": f"-c lock_timeout={int(busy_seconds * 1000)}"}
                         if url.startswith("postgresql") else {})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
