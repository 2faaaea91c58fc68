"""document numbering per kind and year; the reason of a late inspection

Revision ID: pdf_1
Revises: webshell_1

Each kind of document (notice ZG, ledger TZ, key supervision DB, referral YJ) gets its own
gap-free sequence per year in ``document_sequences``. Numbers already issued are kept as
they are (they are printed on served documents); each series continues after the count of
documents of its kind already issued that year.
"""
import re
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'pdf_1'
down_revision: Union[str, Sequence[str], None] = 'webshell_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_NUMBER = re.compile(r"^[A-Z]{2}(\d{4})-")


def upgrade() -> None:
    sequences = op.create_table(
        'document_sequences',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'year'),
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_reason', sa.Text(), server_default='', nullable=False))

    counts: dict[tuple[str, int], int] = {}
    for kind, number in op.get_bind().execute(sa.text("SELECT kind, number FROM followups")):
        match = _NUMBER.match(number)
        if match:
            key = (kind, int(match[1]))
            counts[key] = counts.get(key, 0) + 1
    if counts:
        op.bulk_insert(
            sequences,
            [{'kind': k, 'year': y, 'last': n} for (k, y), n in sorted(counts.items())],
        )


def downgrade() -> None:
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_column('late_reason')
    op.drop_table('document_sequences')
