"""Alerts in the relational database: raising (at most one open per sensor and rule, by a
partial unique index), clearing, acknowledging, resolving, escalating, and the persisted
evaluation state. Every function works inside the caller's session and flushes, so the
caller's transaction also carries the notifications a transition queues (outbox).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from telemetry.alert_rules import Override, Scope, Severity
from telemetry.alert_state import RuleState
from telemetry.sql_models import AlertRow, AlertRuleRow, AlertStateRow, SensorLiveRow

OPEN = ("active", "acknowledged")
STATE = cast(Table, AlertStateRow.__table__)


class AlertStatus(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    RENOTIFY = "renotify"


def to_ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    rule: str
    severity: str
    status: str
    message: str
    value: float | None
    threshold: float | None
    late: bool
    raised_at: datetime
    condition_since: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    resolved_by: str | None
    resolve_note: str
    escalation_level: int

    @classmethod
    def of(cls, row: AlertRow) -> AlertView:
        return cls(
            id=row.id,
            sensor_id=row.sensor_id,
            shelter_code=row.shelter_code,
            district=row.district,
            zone=row.zone,
            rule=row.rule,
            severity=row.severity,
            status=row.status,
            message=row.message,
            value=row.value,
            threshold=row.threshold,
            late=row.late,
            raised_at=_dt(row.raised_at_ms),
            condition_since=_dt(row.condition_since_ms),
            acknowledged_at=from_ms(row.acknowledged_at_ms),
            acknowledged_by=row.acknowledged_by,
            cleared_at=from_ms(row.cleared_at_ms),
            resolved_by=row.resolved_by,
            resolve_note=row.resolve_note,
            escalation_level=row.escalation_level,
        )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    alert: AlertView
    late: bool = False
    actor: str = "system"
    level: int = 0
    sequence: int = 0
    """Distinguishes repeated events of one kind (re-notifications) for deduplication."""


class AlertSink(Protocol):
    """Receives transitions inside the transaction that made them (to queue notifications)."""

    def on_event(self, session: Session, event: AlertEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class NewAlert:
    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    rule: str
    severity: Severity
    message: str
    value: float | None
    threshold: float | None
    late: bool
    raised_at: datetime
    condition_since: datetime


def raise_alert(session: Session, new: NewAlert) -> AlertView | None:
    """Insert an active alert; None when an open one already exists for (sensor, rule)."""
    now_ms = to_ms(new.raised_at)
    row = AlertRow(
        sensor_id=new.sensor_id,
        shelter_code=new.shelter_code,
        district=new.district,
        zone=new.zone,
        rule=new.rule,
        severity=new.severity.value,
        status=AlertStatus.ACTIVE.value,
        message=new.message,
        value=new.value,
        threshold=new.threshold,
        late=new.late,
        raised_at_ms=now_ms,
        condition_since_ms=to_ms(new.condition_since),
        escalation_level=0,
        updated_at_ms=now_ms,
        resolve_note="",
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return AlertView.of(row)


def clear_alert(session: Session, sensor_id: str, rule: str, *, at: datetime) -> AlertView | None:
    """Clear the open alert of (sensor, rule); None when there is none (already cleared)."""
    row = session.scalar(
        select(AlertRow)
        .where(AlertRow.sensor_id == sensor_id, AlertRow.rule == rule, AlertRow.status.in_(OPEN))
        .with_for_update()
    )
    if row is None:
        return None
    row.status = AlertStatus.CLEARED.value
    row.cleared_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    session.flush()
    return AlertView.of(row)


def acknowledge(session: Session, alert_id: int, *, by: str, at: datetime) -> AlertView | None:
    """active → acknowledged; None when the alert is not active (already acknowledged or
    closed)."""
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None or row.status != AlertStatus.ACTIVE:
        return None
    row.status = AlertStatus.ACKNOWLEDGED.value
    row.acknowledged_at_ms = to_ms(at)
    row.acknowledged_by = by
    row.updated_at_ms = to_ms(at)
    session.flush()
    return AlertView.of(row)


def resolve(
    session: Session, alert_id: int, *, by: str, note: str, at: datetime
) -> AlertView | None:
    """Close an open alert by hand with a note; the condition's timer starts again."""
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None or row.status not in OPEN:
        return None
    row.status = AlertStatus.RESOLVED.value
    row.resolved_by = by
    row.resolve_note = note
    row.cleared_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    session.execute(
        update(AlertStateRow)
        .where(AlertStateRow.sensor_id == row.sensor_id, AlertStateRow.rule == row.rule)
        .values(pending_since_ms=None)
    )
    session.flush()
    return AlertView.of(row)


def get(session: Session, alert_id: int) -> AlertView | None:
    row = session.get(AlertRow, alert_id)
    return None if row is None else AlertView.of(row)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: str | None = None
    severity: str | None = None
    district: str | None = None
    shelter: str | None = None
    shelters: Select[str] | None = None
    """Limit to the shelter codes this query selects (the caller's scope); None: no limit."""


