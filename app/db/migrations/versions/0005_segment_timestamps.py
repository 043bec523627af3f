"""segment timestamps from caption files and timed turns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_start', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('time_end', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('time_end')
        batch_op.drop_column('time_start')
