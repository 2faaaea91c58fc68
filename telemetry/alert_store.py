"""Alerts in the relational database: raising, moving between a condition's tiers,
clearing, acknowledging, resolving, escalating; and the sensors' live values the evaluator
keeps. Every function works inside the caller's session and flushes, so the caller's
transaction also carries the notifications a transition queues (outbox). The functions that
change an alert are called by :class:`telemetry.alert_transitions.AlertTransitions` only,
which announces each change. The evaluator's timers and the rule overrides are in
:mod:`telemetry.condition_store`.

One alert per sensor and condition *holds* at a time (``condition_holds``, enforced by a
partial unique index, also across several ingesters): from its raise until the evaluator sees
the condition clear. Its severity and rule (the tier that holds) move with the condition. An
alert resolved by hand stays resolved and keeps holding, so the condition raises no new alert
until it clears, unless it turns graver than the alert was when resolved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    case,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from telemetry.alert_rules import Severity
from telemetry.errors import NotFound
from telemetry.instants import from_ms, maybe_from_ms, to_ms
from telemetry.sql_models import AlertRow, SensorLiveRow

OPEN = ("active", "acknowledged")
ALERTS = cast(Table, AlertRow.__table__)
_KEYS_PER_STATEMENT = 1000
"""(sensor, condition) pairs per locking statement: 2,000 parameters, well within what SQLite
and PostgreSQL take in one statement."""


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
    SEVERITY_RAISED = "severity_raised"
    SEVERITY_LOWERED = "severity_lowered"


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as the API shows it and the platform's alert topic carries it: the one list
    of its fields."""

    id: int
    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    condition: str
    rule: str
    """The tier that holds (or held last), e.g. ``humidity_critical``."""
    severity: str
    status: str
    message: str
    value: float | None
    """The value at the last change: raised, severity moved, cleared."""
    threshold: float | None
    """The enter threshold of the tier in ``rule``."""
    late: bool
    raised_at: datetime
    condition_since: datetime
    severity_since: datetime
    condition_holds: bool
    """True until the condition clears, also after the alert is resolved by hand."""
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
            condition=row.condition,
            rule=row.rule,
            severity=row.severity,
            status=row.status,
            message=row.message,
            value=row.value,
            threshold=row.threshold,
            late=row.late,
            raised_at=from_ms(row.raised_at_ms),
            condition_since=from_ms(row.condition_since_ms),
            severity_since=from_ms(row.severity_since_ms),
            condition_holds=row.condition_holds,
            acknowledged_at=maybe_from_ms(row.acknowledged_at_ms),
            acknowledged_by=row.acknowledged_by,
            cleared_at=maybe_from_ms(row.cleared_at_ms),
            resolved_by=row.resolved_by,
            resolve_note=row.resolve_note,
            escalation_level=row.escalation_level,
        )


@dataclass(frozen=True, slots=True)
class AlertEvent:
    kind: EventKind
    alert: AlertView
    late: bool = False
    actor: str = "system"
    level: int = 0
    sequence: int = 0
    """Distinguishes repeated events of one kind (re-notifications) for deduplication."""


@dataclass(frozen=True, slots=True)
class NewAlert:
    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    condition: str
    rule: str
    severity: Severity
    message: str
    value: float | None
    threshold: float | None
    late: bool
    raised_at: datetime
    condition_since: datetime


def _new_row(new: NewAlert) -> dict[str, Any]:
    """The columns of the active alert ``new`` raises (all but ``id``)."""
    now_ms = to_ms(new.raised_at)
    return {
        "sensor_id": new.sensor_id,
        "shelter_code": new.shelter_code,
        "district": new.district,
        "zone": new.zone,
        "condition": new.condition,
        "rule": new.rule,
        "severity": new.severity.value,
        "status": AlertStatus.ACTIVE.value,
        "message": new.message,
        "value": new.value,
        "threshold": new.threshold,
        "late": new.late,
        "raised_at_ms": now_ms,
        "condition_since_ms": to_ms(new.condition_since),
        "severity_since_ms": now_ms,
        "condition_holds": True,
        "acknowledged_at_ms": None,
        "acknowledged_by": None,
        "cleared_at_ms": None,
        "resolved_by": None,
        "resolve_note": "",
        "escalation_level": 0,
        "last_notified_at_ms": None,
        "updated_at_ms": now_ms,
    }


def raise_alert(session: Session, new: NewAlert) -> AlertView | None:
    """Insert an active alert; None when one already holds for (sensor, condition)."""
    [raised] = raise_many(session, [new])
    return raised


