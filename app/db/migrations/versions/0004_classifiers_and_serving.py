"""trained classifiers, serving history, and the classifier behind each run and decision

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('classifiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('codebook_name', sa.String(length=200), nullable=False),
    sa.Column('codebook_digest', sa.String(length=64), nullable=True),
    sa.Column('embedding_model', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('force', sa.Boolean(), nullable=False),
    sa.Column('decisions_until', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('card', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_classifiers_codebook_name', 'classifiers', ['codebook_name'])
    op.create_table('serving_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('codebook_name', sa.String(length=200), nullable=False),
    sa.Column('classifier_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['classifier_id'], ['classifiers.id'], ),
    sa.ForeignKeyConstraint(['changed_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_serving_changes_codebook_name', 'serving_changes', ['codebook_name'])
    for table in ('suggestion_runs', 'decisions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('classifier_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_classifier_id', 'classifiers', ['classifier_id'], ['id'],
                                        ondelete='SET NULL')


def downgrade() -> None:
    for table in ('decisions', 'suggestion_runs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_classifier_id', type_='foreignkey')
            batch_op.drop_column('classifier_id')
    op.drop_index('ix_serving_changes_codebook_name', table_name='serving_changes')
    op.drop_table('serving_changes')
    op.drop_index('ix_classifiers_codebook_name', table_name='classifiers')
    op.drop_table('classifiers')
