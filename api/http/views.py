"""The joined per-shelter summary: register row, class, open findings with deadlines, live
sensor values, open alerts and a readiness verdict, for any number of shelters in a fixed
number of queries (sensors with their live values, open alerts, open findings with due dates,
overdue follow-ups: four, whatever the page size).

A sensor is *offline* when it has an open ``sensor_offline`` alert, or when nothing was heard
from it for more than 3× its expected interval, counted from its last reading or, if it never
sent one, from its registration (the same grace the offline job gives). Only active sensors
are listed and counted.

Readiness (worst verdict wins; every reason that applies is listed in ``readiness_reasons``):

- ``not_ready``: current class 4 (``class_4``); an open (active or acknowledged) critical
  alert (``critical_alert``); every sensor offline, when the shelter has sensors
  (``all_sensors_offline``).
- ``degraded``: class 3 (``class_3``); an open warning alert (``warning_alert``); some but
  not all sensors offline (``sensor_offline``); never inspected (``ungraded``); an open
  finding or follow-up past its deadline (``overdue_followup``).
- ``ready``: none of these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection import attachments
from inspection.catalogue import load_catalogue
from inspection.inspections import finding_read
from inspection.models import (
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupStatus,
    Sensor,
    Shelter,
)
from inspection.schemas import FindingRead
from telemetry import alert_store
from telemetry.alert_rules import OFFLINE_FACTOR, OFFLINE_RULE, Severity
from telemetry.alert_store import AlertView, from_ms
from telemetry.fire_risk import RiskLevel, level
from telemetry.sql_models import SensorLiveRow


class Readiness(StrEnum):
    READY = "ready"
    DEGRADED = "degraded"
    NOT_READY = "not_ready"


NOT_READY_REASONS = ("class_4", "critical_alert", "all_sensors_offline")
DEGRADED_REASONS = ("class_3", "warning_alert", "sensor_offline", "ungraded", "overdue_followup")


class FireRiskOut(BaseModel):
    index: float
    level: int
    colour: str


class SensorLive(BaseModel):
    """One sensor with its newest values (``null`` until it has reported)."""

    sensor_id: str
    zone: str
    expected_interval_s: int
    last_seen: datetime | None
    online: bool
    temperature: float | None
    humidity: float | None
    fire_risk: FireRiskOut | None
    dew_point: float | None
    battery: float | None


AlertOut = AlertView
"""An alert in responses: the fields of :class:`telemetry.alert_store.AlertView`, the same
list the platform's alert topic carries (:func:`api.alerting.sink.alert_payload`)."""


class ShelterSummary(BaseModel):
    code: str
    name: str
    district: str
    address: str
    active: bool
    manager: str | None
    manager_phone: str | None
    current_class: int | None
    class_changed_at: datetime | None
    readiness: Readiness
    readiness_reasons: list[str]
    open_findings: list[FindingRead]
    overdue_followups: int
    sensors: list[SensorLive]
    sensors_online: int
    sensors_offline: int
    last_seen: datetime | None
    open_alerts: list[AlertOut]


class PlatformShelter(ShelterSummary):
    """The summary with the shelter's coordinates (WGS-84 degrees), for the city map."""

    latitude: float | None
    longitude: float | None


def readiness(
    current_class: int | None,
    alert_severities: Iterable[str],
    *,
    sensors: int,
    offline: int,
    overdue: bool,
) -> tuple[Readiness, list[str]]:
    """The verdict and its reasons (in the order of the module docstring)."""
    severities = set(alert_severities)
    reasons: list[str] = []
    if current_class == 4:
        reasons.append("class_4")
    if Severity.CRITICAL in severities:
        reasons.append("critical_alert")
    if sensors > 0 and offline == sensors:
        reasons.append("all_sensors_offline")
    if current_class == 3:
        reasons.append("class_3")
    if Severity.WARNING in severities:
        reasons.append("warning_alert")
    if 0 < offline < sensors:
        reasons.append("sensor_offline")
    if current_class is None:
        reasons.append("ungraded")
    if overdue:
        reasons.append("overdue_followup")
    if any(r in NOT_READY_REASONS for r in reasons):
        return Readiness.NOT_READY, reasons
    if reasons:
        return Readiness.DEGRADED, reasons
    return Readiness.READY, reasons


def is_online(
    *,
    last_seen: datetime | None,
    registered_at: datetime,
    interval_s: int,
    offline_alert: bool,
    now: datetime,
) -> bool:
    """The offline rule of the module docstring, for one sensor."""
    if offline_alert:
        return False
    reference = last_seen if last_seen is not None else registered_at
    return now - reference <= timedelta(seconds=OFFLINE_FACTOR * interval_s)


_COLOURS = {lvl: lvl.colour for lvl in RiskLevel}


def _fire_risk(value: float | None) -> FireRiskOut | None:
    if value is None:
        return None
    lvl = level(value)
    return FireRiskOut(index=value, level=int(lvl), colour=_COLOURS[lvl])


