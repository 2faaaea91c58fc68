"""alerts: one per sensor and condition, its severity moving between the condition's tiers

An alert row gains its condition (``humidity`` for ``humidity_warning`` and
``humidity_critical``, ``fire_risk`` for the two fire-risk tiers, the rule itself otherwise),
when it reached its present severity, and whether its condition still holds. At most one
alert per (sensor, condition) holds. Where two were open for one condition (a warning and a
critical alert of one sensor), the gravest (then the newest) stays and the others are cleared.

Revision ID: alerts_1
Revises: uploads_1

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'alerts_1'
down_revision: Union[str, Sequence[str], None] = 'uploads_1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_CONDITION_OF = {
    'humidity_warning': 'humidity',
    'humidity_critical': 'humidity',
    'fire_risk_warning': 'fire_risk',
    'fire_risk_critical': 'fire_risk',
}
_RANK = {'info': 0, 'warning': 1, 'critical': 2}
_OPEN = "status IN ('active', 'acknowledged')"


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_alerts_open_sensor_rule',
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )
    op.add_column(
        'alerts', sa.Column('condition', sa.String(length=40), server_default='', nullable=False)
    )
    op.add_column(
        'alerts',
        sa.Column('severity_since_ms', sa.BigInteger(), server_default='0', nullable=False),
    )
    op.add_column(
        'alerts',
        sa.Column('condition_holds', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    alerts = sa.table(
        'alerts',
        sa.column('id', sa.Integer()),
        sa.column('sensor_id', sa.String()),
        sa.column('rule', sa.String()),
        sa.column('condition', sa.String()),
        sa.column('severity', sa.String()),
        sa.column('status', sa.String()),
        sa.column('raised_at_ms', sa.BigInteger()),
        sa.column('severity_since_ms', sa.BigInteger()),
        sa.column('condition_holds', sa.Boolean()),
        sa.column('cleared_at_ms', sa.BigInteger()),
        sa.column('updated_at_ms', sa.BigInteger()),
    )
    condition = sa.case(
        *((alerts.c.rule == rule, code) for rule, code in _CONDITION_OF.items()),
        else_=alerts.c.rule,
    )
    op.execute(
        alerts.update().values(
            condition=condition,
            severity_since_ms=alerts.c.raised_at_ms,
            condition_holds=alerts.c.status.in_(('active', 'acknowledged')),
        )
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(alerts.c.id, alerts.c.sensor_id, alerts.c.condition, alerts.c.severity)
        .where(alerts.c.condition_holds.is_(True))
        .order_by(alerts.c.id)
    ).all()
    keep: dict[tuple[str, str], tuple[int, int]] = {}
    drop: list[int] = []
    for id_, sensor_id, cond, severity in rows:
        key = (sensor_id, cond)
        candidate = (_RANK.get(severity, 0), id_)
        kept = keep.get(key)
        if kept is None:
            keep[key] = candidate
        elif candidate > kept:
            drop.append(kept[1])
            keep[key] = candidate
        else:
            drop.append(id_)
    if drop:
        conn.execute(
            alerts.update()
            .where(alerts.c.id.in_(drop))
            .values(
                status='cleared',
                condition_holds=False,
                cleared_at_ms=alerts.c.updated_at_ms,
            )
        )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(
            'uq_alerts_holding_sensor_condition',
            ['sensor_id', 'condition'],
            unique=True,
            postgresql_where=sa.text('condition_holds'),
            sqlite_where=sa.text('condition_holds = 1'),
        )


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_alerts_holding_sensor_condition',
            postgresql_where=sa.text('condition_holds'),
            sqlite_where=sa.text('condition_holds = 1'),
        )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('condition_holds')
        batch_op.drop_column('severity_since_ms')
        batch_op.drop_column('condition')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(
            'uq_alerts_open_sensor_rule',
            ['sensor_id', 'rule'],
            unique=True,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )
