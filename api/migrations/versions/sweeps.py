"""sweeps: planned rounds of inspections (``sweeps``) and their shelters with the inspector
assigned to each (``sweep_shelters``)

Revision ID: sweeps_1
Revises: reinspect_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "sweeps_1"
down_revision: Union[str, Sequence[str], None] = "reinspect_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_sweeps_period"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sweep_shelters",
        sa.Column("sweep_id", sa.Integer(), nullable=False),
        sa.Column("shelter_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"]),
        sa.ForeignKeyConstraint(["shelter_id"], ["shelters.id"]),
        sa.ForeignKeyConstraint(["inspector_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["assigned_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("sweep_id", "shelter_id"),
    )
    op.create_index("ix_sweep_shelters_shelter_id", "sweep_shelters", ["shelter_id"])
    op.create_index("ix_sweep_shelters_inspector_id", "sweep_shelters", ["inspector_id"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_sweep_shelters_inspector_id", table_name="sweep_shelters")
    op.drop_index("ix_sweep_shelters_shelter_id", table_name="sweep_shelters")
    op.drop_table("sweep_shelters")
    op.drop_table("sweeps")
