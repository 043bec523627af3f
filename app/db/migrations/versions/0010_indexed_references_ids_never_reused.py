"""every reference to a deletable row is indexed; ids are never reused (SQLite AUTOINCREMENT)

Deleting a transcript deletes its segments, runs and suggestions; each deleted row makes the database look for
rows that refer to it (the foreign keys' ON DELETE). Without an index on the referring column that is a scan
of the whole table per deleted row: 24 s for a 1,411-sentence transcript among 13 others, every other write
waiting meanwhile. The indexes make it a lookup.

SQLite gives a new row the largest id + 1, so deleting the newest transcript let the next import take its
id, and GET /deletions named one id twice. AUTOINCREMENT never goes back; PostgreSQL's sequences never do.
SQLite can only set it by rebuilding each table (with foreign keys off, so the rebuild's drop cascades to
nothing), and the transcripts' counter starts after every deleted transcript's id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {  # name: (table, column) for references that had no index leading with them
    "ix_suggestions_segment_id": ("suggestions", "segment_id"),
    "ix_suggestions_end_segment_id": ("suggestions", "end_segment_id"),
    "ix_decisions_end_segment_id": ("decisions", "end_segment_id"),
    "ix_decisions_suggestion_id": ("decisions", "suggestion_id"),
    "ix_decisions_run_id": ("decisions", "run_id"),
}

TABLES = ("codebooks", "transcripts", "segments", "suggestion_runs", "suggestions", "users", "api_tokens",
          "decisions", "jobs", "classifiers", "serving_changes", "transcript_deletions", "finish_marks",
          "transcript_edits", "discovery_runs", "discovery_candidates")


def _ids_never_reused() -> None:
    context = op.get_context()
    with context.autocommit_block():  # the pragma is ignored inside a transaction
        op.execute("PRAGMA foreign_keys=OFF")
    for name in TABLES:
        with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    op.execute("DELETE FROM sqlite_sequence WHERE name = 'transcripts'")
    op.execute("INSERT INTO sqlite_sequence (name, seq) SELECT 'transcripts', "
               "max(coalesce((SELECT max(id) FROM transcripts), 0), "
               "coalesce((SELECT max(transcript_id) FROM transcript_deletions), 0))")
    broken = op.get_bind().execute(sa.text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        raise RuntimeError(f"rebuilding the tables broke {len(broken)} references: {broken[:5]}")
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _ids_never_reused()
    for name, (table, column) in INDEXES.items():
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
    # AUTOINCREMENT stays: undoing it would let ids be reused again, and nothing depends on its absence.
