"""spans (decisions and suggestions over consecutive sentences), consensus decisions, finish marks, transcript
metadata edits and the speaker -> role map

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_segment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=16), server_default='coding', nullable=False))
        batch_op.create_foreign_key('fk_decisions_end_segment_id_segments', 'segments', ['end_segment_id'],
                                    ['id'], ondelete='CASCADE')
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_segment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_suggestions_end_segment_id_segments', 'segments', ['end_segment_id'],
                                    ['id'], ondelete='CASCADE')
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speaker_roles', sa.JSON(), nullable=True))
    op.create_table('finish_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('coder_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['coder_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('finish_marks', schema=None) as batch_op:
        batch_op.create_index('ix_finish_marks_transcript_coder', ['transcript_id', 'coder_id'])
    op.create_table('transcript_edits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.Column('edited_by', sa.Integer(), nullable=True),
    sa.Column('edited_by_name', sa.String(length=100), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edited_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('transcript_edits', schema=None) as batch_op:
        batch_op.create_index('ix_transcript_edits_transcript_id', ['transcript_id'])


def downgrade() -> None:
    with op.batch_alter_table('transcript_edits', schema=None) as batch_op:
        batch_op.drop_index('ix_transcript_edits_transcript_id')
    op.drop_table('transcript_edits')
    with op.batch_alter_table('finish_marks', schema=None) as batch_op:
        batch_op.drop_index('ix_finish_marks_transcript_coder')
    op.drop_table('finish_marks')
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_column('speaker_roles')
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_suggestions_end_segment_id_segments', type_='foreignkey')
        batch_op.drop_column('end_segment_id')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_decisions_end_segment_id_segments', type_='foreignkey')
        batch_op.drop_column('stage')
        batch_op.drop_column('end_segment_id')
