"""The joined per-shelter summary: register row, class, open findings with deadlines, live
sensor values, open alerts and a readiness verdict, for any number of shelters in a fixed
number of queries (sensors with their live values, open alerts, live follow-ups with the
findings they cover, open findings: four, whatever the page size). The summaries are built
from typed database rows without validating them again; routes send them serialized once
(:func:`api.http.schemas.json_response`).

A sensor is *offline* when it has an open ``sensor_offline`` alert, or when nothing was heard
from it for more than 3× its expected interval, counted from its last reading or, if it never
sent one, from its registration (the same grace the offline job gives). Only active sensors
are listed and counted.

A sensor's ``water_leak`` is what its newest reading said (true: water, false: dry, null: not
reported); ``sensors_wet`` counts the shelter's sensors whose newest reading reported water,
offline ones included (nothing has said the water is gone).

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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from fastapi import Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, joinedload

from api.http.schemas import Page
from api.http.view_version import Bodies, page_etag, versioned
from inspection import attachments
from inspection.catalogue import load_catalogue
from inspection.contacts import manager_contact
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
from telemetry.alert_store import AlertView
from telemetry.fire_risk import RiskLevel, level
from telemetry.instants import maybe_from_ms
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
    water_leak: bool | None


AlertOut = AlertView
"""An alert in responses: the fields of :class:`telemetry.alert_store.AlertView`, the same
list the platform's alert topic carries (:func:`api.alerting.sink.alert_payload`)."""


class ShelterSummary(BaseModel):
    code: str
    name: str
    district: str
    address: str
    active: bool
    manager: str | None = Field(description="the 工程长's account (username), if any")
    manager_name: str | None = Field(
        description="the 工程长's name: the account's display name, else the register's contact"
    )
    manager_phone: str | None = Field(
        description="the 工程长's phone: the account's, else the register's contact"
    )
    current_class: int | None
    class_changed_at: datetime | None
    readiness: Readiness
    readiness_reasons: list[str]
    open_findings: list[FindingRead]
    overdue_followups: int
    sensors: list[SensorLive]
    sensors_online: int
    sensors_offline: int
    sensors_wet: int
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


_FIRE_RISK = {lvl: lvl.colour for lvl in RiskLevel}


def _fire_risk(value: float | None) -> FireRiskOut | None:
    if value is None:
        return None
    lvl = level(value)
    return FireRiskOut.model_construct(index=value, level=int(lvl), colour=_FIRE_RISK[lvl])


class ShelterRow(NamedTuple):
    """The register fields a summary shows; the 工程长 by account (username) and by contact
    (:func:`inspection.contacts.manager_contact`)."""

    id: int
    code: str
    name: str
    district: str
    address: str
    active: bool
    latitude: float | None
    longitude: float | None
    current_class: int | None
    class_changed_at: datetime | None
    manager: str | None
    manager_name: str | None
    manager_phone: str | None

    @classmethod
    def of(cls, shelter: Shelter) -> ShelterRow:
        """From a shelter loaded with its manager."""
        contact = manager_contact(shelter)
        return cls(
            id=shelter.id,
            code=shelter.code,
            name=shelter.name,
            district=shelter.district,
            address=shelter.address,
            active=shelter.active,
            latitude=shelter.latitude,
            longitude=shelter.longitude,
            current_class=shelter.current_class,
            class_changed_at=shelter.class_changed_at,
            manager=shelter.manager.username if shelter.manager else None,
            manager_name=contact.name,
            manager_phone=contact.phone,
        )


