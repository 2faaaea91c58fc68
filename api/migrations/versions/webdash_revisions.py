"""row revisions: a counter on the register, user, sensor, finding and follow-up rows that
every UPDATE raises by one, so a page of joined views can be validated (ETag) from a sum
over its rows without building it

Revision ID: webdash_1
Revises: corrections_1

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'webdash_1'
down_revision: Union[str, Sequence[str], None] = 'corrections_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('users', 'shelters', 'sensors', 'findings', 'followups')


def upgrade() -> None:
    """Upgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('revision', sa.Integer(), server_default='0', nullable=False)
            )


def downgrade() -> None:
    """Downgrade schema."""
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('revision')
