"""retention: the hourly rollup of readings (``telemetry_hourly``), how far it has read
(``telemetry_rollup_mark``), and an index on when readings were stored

Revision ID: retention_1
Revises: ingestfix_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "retention_1"
down_revision: Union[str, Sequence[str], None] = "ingestfix_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

METRICS = ("temperature", "humidity", "fire_risk", "dew_point", "co", "battery")


def upgrade() -> None:
    """Upgrade schema."""
    columns: list[sa.Column[object]] = []
    for metric in METRICS:
        columns += [
            sa.Column(f"{metric}_mean", sa.Float(), nullable=True),
            sa.Column(f"{metric}_min", sa.Float(), nullable=True),
            sa.Column(f"{metric}_max", sa.Float(), nullable=True),
            sa.Column(f"{metric}_count", sa.Integer(), nullable=False),
        ]
    op.create_table(
        "telemetry_hourly",
        sa.Column("sensor_id", sa.String(length=64), nullable=False),
        sa.Column("hour_ms", sa.BigInteger(), nullable=False),
        sa.Column("shelter_code", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        *columns,
        sa.Column("rolled_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "hour_ms"),
    )
    op.create_index(
        "ix_telemetry_hourly_shelter_hour", "telemetry_hourly", ["shelter_code", "hour_ms"]
    )
    op.create_index("ix_telemetry_hourly_hour", "telemetry_hourly", ["hour_ms"])
    op.create_table(
        "telemetry_rollup_mark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("stored_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_telemetry_readings_stored", "telemetry_readings", ["stored_at_ms"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_telemetry_readings_stored", table_name="telemetry_readings")
    op.drop_table("telemetry_rollup_mark")
    op.drop_index("ix_telemetry_hourly_hour", table_name="telemetry_hourly")
    op.drop_index("ix_telemetry_hourly_shelter_hour", table_name="telemetry_hourly")
    op.drop_table("telemetry_hourly")
