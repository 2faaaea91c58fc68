"""contacts: the 工程长 as a contact without an account (name, phone) and the responsible
unit's contact person and phone, on the shelter

Revision ID: contacts_1
Revises: retention_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "contacts_1"
down_revision: Union[str, Sequence[str], None] = "retention_1"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (
    ("responsible_unit_contact", 128),
    ("responsible_unit_phone", 32),
    ("manager_contact_name", 128),
    ("manager_contact_phone", 32),
)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("shelters") as batch:
        for name, length in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.String(length=length), server_default="", nullable=False)
            )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("shelters") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
