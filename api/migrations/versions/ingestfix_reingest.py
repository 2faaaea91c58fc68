"""re-ingestion of rejected readings: ``telemetry_rejects.reingested_at_ms``, when an
operator's re-ingestion stored what the row had refused (null while it stays refused)

Revision ID: ingestfix_1
Revises: waterleak_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "ingestfix_1"
down_revision: Union[str, Sequence[str], None] = "waterleak_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("telemetry_rejects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reingested_at_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("telemetry_rejects", schema=None) as batch_op:
        batch_op.drop_column("reingested_at_ms")
