"""The periodic alert job: sensors gone silent, escalation of unacknowledged critical alerts,
and re-notification. Runs in the API process beside the inspection tick; idempotent.

Offline: no reading for ``3 ×`` a sensor's expected interval raises ``sensor_offline`` (sensor
health, not a condition), cleared when readings come back; one resolved by hand stays resolved
until then. Escalation: an active critical alert not acknowledged ``escalate_after`` after it
became critical goes to the district officers, and after twice that to the city office.
Every ``renotify`` interval an unacknowledged critical alert is sent again to everyone told so
far.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import unit_of_work
from api.state import AppState
from inspection.models import Sensor, Shelter
from telemetry import alert_store
from telemetry.alert_rules import OFFLINE_FACTOR, OFFLINE_RULE, Severity
from telemetry.alert_store import AlertEvent, AlertSink, EventKind, NewAlert, to_ms
from telemetry.sql_models import AlertRow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AlertTickReport:
    offline_raised: int = 0
    offline_cleared: int = 0
    escalated: int = 0
    renotified: int = 0


def _offline(session: Session, sink: AlertSink, now: datetime, report: AlertTickReport) -> None:
    live = {row.sensor_id: row.last_seen_ms for row in alert_store.live_rows(session)}
    holding = set(
        session.scalars(
            select(AlertRow.sensor_id).where(
                AlertRow.condition == OFFLINE_RULE, AlertRow.condition_holds
            )
        )
    )
    sensors = session.execute(
        select(Sensor, Shelter)
        .join(Shelter, Sensor.shelter_id == Shelter.id)
        .where(Sensor.active.is_(True), Shelter.active.is_(True))
    ).all()
    now_ms = to_ms(now)
    for sensor, shelter in sensors:
        limit_ms = OFFLINE_FACTOR * sensor.expected_interval_s * 1000
        last_ms = live.get(sensor.sensor_id)
        reference_ms = last_ms if last_ms is not None else to_ms(sensor.created_at)
        silent = now_ms - reference_ms > limit_ms
        if silent and sensor.sensor_id not in holding:
            since = datetime.fromtimestamp(reference_ms / 1000, UTC)
            raised = alert_store.raise_alert(
                session,
                NewAlert(
                    sensor_id=sensor.sensor_id,
                    shelter_code=shelter.code,
                    district=shelter.district,
                    zone=sensor.zone,
                    condition=OFFLINE_RULE,
                    rule=OFFLINE_RULE,
                    severity=Severity.WARNING,
                    message=f"传感器离线：超过{OFFLINE_FACTOR}个上报周期无数据（最后数据 "
                    f"{since.isoformat() if last_ms is not None else '无'}）",
                    value=None,
                    threshold=None,
                    late=False,
                    raised_at=now,
                    condition_since=since,
                ),
            )
            if raised is not None:
                report.offline_raised += 1
                sink.on_event(session, AlertEvent(EventKind.RAISED, raised))
        elif not silent and sensor.sensor_id in holding:
            cleared = alert_store.clear_alert(session, sensor.sensor_id, OFFLINE_RULE, at=now)
            if cleared is not None:
                report.offline_cleared += 1
                sink.on_event(session, AlertEvent(EventKind.CLEARED, cleared))


def _escalate(
    session: Session,
    sink: AlertSink,
    now: datetime,
    *,
    after: timedelta,
    renotify: timedelta,
    report: AlertTickReport,
) -> None:
    now_ms = to_ms(now)
    for row in alert_store.unacknowledged_critical(session):
        age_ms = now_ms - row.severity_since_ms
        target = (
            2
            if age_ms >= 2 * after.total_seconds() * 1000
            else (1 if age_ms >= after.total_seconds() * 1000 else 0)
        )
        while row.escalation_level < target:
            row.escalation_level += 1
            row.last_notified_at_ms = now_ms
            row.updated_at_ms = now_ms
            session.flush()
            report.escalated += 1
            sink.on_event(
                session,
                AlertEvent(
                    EventKind.ESCALATED, alert_store.AlertView.of(row), level=row.escalation_level
                ),
            )
        last = max(row.last_notified_at_ms or row.raised_at_ms, row.severity_since_ms)
        if now_ms - last >= renotify.total_seconds() * 1000:
            sequence = int((now_ms - row.raised_at_ms) // (renotify.total_seconds() * 1000))
            row.last_notified_at_ms = now_ms
            row.updated_at_ms = now_ms
            session.flush()
            report.renotified += 1
            sink.on_event(
                session,
                AlertEvent(EventKind.RENOTIFY, alert_store.AlertView.of(row), sequence=sequence),
            )


def run_alert_tick(state: AppState, sink: AlertSink) -> AlertTickReport:
    """One pass in its own transaction."""
    report = AlertTickReport()
    now = state.clock()
    s = state.settings
    with unit_of_work(state.sessions) as session:
        _offline(session, sink, now, report)
        _escalate(
            session,
            sink,
            now,
            after=timedelta(minutes=s.alert_escalate_after_minutes),
            renotify=timedelta(minutes=s.alert_renotify_minutes),
            report=report,
        )
    if report.offline_raised or report.offline_cleared or report.escalated or report.renotified:
        log.info("alert tick: %s", report)
    return report
