"""What the smart-city platform reads besides the per-shelter summaries: which shelters changed
since a time, and the city-wide figures.

``changed_since`` (at or after the given instant) selects a shelter when any of these moved:
its register row (``shelters.updated_at``: name, address, manager, coordinates, active …),
its class (``shelters.class_changed_at``), one of its sensors (``sensors.updated_at``:
registered or edited), one of its findings (``created_at``, ``fix_reported_at``,
``verified_at`` or ``closed_at``), one of its alerts (``alerts.updated_at_ms``: raised,
acknowledged, escalated, cleared or resolved) or the live values of one of its sensors
(``sensor_live.updated_at_ms``, written whenever newer readings arrive). Changes that come
from time alone are not rows and are not selected: a deadline passing (``overdue``), and a
sensor falling silent until the offline job raises its ``sensor_offline`` alert (minutes
later); nor is an edit of the manager's own user record (name or phone).

Data completeness over the last hour, city-wide, is estimated from ``sensor_live`` (the store
is not scanned): a sensor owes ``max(1, round(3600 / interval))`` readings per hour and is
credited with those due between the window's start and its last reading, ``min(owed,
⌊(last_seen − start) / interval⌋ + 1)``, or none when it was last heard before the window. It
assumes no gap before the last reading, so it is an upper bound; exact hourly counts per
shelter come from ``/api/v1/shelters/{code}/telemetry/completeness``.

Water now (水浸): ``sensors.wet`` counts active sensors whose newest reading reported water,
``shelters_with_water`` the active shelters with at least one (offline sensors included, as
in the shelter summaries).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from api.http.views import is_online
from inspection import stats
from inspection.access import Actor
from inspection.models import Finding, Sensor, Shelter
from telemetry.alert_rules import OFFLINE_RULE, Severity
from telemetry.alert_store import OPEN, AlertStatus
from telemetry.instants import maybe_from_ms, to_ms
from telemetry.sql_models import AlertRow, SensorLiveRow

WINDOW = timedelta(hours=1)


def changed_since(since: datetime) -> ColumnElement[bool]:
    """A WHERE clause on ``Shelter``: the change rule of the module docstring."""
    since_ms = to_ms(since)
    return or_(
        Shelter.updated_at >= since,
        Shelter.class_changed_at >= since,
        exists().where(Sensor.shelter_id == Shelter.id, Sensor.updated_at >= since),
        exists().where(
            Finding.shelter_id == Shelter.id,
            or_(
                Finding.created_at >= since,
                Finding.fix_reported_at >= since,
                Finding.verified_at >= since,
                Finding.closed_at >= since,
            ),
        ),
        exists().where(AlertRow.shelter_code == Shelter.code, AlertRow.updated_at_ms >= since_ms),
        exists().where(
            SensorLiveRow.shelter_code == Shelter.code, SensorLiveRow.updated_at_ms >= since_ms
        ),
    )


class DistrictCompliance(BaseModel):
    district: str
    active_shelters: int
    class1_shelters: int
    rate: float | None


class SensorCounts(BaseModel):
    total: int
    online: int
    offline: int
    wet: int


class Completeness(BaseModel):
    window_start: datetime
    window_end: datetime
    expected: int
    received: int
    ratio: float | None


class CitySummary(BaseModel):
    as_of: datetime
    active_shelters: int
    shelters_by_class: dict[str, int]
    compliance_rate: float | None
    compliance_by_district: list[DistrictCompliance]
    active_alerts_by_severity: dict[str, int]
    acknowledged_alerts_by_severity: dict[str, int]
    sensors: SensorCounts
    shelters_with_water: int
    completeness: Completeness


def alert_counts(
    session: Session, where: ColumnElement[bool] | None = None
) -> dict[str, dict[str, int]]:
    """Open alerts by status (active, acknowledged) and severity, of the shelters matching
    ``where`` (a clause on ``Shelter``; None: every alert)."""
    counts = {status: {s.value: 0 for s in Severity} for status in OPEN}
    query = (
        select(AlertRow.status, AlertRow.severity, func.count())
        .where(AlertRow.status.in_(OPEN))
        .group_by(AlertRow.status, AlertRow.severity)
    )
    if where is not None:
        query = query.join(Shelter, Shelter.code == AlertRow.shelter_code).where(where)
    for status, severity, n in session.execute(query):
        counts[status][severity] = counts[status].get(severity, 0) + n
    return counts


def shelters_with_water(session: Session, where: ColumnElement[bool] | None = None) -> int:
    """Active shelters of ``where`` (a clause on ``Shelter``; None: every one) with at least
    one active sensor whose newest reading reported water (水浸), offline sensors included."""
    query = (
        select(func.count(func.distinct(Shelter.id)))
        .select_from(Shelter)
        .join(Sensor, Sensor.shelter_id == Shelter.id)
        .join(SensorLiveRow, SensorLiveRow.sensor_id == Sensor.sensor_id)
        .where(
            Shelter.active.is_(True),
            Sensor.active.is_(True),
            SensorLiveRow.water_leak.is_(True),
        )
    )
    if where is not None:
        query = query.where(where)
    return int(session.execute(query).scalar_one())


def owed_and_received(
    *, interval_s: int, last_seen: datetime | None, now: datetime
) -> tuple[int, int]:
    """One sensor's readings owed in the hour before ``now`` and those credited (see the
    module docstring)."""
    owed = max(1, round(WINDOW.total_seconds() / interval_s))
    start = now - WINDOW
    if last_seen is None or last_seen < start:
        return owed, 0
    covered = (min(last_seen, now) - start).total_seconds()
    return owed, min(owed, math.floor(covered / interval_s) + 1)


def _sensor_figures(session: Session, now: datetime) -> tuple[SensorCounts, Completeness]:
    """Sensor counts and completeness."""
    offline_alerts = set(
        session.scalars(
            select(AlertRow.sensor_id).where(
                AlertRow.rule == OFFLINE_RULE, AlertRow.status.in_(OPEN)
            )
        )
    )
    rows = session.execute(
        select(
            Sensor.sensor_id,
            Sensor.expected_interval_s,
            Sensor.created_at,
            SensorLiveRow.last_seen_ms,
            SensorLiveRow.water_leak,
        )
        .join(Shelter, Sensor.shelter_id == Shelter.id)
        .outerjoin(SensorLiveRow, SensorLiveRow.sensor_id == Sensor.sensor_id)
        .where(Sensor.active.is_(True), Shelter.active.is_(True))
    ).all()
    online = expected = received = 0
    wet = 0
    for sensor_id, interval_s, created_at, last_seen_ms, water_leak in rows:
        if water_leak:
            wet += 1
        last_seen = maybe_from_ms(last_seen_ms)
        if is_online(
            last_seen=last_seen,
            registered_at=created_at,
            interval_s=interval_s,
            offline_alert=sensor_id in offline_alerts,
            now=now,
        ):
            online += 1
        owed, got = owed_and_received(interval_s=interval_s, last_seen=last_seen, now=now)
        expected += owed
        received += got
    return (
        SensorCounts(total=len(rows), online=online, offline=len(rows) - online, wet=wet),
        Completeness(
            window_start=now - WINDOW,
            window_end=now,
            expected=expected,
            received=received,
            ratio=round(received / expected, 4) if expected else None,
        ),
    )


def city_summary(session: Session, *, actor: Actor, now: datetime) -> CitySummary:
    """City-wide figures over active shelters (compliance as :mod:`inspection.stats` counts
    it: class 1 / active, ungraded in the denominator)."""
    report = stats.compliance(session, actor=actor, now=now)
    alerts = alert_counts(session)
    sensors, completeness = _sensor_figures(session, now)
    return CitySummary(
        as_of=now,
        active_shelters=report.city.active_shelters,
        shelters_by_class=report.city.by_class,
        compliance_rate=report.city.rate,
        compliance_by_district=[
            DistrictCompliance(
                district=r.district,
                active_shelters=r.active_shelters,
                class1_shelters=r.class1_shelters,
                rate=r.rate,
            )
            for r in report.districts
        ],
        active_alerts_by_severity=alerts[AlertStatus.ACTIVE.value],
        acknowledged_alerts_by_severity=alerts[AlertStatus.ACKNOWLEDGED.value],
        sensors=sensors,
        shelters_with_water=shelters_with_water(session),
        completeness=completeness,
    )
