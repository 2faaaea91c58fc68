"""water-leak (水浸) readings: a ``water_leak`` column on the stored readings and on each
sensor's live values (true: water detected, false: dry, null: not reported)

Revision ID: waterleak_1
Revises: milestones_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "waterleak_1"
down_revision: Union[str, Sequence[str], None] = "milestones_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("telemetry_readings", "sensor_live")


def upgrade() -> None:
    """Upgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("water_leak", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("water_leak")
