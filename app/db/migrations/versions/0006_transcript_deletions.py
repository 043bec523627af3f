"""audit rows of deleted transcripts (no text)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('transcript_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('participant_id', sa.String(length=100), nullable=True),
    sa.Column('deleted_by', sa.Integer(), nullable=True),
    sa.Column('deleted_by_name', sa.String(length=100), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deleted_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcript_deletions', schema=None) as batch_op:
        batch_op.create_index('ix_transcript_deletions_transcript_id', ['transcript_id'])


def downgrade() -> None:
    with op.batch_alter_table('transcript_deletions', schema=None) as batch_op:
        batch_op.drop_index('ix_transcript_deletions_transcript_id')
    op.drop_table('transcript_deletions')
