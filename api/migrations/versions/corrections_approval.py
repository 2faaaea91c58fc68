"""corrections keep a review state: removing or lowering findings waits for an officer

One row per correcting inspection: its status (applied, pending, approved, rejected), the
reason, the findings in force it removes or lowers, its proposed findings and who decided
when. At most one pending correction per corrected inspection. Corrections stored before
this revision took effect at once: they are recorded as applied.

Revision ID: corrections_1
Revises: alerts_1

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'corrections_1'
down_revision: Union[str, Sequence[str], None] = 'alerts_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'corrections',
        sa.Column('inspection_id', sa.Integer(), nullable=False),
        sa.Column('corrects_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('proposed', sa.JSON(), nullable=False),
        sa.Column('tracker_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'pending', 'approved', 'rejected')",
            name='ck_corrections_status',
        ),
        sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id']),
        sa.ForeignKeyConstraint(['corrects_id'], ['inspections.id']),
        sa.ForeignKeyConstraint(['tracker_id'], ['users.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id']),
        sa.PrimaryKeyConstraint('inspection_id'),
    )
    op.create_index('ix_corrections_corrects_id', 'corrections', ['corrects_id'])
    op.create_index(
        'uq_corrections_one_pending',
        'corrections',
        ['corrects_id'],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.execute(
        "INSERT INTO corrections (inspection_id, corrects_id, status, reason, changes, proposed,"
        " created_at, decision_note)"
        " SELECT id, corrects_id, 'applied', '', '[]', '[]', submitted_at, ''"
        " FROM inspections WHERE corrects_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index('uq_corrections_one_pending', table_name='corrections')
    op.drop_index('ix_corrections_corrects_id', table_name='corrections')
    op.drop_table('corrections')