def _conditions(flt: AlertFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if flt.status == "open":
        out.append(AlertRow.status.in_(OPEN))
    elif flt.status is not None:
        out.append(AlertRow.status == flt.status)
    if flt.severity is not None:
        out.append(AlertRow.severity == flt.severity)
    if flt.district is not None:
        out.append(AlertRow.district == flt.district)
    if flt.shelter is not None:
        out.append(AlertRow.shelter_code == flt.shelter)
    if flt.shelters is not None:
        out.append(AlertRow.shelter_code.in_(flt.shelters))
    return out


def _filtered(flt: AlertFilter) -> Select[AlertRow]:
    return select(AlertRow).where(*_conditions(flt))


def fingerprint_columns() -> list[ColumnElement[Any]]:
    """Aggregates over alert rows that change whenever one of the rows does: every
    transition sets ``updated_at_ms``, and the state and escalation level are counted too,
    for transitions within the same millisecond."""
    return [
        func.count(),
        func.sum(AlertRow.id),
        func.sum(AlertRow.updated_at_ms),
        func.sum(AlertRow.escalation_level),
        func.sum(case((AlertRow.status == AlertStatus.ACKNOWLEDGED.value, 1), else_=0)),
    ]


def fingerprint(session: Session, flt: AlertFilter) -> tuple[Any, ...]:
    """:func:`fingerprint_columns` over the alerts matching ``flt``: equal fingerprints mean
    the same alerts in the same states."""
    return tuple(session.execute(select(*fingerprint_columns()).where(*_conditions(flt))).one())


def list_alerts(
    session: Session, flt: AlertFilter, *, limit: int, offset: int
) -> tuple[list[AlertView], int]:
    q = _filtered(flt)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(AlertRow.raised_at_ms.desc(), AlertRow.id.desc()).limit(limit).offset(offset)
    )
    return [AlertView.of(r) for r in rows], total


def open_alerts_for(session: Session, shelter_codes: Iterable[str]) -> list[AlertView]:
    codes = list(shelter_codes)
    if not codes:
        return []
    rows = session.scalars(
        select(AlertRow)
        .where(AlertRow.shelter_code.in_(codes), AlertRow.status.in_(OPEN))
        .order_by(AlertRow.raised_at_ms)
    )
    return [AlertView.of(r) for r in rows]


def unacknowledged_critical(session: Session) -> list[AlertRow]:
    """Active (not acknowledged) critical alerts, for escalation and re-notification."""
    return list(
        session.scalars(
            select(AlertRow)
            .where(
                AlertRow.status == AlertStatus.ACTIVE.value,
                AlertRow.severity == Severity.CRITICAL.value,
                AlertRow.late.is_(False),
            )
            .with_for_update(skip_locked=True)
        )
    )


# -- evaluation state -----------------------------------------------------------------------


def load_states(session: Session) -> dict[tuple[str, str], RuleState]:
    """Every persisted timer, with ``active`` set where an open alert exists."""
    states: dict[tuple[str, str], RuleState] = {}
    for row in session.scalars(select(AlertStateRow)):
        states[(row.sensor_id, row.rule)] = RuleState(row.pending_since_ms, False, row.last_ts_ms)
    for sensor_id, rule in session.execute(
        select(AlertRow.sensor_id, AlertRow.rule).where(AlertRow.status.in_(OPEN))
    ):
        states.setdefault((sensor_id, rule), RuleState()).active = True
    return states


def open_keys(session: Session) -> set[tuple[str, str]]:
    """(sensor, rule) of every open alert."""
    return {
        (sensor_id, rule)
        for sensor_id, rule in session.execute(
            select(AlertRow.sensor_id, AlertRow.rule).where(AlertRow.status.in_(OPEN))
        )
    }


def _upsert(
    session: Session,
    table: Any,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update_cols: Sequence[str],
) -> None:
    if not rows:
        return
    insert = (
        postgresql.insert
        if session.bind is not None and session.get_bind().dialect.name == "postgresql"
        else sqlite.insert
    )
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in update_cols}
    )
    session.connection().execute(stmt, list(rows))


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
        stmt_u = (
            update(STATE)
            .where(
                STATE.c.sensor_id == bindparam("s_id"),
                STATE.c.rule == bindparam("s_rule"),
            )
            .values(pending_since_ms=None, last_ts_ms=bindparam("s_at"))
        )
        conn.execute(
            stmt_u, [{"s_id": s_id, "s_rule": rule, "s_at": at} for s_id, rule, at in stopped]
        )


def pending_since(session: Session, sensor_id: str, rule: str) -> int | None:
    return session.scalar(
        select(AlertStateRow.pending_since_ms).where(
            AlertStateRow.sensor_id == sensor_id, AlertStateRow.rule == rule
        )
    )


def reset_pending(session: Session, sensor_id: str, rule: str, ts_ms: int) -> None:
    session.execute(
        update(AlertStateRow)
        .where(AlertStateRow.sensor_id == sensor_id, AlertStateRow.rule == rule)
        .values(pending_since_ms=None, last_ts_ms=ts_ms)
    )


def upsert_live(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Newest values per sensor (callers pass only rows newer than what they wrote before)."""
    cols = [
        "shelter_code",
        "last_seen_ms",
        "temperature",
        "humidity",
        "fire_risk",
        "dew_point",
        "battery",
        "updated_at_ms",
    ]
    _upsert(session, SensorLiveRow, rows, ["sensor_id"], cols)


def live_rows(session: Session, shelter_codes: Iterable[str] | None = None) -> list[SensorLiveRow]:
    q = select(SensorLiveRow)
    if shelter_codes is not None:
        q = q.where(SensorLiveRow.shelter_code.in_(list(shelter_codes)))
    return list(session.scalars(q))


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