def raise_many(session: Session, news: Sequence[NewAlert]) -> list[AlertView | None]:
    """Insert the active alerts ``news`` (of distinct (sensor, condition)) in one statement,
    ids in their order; per alert None when one already holds for its (sensor, condition),
    also one another transaction is inserting: the insert waits for it to commit."""
    if not news:
        return []
    session.flush()  # changes of the ORM first (a let-go alert frees its place)
    rows = [_new_row(new) for new in news]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(ALERTS)
        .on_conflict_do_nothing(
            index_elements=["sensor_id", "condition"],
            index_where=ALERTS.c.condition_holds == true(),
        )
        .returning(ALERTS.c.id, ALERTS.c.sensor_id, ALERTS.c.condition)
    )
    ids = {
        (sensor_id, condition): alert_id
        for alert_id, sensor_id, condition in session.connection().execute(stmt, rows)
    }
    out: list[AlertView | None] = []
    for row in rows:
        alert_id = ids.get((row["sensor_id"], row["condition"]))
        out.append(None if alert_id is None else AlertView.of(AlertRow(id=alert_id, **row)))
    return out


def holding_rows(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], AlertRow]:
    """The alerts that hold for these (sensor, condition), locked (``FOR UPDATE`` on
    PostgreSQL) in one statement per ``_KEYS_PER_STATEMENT`` keys, in (sensor, condition)
    order so that ingesters locking overlapping sets queue instead of deadlocking."""
    found: dict[tuple[str, str], AlertRow] = {}
    distinct = sorted(set(keys))
    for start in range(0, len(distinct), _KEYS_PER_STATEMENT):
        chunk = distinct[start : start + _KEYS_PER_STATEMENT]
        where = (
            and_(AlertRow.sensor_id == chunk[0][0], AlertRow.condition == chunk[0][1])
            if len(chunk) == 1
            else tuple_(AlertRow.sensor_id, AlertRow.condition).in_(chunk)
        )
        for row in session.scalars(
            select(AlertRow)
            .where(where, AlertRow.condition_holds)
            .order_by(AlertRow.sensor_id, AlertRow.condition)
            .with_for_update()
        ):
            found[(row.sensor_id, row.condition)] = row
    return found


def _holding(session: Session, sensor_id: str, condition: str) -> AlertRow | None:
    return holding_rows(session, [(sensor_id, condition)]).get((sensor_id, condition))


def hold(session: Session, new: NewAlert) -> AlertEvent | None:
    """Make the alert of (sensor, condition) stand at the tier of ``new``, and say what
    happened, if anything worth announcing:

    - no alert holds: ``new`` is raised (RAISED);
    - an open one holds at another severity: its tier, severity, value, threshold and message
      become those of ``new`` (SEVERITY_RAISED or SEVERITY_LOWERED); a rise makes an
      acknowledged alert active again, and escalation counts from it;
    - one resolved by hand holds: nothing, unless ``new`` is graver than it was when
      resolved; then that one is let go and ``new`` is raised (RAISED).
    """
    [event] = hold_many(session, [new])
    return event


def hold_many(session: Session, news: Sequence[NewAlert]) -> list[AlertEvent | None]:
    """:func:`hold` for alerts of distinct (sensor, condition) at once, each with the outcome
    one :func:`hold` after the other in this order gives (the same rows, the same ids): the
    holding alerts locked in one statement, the new ones inserted in one."""
    keys = [(new.sensor_id, new.condition) for new in news]
    if len(set(keys)) != len(keys):
        raise ValueError("hold_many takes one alert per (sensor, condition)")
    holding = holding_rows(session, keys)
    events: list[AlertEvent | None] = [None] * len(news)
    moved: list[tuple[int, AlertRow, EventKind]] = []
    raising: list[int] = []
    for i, new in enumerate(news):
        row = holding.get(keys[i])
        if row is not None and row.status not in OPEN:
            if new.severity.rank <= Severity(row.severity).rank:
                continue  # handled by hand at this severity
            row.condition_holds = False  # let go; written before the insert below
            row = None
        if row is None:
            raising.append(i)
            continue
        kind = _move(row, new)
        if kind is not None:
            moved.append((i, row, kind))
    session.flush()
    for i, row, kind in moved:
        new = news[i]
        events[i] = AlertEvent(kind, AlertView.of(row), late=new.late, sequence=row.updated_at_ms)
    for i, raised in zip(raising, raise_many(session, [news[i] for i in raising]), strict=True):
        if raised is not None:
            events[i] = AlertEvent(EventKind.RAISED, raised, late=news[i].late)
    return events