def shelter_page(
    session: Session, where: ColumnElement[bool], *, limit: int, offset: int
) -> tuple[list[ShelterRow], int]:
    """The shelters matching ``where`` (a clause on ``Shelter``), ordered by code, and how
    many match in all."""
    total = session.scalar(select(func.count()).select_from(Shelter).where(where)) or 0
    shelters = session.scalars(
        select(Shelter)
        .options(joinedload(Shelter.manager))
        .where(where)
        .order_by(Shelter.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return [ShelterRow.of(shelter) for shelter in shelters], total


def _open_followups(
    session: Session, shelter_ids: list[int], *, now: datetime
) -> tuple[dict[int, datetime], dict[int, int]]:
    """From the live follow-ups of these shelters, in one query: the deadline of each finding
    they cover (the earliest, when several do), and per shelter how many are past due. A
    follow-up covers findings of its own shelter only."""
    rows = session.execute(
        select(Followup.id, Followup.shelter_id, Followup.due_at, FollowupFinding.finding_id)
        .outerjoin(FollowupFinding, FollowupFinding.followup_id == Followup.id)
        .where(Followup.shelter_id.in_(shelter_ids), Followup.status == FollowupStatus.OPEN.value)
    ).all()
    due: dict[int, datetime] = {}
    overdue: dict[int, set[int]] = defaultdict(set)
    for followup_id, shelter_id, due_at, finding_id in rows:
        if finding_id is not None and (finding_id not in due or due_at < due[finding_id]):
            due[finding_id] = due_at
        if due_at < now:
            overdue[shelter_id].add(followup_id)
    return due, {shelter_id: len(ids) for shelter_id, ids in overdue.items()}


def _open_findings(
    session: Session, shelter_ids: list[int], due: dict[int, datetime], *, now: datetime
) -> dict[int, list[FindingRead]]:
    """Open, confirmed findings per shelter (worst first), each with its deadline."""
    rows = session.scalars(
        select(Finding)
        .where(
            Finding.shelter_id.in_(shelter_ids),
            Finding.status != FindingStatus.CLOSED.value,
            Finding.draft.is_(False),
        )
        .order_by(Finding.shelter_id, Finding.severity.desc(), Finding.id)
    ).all()
    catalogue = load_catalogue()
    files = attachments.reads_by_finding(session, [finding.id for finding in rows])
    out: dict[int, list[FindingRead]] = defaultdict(list)
    for finding in rows:
        out[finding.shelter_id].append(
            finding_read(
                finding,
                catalogue,
                now=now,
                due_at=due.get(finding.id),
                attachments=files[finding.id],
            )
        )
    return out


def _sensors(
    session: Session, shelter_ids: list[int], offline_alerts: set[str], *, now: datetime
) -> dict[int, list[SensorLive]]:
    """Active sensors per shelter with their live values, in sensor order."""
    rows = session.execute(
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
            SensorLiveRow.water_leak,
        )
        .outerjoin(SensorLiveRow, SensorLiveRow.sensor_id == Sensor.sensor_id)
        .where(Sensor.shelter_id.in_(shelter_ids), Sensor.active.is_(True))
        .order_by(Sensor.shelter_id, Sensor.sensor_id)
    ).all()
    out: dict[int, list[SensorLive]] = defaultdict(list)
    for (
        shelter_id,
        sensor_id,
        zone,
        interval_s,
        created_at,
        seen_ms,
        t,
        rh,
        fr,
        dp,
        bat,
        wet,
    ) in rows:
        last_seen = maybe_from_ms(seen_ms)
        out[shelter_id].append(
            SensorLive.model_construct(
                sensor_id=sensor_id,
                zone=zone,
                expected_interval_s=interval_s,
                last_seen=last_seen,
                online=is_online(
                    last_seen=last_seen,
                    registered_at=created_at,
                    interval_s=interval_s,
                    offline_alert=sensor_id in offline_alerts,
                    now=now,
                ),
                temperature=t,
                humidity=rh,
                fire_risk=_fire_risk(fr),
                dew_point=dp,
                battery=bat,
                water_leak=wet,
            )
        )
    return out


def _collect(
    session: Session, shelters: Sequence[ShelterRow], *, now: datetime
) -> list[dict[str, Any]]:
    """The summary fields of each shelter, in the order given, from five queries (sensors
    with live values, open alerts, live follow-ups, open findings: whatever the count)."""
    if not shelters:
        return []
    ids = [s.id for s in shelters]
    alerts: dict[str, list[AlertView]] = defaultdict(list)
    offline_alerts: set[str] = set()
    for view in alert_store.open_alerts_for(session, [s.code for s in shelters]):
        alerts[view.shelter_code].append(view)
        if view.rule == OFFLINE_RULE:
            offline_alerts.add(view.sensor_id)
    sensors = _sensors(session, ids, offline_alerts, now=now)
    due, overdue_followups = _open_followups(session, ids, now=now)
    findings = _open_findings(session, ids, due, now=now)

    out: list[dict[str, Any]] = []
    for s in shelters:
        shelter_sensors = sensors.get(s.id, [])
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
                "manager": s.manager,
                "manager_name": s.manager_name,
                "manager_phone": s.manager_phone,
                "current_class": s.current_class,
                "class_changed_at": s.class_changed_at,
                "readiness": verdict,
                "readiness_reasons": reasons,
                "open_findings": shelter_findings,
                "overdue_followups": n_overdue,
                "sensors": shelter_sensors,
                "sensors_online": len(shelter_sensors) - offline,
                "sensors_offline": offline,
                "sensors_wet": sum(1 for x in shelter_sensors if x.water_leak),
                "last_seen": max(
                    (x.last_seen for x in shelter_sensors if x.last_seen is not None),
                    default=None,
                ),
                "open_alerts": shelter_alerts,
            }
        )
    return out


def shelter_summaries(
    session: Session, shelters: Sequence[ShelterRow], *, now: datetime
) -> list[ShelterSummary]:
    """Summaries of ``shelters``, in the order given. Built from the rows without validating
    them again: every value comes typed from the database."""
    return [ShelterSummary.model_construct(**f) for f in _collect(session, shelters, now=now)]


def platform_summaries(
    session: Session, shelters: Sequence[ShelterRow], *, now: datetime
) -> list[PlatformShelter]:
    """As :func:`shelter_summaries`, with coordinates."""
    return [
        PlatformShelter.model_construct(**f, latitude=s.latitude, longitude=s.longitude)
        for s, f in zip(shelters, _collect(session, shelters, now=now), strict=True)
    ]


def summary_page(
    session: Session,
    where: ColumnElement[bool],
    *,
    limit: int,
    offset: int,
    now: datetime,
    model: type[BaseModel],
    build: Callable[..., Sequence[BaseModel]],
    if_none_match: str | None,
    bodies: Bodies,
) -> Response:
    """A page of shelter summaries of ``model`` built by ``build(session, rows, now=now)``,
    with the strong ``ETag`` of its data version: ``If-None-Match`` naming it answers ``304``
    without building the page, and a page already built at this version is sent again."""
    etag = page_etag(session, where, limit=limit, offset=offset, now=now, model=model)

    def page() -> BaseModel:
        rows, total = shelter_page(session, where, limit=limit, offset=offset)
        return Page[model].model_construct(  # type: ignore[valid-type]
            items=list(build(session, rows, now=now)), total=total, limit=limit, offset=offset
        )

    return versioned(
        etag, if_none_match=if_none_match, bodies=bodies, variant=f"{limit}:{offset}", build=page
    )
