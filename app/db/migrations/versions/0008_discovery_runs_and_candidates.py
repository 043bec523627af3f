"""inductive discovery: runs and their candidate codes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('discovery_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('codebook_name', sa.String(length=200), nullable=False),
    sa.Column('codebook_digest', sa.String(length=64), nullable=True),
    sa.Column('model_id', sa.String(length=200), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('points', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('discovery_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('definition', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('by_role', sa.JSON(), nullable=False),
    sa.Column('by_transcript', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('quotes', sa.JSON(), nullable=False),
    sa.Column('exemplars', sa.JSON(), nullable=True),
    sa.Column('nearest_codes', sa.JSON(), nullable=False),
    sa.Column('stability', sa.Float(), nullable=True),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('merged_from', sa.JSON(), nullable=True),
    sa.Column('merged_into', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('promoted_codebook', sa.String(length=200), nullable=True),
    sa.Column('promoted_version', sa.String(length=64), nullable=True),
    sa.Column('promoted_code', sa.String(length=64), nullable=True),
    sa.Column('recode', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['discovery_runs.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'number', name='uq_discovery_candidates_run_number')
    )
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_discovery_candidates_run_id', ['run_id'])


def downgrade() -> None:
    with op.batch_alter_table('discovery_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_discovery_candidates_run_id')
    op.drop_table('discovery_candidates')
    op.drop_table('discovery_runs')
