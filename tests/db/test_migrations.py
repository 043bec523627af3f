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


DELETABLE = {"transcripts", "segments", "suggestion_runs", "suggestions", "discovery_runs"}


def test_every_reference_to_a_deletable_row_is_indexed(database_url):
    """Deleting a row makes the database find the rows referring to it (ON DELETE): without an index leading
    with the referring column, that is a scan of the whole table per deleted row (24 s for one transcript)."""
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        found = inspect(conn)
        missing = []
        for table in found.get_table_names():
            leading = {tuple(i["column_names"][:1]) for i in found.get_indexes(table)}
            leading |= {tuple(u["column_names"][:1]) for u in found.get_unique_constraints(table)}
            leading.add(tuple(found.get_pk_constraint(table)["constrained_columns"][:1]))
            for fk in found.get_foreign_keys(table):
                if fk["referred_table"] in DELETABLE and (fk["constrained_columns"][0],) not in leading:
                    missing.append(f"{table}.{fk['constrained_columns'][0]}")
    engine.dispose()
    assert missing == []


def test_ids_are_never_reused_after_upgrading_a_sqlite_file_with_rows(tmp_path):
    """0010 rebuilds SQLite's tables with AUTOINCREMENT, keeping every row and reference, and the next
    transcript's id comes after every transcript ever deleted."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from app.db.tables import Segment, Transcript, TranscriptDeletion

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")
    engine = create_engine(url)
    with Session(engine) as session:  # transcripts 1 and 2 kept; 3 was deleted, before AUTOINCREMENT
        for n in (1, 2):
            session.add(Transcript(id=n, source_format="text", text="SP3: hello there you", segments=[
                Segment(position=0, turn_index=0, sentence_index=0, speaker="SP3", role="SP", char_start=5,
                        char_end=20, text="hello there you")]))
        session.add(TranscriptDeletion(transcript_id=3, deleted_by_name="admin", removed={}))
        session.commit()
    upgrade(url)
    with engine.begin() as conn:
        assert "AUTOINCREMENT" in conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'transcripts'"))
        assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        assert conn.scalar(text("SELECT count(*) FROM segments WHERE transcript_id IN (1, 2)")) == 2
        new = conn.execute(text("INSERT INTO transcripts (extra, source_format, text, created_at) "
                                "VALUES ('{}', 'text', 'x', '2026-01-01') RETURNING id")).scalar()
        assert new == 4
        conn.execute(text("DELETE FROM transcripts WHERE id = 4"))
        again = conn.execute(text("INSERT INTO transcripts (extra, source_format, text, created_at) "
                                  "VALUES ('{}', 'text', 'x', '2026-01-01') RETURNING id")).scalar()
        assert again == 5
    engine.dispose()
