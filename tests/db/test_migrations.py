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


def test_the_deletions_table_migrates_up_and_down_on_a_fresh_sqlite_file(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from app.db.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url, "0005")
    engine = create_engine(url)
    with engine.begin() as conn:  # a database with a transcript in it, from before 0006
        conn.execute(text("INSERT INTO transcripts (title, participant_id, extra, source_format, text, created_at) "
                          "VALUES ('t', 'SP3', '{}', 'text', 'SP3: hello there you', '2026-01-01')"))
        assert "transcript_deletions" not in inspect(conn).get_table_names()
    upgrade(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("transcript_deletions")}
        assert conn.scalar(text("SELECT count(*) FROM transcripts")) == 1
    assert columns == {"id", "transcript_id", "title", "participant_id", "deleted_by", "deleted_by_name",
                       "removed", "deleted_at"}  # and no text column
    command.downgrade(alembic_config(url), "0005")
    with engine.connect() as conn:
        assert "transcript_deletions" not in inspect(conn).get_table_names()
    upgrade(url)
    engine.dispose()