def _open_findings(
    session: Session, shelter_ids: list[int], *, now: datetime
) -> dict[int, list[FindingRead]]:
    """Open, confirmed findings per shelter (worst first), each with the deadline of the live
    follow-up covering it, in one query."""
    due = (
        select(FollowupFinding.finding_id, func.min(Followup.due_at).label("due_at"))
        .join(Followup, Followup.id == FollowupFinding.followup_id)
        .where(Followup.status == FollowupStatus.OPEN.value)
        .group_by(FollowupFinding.finding_id)
        .subquery()
    )
    rows = session.execute(
        select(Finding, due.c.due_at)
        .outerjoin(due, due.c.finding_id == Finding.id)
        .where(
            Finding.shelter_id.in_(shelter_ids),
            Finding.status != FindingStatus.CLOSED.value,
            Finding.draft.is_(False),
        )
        .order_by(Finding.shelter_id, Finding.severity.desc(), Finding.id)
    ).all()
    catalogue = load_catalogue()
    files = attachments.reads_by_finding(session, [finding.id for finding, _ in rows])
    out: dict[int, list[FindingRead]] = defaultdict(list)
    for finding, due_at in rows:
        out[finding.shelter_id].append(
            finding_read(finding, catalogue, now=now, due_at=due_at, attachments=files[finding.id])
        )
    return out


def _overdue_followups(
    session: Session, shelter_ids: list[int], *, now: datetime
) -> dict[int, int]:
    rows = session.execute(
        select(Followup.shelter_id, func.count())
        .where(
            Followup.shelter_id.in_(shelter_ids),
            Followup.status == FollowupStatus.OPEN.value,
            Followup.due_at < now,
        )
        .group_by(Followup.shelter_id)
    ).all()
    return {shelter_id: n for shelter_id, n in rows}


def _collect(
    session: Session, shelters: Sequence[Shelter], *, now: datetime
) -> list[dict[str, object]]:
    """The summary fields of each shelter, in the order given; ``manager`` must be loaded."""
    if not shelters:
        return []
    ids = [s.id for s in shelters]
    codes = [s.code for s in shelters]
    sensors = session.execute(
        select(
            Sensor.shelter_id,
            Sensor.sensor_id,
            Sensor.zone,
            Sensor.expected_interval_s,
            Sensor.created_at,
            SensorLiveRow.last_seen_ms,
            SensorLiveRow.temperature,
            SensorLiveRow.humidity,
            SensorLiveRow.fire_risk,
            SensorLiveRow.dew_point,
            SensorLiveRow.battery,
        )
        .outerjoin(SensorLiveRow, SensorLiveRow.sensor_id == Sensor.sensor_id)
        .where(Sensor.shelter_id.in_(ids), Sensor.active.is_(True))
        .order_by(Sensor.shelter_id, Sensor.sensor_id)
    ).all()
    alerts: dict[str, list[AlertView]] = defaultdict(list)
    offline_alerts: set[str] = set()
    for view in alert_store.open_alerts_for(session, codes):
        alerts[view.shelter_code].append(view)
        if view.rule == OFFLINE_RULE:
            offline_alerts.add(view.sensor_id)
    findings = _open_findings(session, ids, now=now)
    overdue_followups = _overdue_followups(session, ids, now=now)

    by_shelter: dict[int, list[SensorLive]] = defaultdict(list)
    for row in sensors:
        last_seen = from_ms(row.last_seen_ms)
        by_shelter[row.shelter_id].append(
            SensorLive(
                sensor_id=row.sensor_id,
                zone=row.zone,
                expected_interval_s=row.expected_interval_s,
                last_seen=last_seen,
                online=is_online(
                    last_seen=last_seen,
                    registered_at=row.created_at,
                    interval_s=row.expected_interval_s,
                    offline_alert=row.sensor_id in offline_alerts,
                    now=now,
                ),
                temperature=row.temperature,
                humidity=row.humidity,
                fire_risk=_fire_risk(row.fire_risk),
                dew_point=row.dew_point,
                battery=row.battery,
            )
        )

    out: list[dict[str, object]] = []
    for s in shelters:
        shelter_sensors = by_shelter.get(s.id, [])
        shelter_alerts = alerts.get(s.code, [])
        shelter_findings = findings.get(s.id, [])
        offline = sum(1 for x in shelter_sensors if not x.online)
        n_overdue = overdue_followups.get(s.id, 0)
        verdict, reasons = readiness(
            s.current_class,
            (a.severity for a in shelter_alerts),
            sensors=len(shelter_sensors),
            offline=offline,
            overdue=n_overdue > 0 or any(f.overdue for f in shelter_findings),
        )
        out.append(
            {
                "code": s.code,
                "name": s.name,
                "district": s.district,
                "address": s.address,
                "active": s.active,
                "manager": s.manager.username if s.manager else None,
                "manager_phone": s.manager.phone if s.manager else None,
                "current_class": s.current_class,
                "class_changed_at": s.class_changed_at,
                "readiness": verdict,
                "readiness_reasons": reasons,
                "open_findings": shelter_findings,
                "overdue_followups": n_overdue,
                "sensors": shelter_sensors,
                "sensors_online": len(shelter_sensors) - offline,
                "sensors_offline": offline,
                "last_seen": max(
                    (x.last_seen for x in shelter_sensors if x.last_seen is not None),
                    default=None,
                ),
                "open_alerts": shelter_alerts,
            }
        )
    return out


def shelter_summaries(
    session: Session, shelters: Sequence[Shelter], *, now: datetime
) -> list[ShelterSummary]:
    """Summaries of ``shelters`` (loaded with their manager), in the order given."""
    return [ShelterSummary.model_validate(f) for f in _collect(session, shelters, now=now)]


def platform_summaries(
    session: Session, shelters: Sequence[Shelter], *, now: datetime
) -> list[PlatformShelter]:
    """As :func:`shelter_summaries`, with coordinates."""
    return [
        PlatformShelter.model_validate({**f, "latitude": s.latitude, "longitude": s.longitude})
        for s, f in zip(shelters, _collect(session, shelters, now=now), strict=True)
    ]
