"""contacts: the 工程长 as a contact without an account (name, phone) and the responsible
unit's contact person and phone, on the shelter; the directory of protective-equipment
manufacturers, the one a ledger entry names, and the contacts made with it

Revision ID: contacts_1
Revises: sweeps_1

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "contacts_1"
down_revision: Union[str, Sequence[str], None] = "sweeps_1"
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
    op.create_table(
        "manufacturers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("contact_name", sa.String(length=128), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # Not as a batch: that copies followups to a new table and drops the old one, which
        # the rows of other tables reference (outcome records, milestones, deliveries), and
        # SQLite refuses the DROP while foreign keys are enforced. ALTER TABLE ADD COLUMN may
        # carry a REFERENCES clause when the default is NULL.
        op.execute(
            "ALTER TABLE followups ADD COLUMN manufacturer_id INTEGER "
            "CONSTRAINT fk_followups_manufacturer_id REFERENCES manufacturers (id)"
        )
    else:
        op.add_column("followups", sa.Column("manufacturer_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_followups_manufacturer_id", "followups", "manufacturers", ["manufacturer_id"], ["id"]
        )
    op.create_table(
        "manufacturer_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("followup_id", sa.Integer(), nullable=False),
        sa.Column("manufacturer_id", sa.Integer(), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["followup_id"], ["followups.id"]),
        sa.ForeignKeyConstraint(["manufacturer_id"], ["manufacturers.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_manufacturer_contacts_followup_id", "manufacturer_contacts", ["followup_id"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_manufacturer_contacts_followup_id", table_name="manufacturer_contacts")
    op.drop_table("manufacturer_contacts")
    with op.batch_alter_table("followups") as batch:
        if op.get_bind().dialect.name != "sqlite":  # on SQLite it goes with the column
            batch.drop_constraint("fk_followups_manufacturer_id", type_="foreignkey")
        batch.drop_column("manufacturer_id")
    op.drop_table("manufacturers")
    with op.batch_alter_table("shelters") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
