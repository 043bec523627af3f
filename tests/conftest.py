"""Shared fixtures: the real bundled model (loaded once), a fresh database per test, real HTTP via ASGI.

The database is a new SQLite file per test, or, when AUTOCODER_TEST_POSTGRES_URL names a PostgreSQL server
(`.ci/run` starts one and runs the suite a second time), a new PostgreSQL database per test.
"""

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import DBAPIError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The suite's expected codes and scores were set with torch's vectors; tests/engine/test_onnx_backend.py covers
# the ONNX backends. Set AUTOCODER_EMBEDDING_BACKEND to run the whole suite on another one.
os.environ.setdefault("AUTOCODER_EMBEDDING_BACKEND", "torch")
# The suite runs on `fast` (all-MiniLM-L6-v2, installed with the project) for speed, whatever encoder a
# developer installed; tests that need another one ask for it by name and skip when it is not installed.
os.environ.setdefault("AUTOCODER_ENCODER", "fast")

from app.config import Settings  # noqa: E402
from app.db import tables  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.main import create_app  # noqa: E402
from app.services import accounts  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("AUTOCODER_TEST_POSTGRES_URL", "")


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test with the reason when this clone has none beside it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's shared data, present in CI, absent in a user's clone)")
    return path


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def index_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index-cache")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'autocoder.db'}"
        return
    name = f"test_{uuid.uuid4().hex[:16]}"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    for attempt in range(5):  # a background session (autovacuum) can briefly hold the database
        try:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            break
        except DBAPIError:
            if attempt == 4:
                raise
            time.sleep(1)
    server.dispose()


@pytest.fixture
def settings(database_url: str, index_cache_dir: Path, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, cache_dir=index_cache_dir, models_dir=tmp_path / "models",
                    jobs_dir=tmp_path / "jobs")


def add_user(app: FastAPI, name: str, role: str) -> dict[str, str]:
    """A user made through the accounts service of a started app; the Authorization header with their token."""
    with app.state.session_factory() as session:
        return {"Authorization": f"Bearer {accounts.add_user(session, name, role).token}"}


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    """The app over real HTTP semantics, signed in as an admin (tests of roles send their own headers)."""
    with TestClient(create_app(settings, embedder)) as test_client:
        test_client.headers.update(add_user(test_client.app, "admin", "admin"))
        yield test_client


@pytest.fixture
def anonymous(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder)) as test_client:
        yield test_client


@pytest.fixture
def row_counts(settings: Settings):
    """A function returning the number of rows in every table, to prove nothing was half-written."""
    engine = create_engine(settings.database_url)

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t))
                    for t in tables.Base.metadata.sorted_tables}

    yield counts
    engine.dispose()
