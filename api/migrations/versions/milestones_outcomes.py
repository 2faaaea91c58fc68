"""class 4 milestones recorded as done; a referral's outcome kept as a history of records

``followup_milestones`` holds the containment and plan milestones of key supervision once
recorded (one each per follow-up); their evidence photos are attachments of the follow-up
(``attachments.followup_id``). ``referral_outcomes`` holds every record of a referral's
outcome, the first and each correction; the outcome already recorded on a referral
(``followups.outcome``) becomes its first record, with its party type unknown.

Revision ID: milestones_1
Revises: webdash_1

"""
from datetime import UTC, datetime
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'milestones_1'
down_revision: Union[str, Sequence[str], None] = 'webdash_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _when(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return fallback


def upgrade() -> None:
    op.create_table(
        'followup_milestones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('followup_id', sa.Integer(), nullable=False),
        sa.Column('milestone', sa.String(length=16), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "milestone IN ('containment', 'plan')", name='ck_followup_milestones_milestone'
        ),
        sa.ForeignKeyConstraint(['followup_id'], ['followups.id']),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('followup_id', 'milestone', name='uq_followup_milestones'),
    )
    op.create_index(
        'ix_followup_milestones_followup_id', 'followup_milestones', ['followup_id'], unique=False
    )
    op.create_table(
        'referral_outcomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('followup_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('party_type', sa.String(length=16), nullable=True),
        sa.Column('fine_yuan', sa.BigInteger(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['followup_id'], ['followups.id']),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_referral_outcomes_followup_id', 'referral_outcomes', ['followup_id'], unique=False
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_attachments_followup_id', 'followups', ['followup_id'], ['id']
        )
        batch_op.create_index('ix_attachments_followup_id', ['followup_id'], unique=False)

    conn = op.get_bind()
    followups = sa.table(
        'followups',
        sa.column('id', sa.Integer),
        sa.column('outcome', sa.JSON),
        sa.column('closed_at', sa.DateTime(timezone=True)),
        sa.column('issued_at', sa.DateTime(timezone=True)),
    )
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('username', sa.String))
    records = sa.table(
        'referral_outcomes',
        sa.column('followup_id', sa.Integer),
        sa.column('kind', sa.String),
        sa.column('status', sa.String),
        sa.column('party_type', sa.String),
        sa.column('fine_yuan', sa.BigInteger),
        sa.column('note', sa.Text),
        sa.column('reason', sa.Text),
        sa.column('recorded_by', sa.Integer),
        sa.column('recorded_at', sa.DateTime(timezone=True)),
    )
    ids = dict(conn.execute(sa.select(users.c.username, users.c.id)).all())
    rows = conn.execute(
        sa.select(
            followups.c.id, followups.c.outcome, followups.c.closed_at, followups.c.issued_at
        ).where(followups.c.outcome.is_not(None))
    ).all()
    for followup_id, outcome, closed_at, issued_at in rows:
        if not isinstance(outcome, dict):
            continue
        fine = outcome.get('fine_yuan')
        fallback = closed_at or issued_at
        if fallback.tzinfo is None:
            fallback = fallback.replace(tzinfo=UTC)
        conn.execute(
            records.insert().values(
                followup_id=followup_id,
                kind='outcome',
                status=str(outcome.get('status') or 'other'),
                party_type=None,
                fine_yuan=fine if isinstance(fine, int) else None,
                note=str(outcome.get('note') or ''),
                reason='',
                recorded_by=ids.get(outcome.get('recorded_by')),
                recorded_at=_when(outcome.get('recorded_at'), fallback),
            )
        )


def downgrade() -> None:
    held = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM attachments WHERE followup_id IS NOT NULL")
    )
    if held:
        raise RuntimeError(
            f"{held} attachments are evidence of milestones; this migration cannot be undone"
        )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_followup_id')
        batch_op.drop_constraint('fk_attachments_followup_id', type_='foreignkey')
        batch_op.drop_column('followup_id')
    op.drop_index('ix_referral_outcomes_followup_id', table_name='referral_outcomes')
    op.drop_table('referral_outcomes')
    op.drop_index('ix_followup_milestones_followup_id', table_name='followup_milestones')
    op.drop_table('followup_milestones')
