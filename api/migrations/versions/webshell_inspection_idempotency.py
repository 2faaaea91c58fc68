"""inspections remember the Idempotency-Key of their submission

A phone that lost the answer to its submission sends it again with the same key; the key and
a hash of the request body identify the inspection already stored. Keys are unique per
inspector.

Revision ID: webshell_1
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'webshell_1'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(
            'uq_inspections_idempotency', ['inspector_id', 'idempotency_key'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('uq_inspections_idempotency')
        batch_op.drop_column('request_hash')
        batch_op.drop_column('idempotency_key')
