"""Alembic migrations build exactly the schema the ORM tables describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.db.migrate import upgrade
from app.db.tables import Base


def test_upgrade_creates_the_tables_and_matches_the_models(database_url):
    url = database_url  # SQLite, or PostgreSQL in CI's second pass
    upgrade(url)
    upgrade(url)  # idempotent: a second start-up changes nothing
    engine = create_engine(url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= {t.name for t in Base.metadata.sorted_tables}
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], "the ORM tables changed without a migration: run alembic revision --autogenerate"
