"""stored suggestion runs carry no coder's confirmed sentence as evidence (blind coding)

A run is read by every coder, so the evidence of a suggestion a confirmed sentence raised (its text, its
transcript and speaker, and who coded it) is replaced by a note; confirmed evidence is computed for each reader
when a transcript is read (app/services/confirmed.py). Re-suggesting a transcript brings the codebook's own
evidence back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE = "a sentence a coder confirmed (not kept in stored runs: re-suggest to see the codebook's evidence)"


def upgrade() -> None:
    op.execute(sa.text("UPDATE suggestions SET evidence_text = :note, evidence_source = '' "
                       "WHERE evidence_kind = 'confirmed'").bindparams(note=NOTE))


def downgrade() -> None:
    pass  # the replaced evidence is not kept anywhere: there is nothing to restore
