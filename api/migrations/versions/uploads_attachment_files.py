"""attachments keep their bytes in the file store; the rows keep metadata

New uploads are written to the file store (``SHELTERWATCH_VAR_DIR/files``) and their rows
name the file (``file_key``) and its thumbnail (``thumbnail_key``), with the image's size in
pixels; ``data`` is left empty. Rows stored before keep their bytes in ``data`` and are still
read from there (through the same checks and re-encoding as an upload, so no metadata is
served), which needs no file store at migration time. File names from clients are kept for
display only: existing ones are reduced to their last path segment without control
characters.

Revision ID: uploads_1
Revises: auth_1

"""
import unicodedata
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'uploads_1'
down_revision: Union[str, Sequence[str], None] = 'auth_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _display(name: str) -> str:
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    return text.strip().lstrip(".").strip()[:120] or "upload"


def upgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('thumbnail_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=True)
    attachments = sa.table(
        'attachments', sa.column('id', sa.Integer), sa.column('filename', sa.String)
    )
    conn = op.get_bind()
    for row_id, name in conn.execute(sa.select(attachments.c.id, attachments.c.filename)).all():
        clean = _display(name)
        if clean != name:
            conn.execute(
                attachments.update().where(attachments.c.id == row_id).values(filename=clean)
            )


def downgrade() -> None:
    stored = op.get_bind().scalar(sa.text("SELECT count(*) FROM attachments WHERE data IS NULL"))
    if stored:
        raise RuntimeError(
            f"{stored} attachments live only in the file store; this migration cannot be undone"
        )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('thumbnail_key')
        batch_op.drop_column('file_key')
