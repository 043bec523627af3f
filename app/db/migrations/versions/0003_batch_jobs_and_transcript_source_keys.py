"""batch jobs and transcript source keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:13:23.926439
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('transcripts_total', sa.Integer(), nullable=False),
    sa.Column('transcripts_done', sa.Integer(), nullable=False),
    sa.Column('sentences_done', sa.Integer(), nullable=False),
    sa.Column('chunks_total', sa.Integer(), nullable=False),
    sa.Column('chunks_done', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('eta_seconds', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint('uq_transcripts_source_key', ['source_key'])


def downgrade() -> None:
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_transcripts_source_key', type_='unique')
        batch_op.drop_column('source_key')

    op.drop_table('jobs')
