"""reinspect: a re-inspection's verdict on each earlier finding it judged (``finding_verdicts``)

Revision ID: reinspect_1
Revises: retention_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "reinspect_1"
down_revision: Union[str, Sequence[str], None] = "retention_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "finding_verdicts",
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("replacement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"]),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"]),
        sa.ForeignKeyConstraint(["replacement_id"], ["findings.id"]),
        sa.PrimaryKeyConstraint("inspection_id", "finding_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("finding_verdicts")
