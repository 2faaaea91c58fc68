"""What the alert evaluator reads and keeps about conditions in the relational database: the
rule overrides per scope, and the state of each (sensor, condition): a timer per tier
(``alert_state``, shared by several ingesters and surviving restarts) and the level of the
alert that holds. Functions work inside the caller's session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from telemetry.alert_rules import CONDITIONS, TIERS, Override, Scope, Severity
from telemetry.alert_state import ConditionState
from telemetry.instants import to_ms
from telemetry.sql_models import AlertRow, AlertRuleRow, AlertStateRow

STATE = cast(Table, AlertStateRow.__table__)
_STOP = (
    update(STATE)
    .where(STATE.c.sensor_id == bindparam("s_id"), STATE.c.rule == bindparam("s_rule"))
    .values(pending_since_ms=None, last_ts_ms=bindparam("s_at"))
)
"""Stops one timer (executed with many)."""
_SENSORS_PER_STATEMENT = 1000
"""Sensors per reading statement, well within the parameters SQLite and PostgreSQL take."""


def load_states(session: Session) -> dict[tuple[str, str], ConditionState]:
    """Every persisted timer, per (sensor, condition), with the level of the alert that holds
    where one does (also one resolved by hand)."""
    states: dict[tuple[str, str], ConditionState] = {}

    def state(sensor_id: str, condition: str) -> ConditionState:
        key = (sensor_id, condition)
        found = states.get(key)
        if found is None:
            found = states[key] = ConditionState.of(CONDITIONS[condition])
        return found

    for row in session.scalars(select(AlertStateRow)):
        tier = TIERS.get(row.rule)
        if tier is None:
            continue  # a tier no condition has any more
        s = state(row.sensor_id, tier[0])
        s.pending[tier[1]] = row.pending_since_ms
        s.last_ts_ms = max(s.last_ts_ms, row.last_ts_ms)
    for (sensor_id, condition), rule in holding(session).items():
        tier = TIERS.get(rule)
        if tier is not None and tier[0] == condition:
            s = state(sensor_id, condition)
            s.level = tier[1]
            s.pending[: tier[1] + 1] = [None] * (tier[1] + 1)
    return states


def holding(session: Session) -> dict[tuple[str, str], str]:
    """(sensor, condition) → rule (the tier) of every alert that holds."""
    return {
        (sensor_id, condition): rule
        for sensor_id, condition, rule in session.execute(
            select(AlertRow.sensor_id, AlertRow.condition, AlertRow.rule).where(
                AlertRow.condition_holds
            )
        )
    }


def save_timers(
    session: Session,
    started: Sequence[tuple[str, str, int]],
    stopped: Sequence[tuple[str, str, int]],
) -> None:
    """Persist timers in two statements: ``started`` (sensor, rule, since) keep an earlier
    start another process already recorded; ``stopped`` (sensor, rule, at) clear theirs."""
    conn = session.connection()
    if started:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(AlertStateRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["sensor_id", "rule"],
            set_={
                "pending_since_ms": func.coalesce(
                    AlertStateRow.pending_since_ms, stmt.excluded.pending_since_ms
                ),
                "last_ts_ms": stmt.excluded.last_ts_ms,
            },
        )
        conn.execute(
            stmt,
            [
                {"sensor_id": s_id, "rule": rule, "pending_since_ms": since, "last_ts_ms": since}
                for s_id, rule, since in started
            ],
        )
    if stopped:
        conn.execute(
            _STOP, [{"s_id": s_id, "s_rule": rule, "s_at": at} for s_id, rule, at in stopped]
        )


def pending_since(session: Session, held: Sequence[tuple[str, Sequence[str]]]) -> list[int | None]:
    """Per (sensor, tiers): the earliest start among the timers of these tiers of the sensor,
    if any runs; read in one statement."""
    if not held:
        return []
    sensors = sorted({sensor_id for sensor_id, _rules in held})
    rules = sorted({rule for _sensor_id, rules in held for rule in rules})
    since: dict[tuple[str, str], int] = {}
    for start in range(0, len(sensors), _SENSORS_PER_STATEMENT):
        chunk = sensors[start : start + _SENSORS_PER_STATEMENT]
        for sensor_id, rule, pending_ms in session.execute(
            select(STATE.c.sensor_id, STATE.c.rule, STATE.c.pending_since_ms).where(
                STATE.c.sensor_id.in_(chunk),
                STATE.c.rule.in_(rules),
                STATE.c.pending_since_ms.is_not(None),
            )
        ):
            since[(sensor_id, rule)] = pending_ms
    return [
        min(
            (since[(sensor_id, rule)] for rule in rules if (sensor_id, rule) in since),
            default=None,
        )
        for sensor_id, rules in held
    ]


def reset_pending(session: Session, held: Sequence[tuple[str, Sequence[str], int]]) -> None:
    """Stop the timers of these tiers (sensor, tiers, measurement time) in one statement."""
    params = [
        {"s_id": sensor_id, "s_rule": rule, "s_at": ts_ms}
        for sensor_id, rules, ts_ms in held
        for rule in rules
    ]
    if params:
        session.connection().execute(_STOP, params)


# -- rule overrides -------------------------------------------------------------------------


def load_overrides(session: Session) -> list[Override]:
    return [
        Override(
            rule=r.rule,
            scope=Scope(r.scope),
            scope_value=r.scope_value,
            enter=r.enter,
            clear=r.clear,
            sustain_s=r.sustain_s,
            severity=Severity(r.severity) if r.severity else None,
            enabled=r.enabled,
        )
        for r in session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id))
    ]


def replace_overrides(
    session: Session, overrides: Sequence[Override], *, by: str, at: datetime
) -> None:
    """Make the stored overrides exactly ``overrides``."""
    session.execute(delete(AlertRuleRow))
    session.add_all(
        AlertRuleRow(
            rule=o.rule,
            scope=o.scope.value,
            scope_value=o.scope_value,
            enter=o.enter,
            clear=o.clear,
            sustain_s=o.sustain_s,
            severity=o.severity.value if o.severity else None,
            enabled=o.enabled,
            updated_at_ms=to_ms(at),
            updated_by=by,
        )
        for o in overrides
    )
    session.flush()
