"""Shared fixtures: the real bundled model (loaded once), a fresh SQLite file per test, real HTTP via ASGI."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.config import Settings  # noqa: E402
from app.db import tables  # noqa: E402
from app.engine.embed import Embedder  # noqa: E402
from app.main import create_app  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


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
def settings(tmp_path: Path, index_cache_dir: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'autocoder.db'}", cache_dir=index_cache_dir)


@pytest.fixture
def client(settings: Settings, embedder: Embedder) -> Iterator[TestClient]:
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