def _move(row: AlertRow, new: NewAlert) -> EventKind | None:
    """Move an open holding alert to the tier of ``new`` (unflushed); the event kind when its
    severity moved."""
    before = Severity(row.severity).rank
    after = new.severity.rank
    if row.rule == new.rule and before == after:
        return None
    now_ms = to_ms(new.raised_at)
    row.rule = new.rule
    row.severity = new.severity.value
    row.value = new.value
    row.threshold = new.threshold
    row.message = new.message
    row.updated_at_ms = now_ms
    if before == after:
        return None
    row.severity_since_ms = now_ms
    if after > before and row.status == AlertStatus.ACKNOWLEDGED:
        row.status = AlertStatus.ACTIVE.value
        row.acknowledged_at_ms = None
        row.acknowledged_by = None
    return EventKind.SEVERITY_RAISED if after > before else EventKind.SEVERITY_LOWERED


def clear_alert(
    session: Session,
    sensor_id: str,
    condition: str,
    *,
    at: datetime,
    value: float | None = None,
    message: str | None = None,
) -> AlertView | None:
    """The condition no longer holds: let its alert go. An open one is cleared (with the
    value and message that cleared it, when given) and returned; None when there was none or
    it had been resolved by hand (nothing to announce)."""
    row = _holding(session, sensor_id, condition)
    if row is None:
        return None
    row.condition_holds = False
    if row.status not in OPEN:
        session.flush()
        return None
    row.status = AlertStatus.CLEARED.value
    row.cleared_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    if value is not None:
        row.value = value
    if message is not None:
        row.message = message
    session.flush()
    return AlertView.of(row)


def _locked(session: Session, alert_id: int) -> AlertRow:
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise _not_found(alert_id)
    return row


def _not_found(alert_id: int) -> NotFound:
    return NotFound(f"no alert {alert_id}", code="alert_not_found")


def acknowledge(session: Session, alert_id: int, *, by: str, at: datetime) -> AlertView | None:
    """active → acknowledged; None when the alert is not active (already acknowledged or
    closed), :class:`NotFound` when there is no such alert."""
    row = _locked(session, alert_id)
    if row.status != AlertStatus.ACTIVE:
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
    """Close an open alert by hand with a note. It keeps holding while its condition does
    (see :func:`hold`), so the condition raises no new alert until it has cleared. None when
    it is no longer open, :class:`NotFound` when there is no such alert."""
    row = _locked(session, alert_id)
    if row.status not in OPEN:
        return None
    row.status = AlertStatus.RESOLVED.value
    row.resolved_by = by
    row.resolve_note = note
    row.cleared_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    session.flush()
    return AlertView.of(row)


def get(session: Session, alert_id: int) -> AlertView:
    """The alert; :class:`NotFound` when there is none."""
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise _not_found(alert_id)
    return AlertView.of(row)


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
    transition sets ``updated_at_ms``, and the state, severity and escalation level are
    counted too, for changes within the same millisecond."""
    return [
        func.count(),
        func.sum(AlertRow.id),
        func.sum(AlertRow.updated_at_ms),
        func.sum(AlertRow.escalation_level),
        func.sum(case((AlertRow.status == AlertStatus.ACKNOWLEDGED.value, 1), else_=0)),
        func.sum(
            case(
                (AlertRow.severity == Severity.CRITICAL.value, 2),
                (AlertRow.severity == Severity.WARNING.value, 1),
                else_=0,
            )
        ),
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


def escalate(session: Session, row: AlertRow, *, at: datetime) -> AlertView:
    """Move a locked alert (from :func:`unacknowledged_critical`) one escalation level up;
    the people of that level are told now."""
    row.escalation_level += 1
    row.last_notified_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    session.flush()
    return AlertView.of(row)


def notified(session: Session, row: AlertRow, *, at: datetime) -> AlertView:
    """Record that a locked alert (from :func:`unacknowledged_critical`) was sent again."""
    row.last_notified_at_ms = to_ms(at)
    row.updated_at_ms = to_ms(at)
    session.flush()
    return AlertView.of(row)


def holding_sensors(session: Session, condition: str) -> set[str]:
    """The sensors for which an alert of ``condition`` holds."""
    return set(
        session.scalars(
            select(AlertRow.sensor_id).where(
                AlertRow.condition == condition, AlertRow.condition_holds
            )
        )
    )


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
        "water_leak",
        "updated_at_ms",
    ]
    _upsert(session, SensorLiveRow, rows, ["sensor_id"], cols)


def live_rows(session: Session, shelter_codes: Iterable[str] | None = None) -> list[SensorLiveRow]:
    q = select(SensorLiveRow)
    if shelter_codes is not None:
        q = q.where(SensorLiveRow.shelter_code.in_(list(shelter_codes)))
    return list(session.scalars(q))
