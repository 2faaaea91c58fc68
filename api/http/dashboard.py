"""The office dashboard (总览) of district and city officers, read in two requests: the figures
(compliance rate by district and its monthly history, shelters by class, the most overdue
follow-ups, enforcement referrals by outcome, open alerts by severity, shelters with water now
(水浸, as the platform summary counts them), fixes waiting for a verifier, and the map's
settings) and the grid of shelters, each coloured by its class and its
worst open alert. Open alerts themselves come from ``GET /api/v1/alerts?status=open``, which
screens poll with ``If-None-Match``.

Scope as everywhere: a district officer sees their district, the city office and the platform
every district (and may narrow to one with ``district``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from api.http.platform_view import alert_counts, shelters_with_water
from api.settings import Settings
from inspection import followups, stats
from inspection.access import Actor, shelter_scope
from inspection.followups import FollowupFilter
from inspection.models import Followup, FollowupStatus, Shelter
from inspection.schemas import FollowupRead
from inspection.stats import ComplianceReport, ReferralFigures
from telemetry.alert_store import OPEN, AlertStatus
from telemetry.sql_models import AlertRow

OVERDUE_SHOWN = 10
AlertLevel = Literal["info", "warning", "critical"]


class AlertCounts(BaseModel):
    active: dict[str, int] = Field(description="active alerts by severity")
    acknowledged: dict[str, int] = Field(description="acknowledged, not yet cleared")


class MapSettings(BaseModel):
    tile_url: str | None = Field(
        description="XYZ tile template of the city's own tile server; null: no map, the grid"
    )
    attribution: str


class Overdue(BaseModel):
    total: int
    items: list[FollowupRead] = Field(description=f"the {OVERDUE_SHOWN} most overdue")


class Dashboard(BaseModel):
    as_of: datetime
    district: str | None
    compliance: ComplianceReport
    overdue: Overdue
    referrals: ReferralFigures
    alerts: AlertCounts
    shelters_with_water: int = Field(
        description="active shelters with a sensor whose newest reading reported water (水浸)"
    )
    fixes_to_verify: int
    map: MapSettings


class GridDistrict(BaseModel):
    """The active shelters of one district by code, as parallel lists (one entry a shelter):
    about 25 bytes a shelter, so a city of 5,000 is a small answer."""

    district: str
    codes: list[str]
    classes: list[int | None] = Field(description="current class, null: never inspected")
    alerts: list[AlertLevel | None] = Field(description="the worst of its open alerts")
    overdue: list[bool] = Field(description="a live follow-up is past its deadline")
    latitudes: list[float | None] | None = Field(
        default=None, description="WGS-84 degrees, with ``coordinates=true`` (the map)"
    )
    longitudes: list[float | None] | None = None


class ShelterGrid(BaseModel):
    """Every active shelter in scope, by district."""

    districts: list[GridDistrict]


def scope(actor: Actor, district: str | None) -> ColumnElement[bool]:
    """The dashboard's shelters: what ``actor`` may see, narrowed to ``district``."""
    where = shelter_scope(actor)
    return where if district is None else where & (Shelter.district == district)


def dashboard(
    session: Session, *, actor: Actor, district: str | None, now: datetime, settings: Settings
) -> Dashboard:
    overdue, total = followups.list_followups(
        session,
        FollowupFilter(overdue=True, district=district),
        actor=actor,
        now=now,
        limit=OVERDUE_SHOWN,
        offset=0,
    )
    where = scope(actor, district)
    counts = alert_counts(session, where)
    return Dashboard(
        as_of=now,
        district=district or actor.district,
        compliance=stats.compliance(session, actor=actor, now=now, district=district),
        overdue=Overdue(total=total, items=overdue),
        referrals=stats.referrals(session, actor=actor, district=district),
        alerts=AlertCounts(
            active=counts[AlertStatus.ACTIVE.value],
            acknowledged=counts[AlertStatus.ACKNOWLEDGED.value],
        ),
        shelters_with_water=shelters_with_water(session, where),
        fixes_to_verify=stats.fixes_to_verify(session, actor=actor, district=district),
        map=MapSettings(tile_url=settings.map_tile_url, attribution=settings.map_attribution),
    )


_LEVELS: tuple[AlertLevel, ...] = ("info", "warning", "critical")
_RANK = {level: rank for rank, level in enumerate(_LEVELS, 1)}
_SEVERITY: dict[int, AlertLevel] = dict(enumerate(_LEVELS, 1))


def grid(
    session: Session, where: ColumnElement[bool], *, now: datetime, coordinates: bool
) -> ShelterGrid:
    """The active shelters matching ``where`` with their worst open alert and whether a
    follow-up is overdue, in one query."""
    worst = (
        select(
            AlertRow.shelter_code,
            func.max(case(*((AlertRow.severity == s, r) for s, r in _RANK.items()), else_=0)).label(
                "rank"
            ),
        )
        .where(AlertRow.status.in_(OPEN))
        .group_by(AlertRow.shelter_code)
        .subquery()
    )
    late = (
        select(Followup.shelter_id)
        .where(Followup.status == FollowupStatus.OPEN.value, Followup.due_at < now)
        .group_by(Followup.shelter_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Shelter.district,
            Shelter.code,
            Shelter.current_class,
            worst.c.rank,
            late.c.shelter_id,
            Shelter.latitude,
            Shelter.longitude,
        )
        .outerjoin(worst, worst.c.shelter_code == Shelter.code)
        .outerjoin(late, late.c.shelter_id == Shelter.id)
        .where(where, Shelter.active.is_(True))
        .order_by(Shelter.district, Shelter.code)
    ).all()
    districts: list[GridDistrict] = []
    for district, code, klass, rank, late_id, lat, lon in rows:
        if not districts or districts[-1].district != district:
            districts.append(
                GridDistrict.model_construct(
                    district=district,
                    codes=[],
                    classes=[],
                    alerts=[],
                    overdue=[],
                    latitudes=[] if coordinates else None,
                    longitudes=[] if coordinates else None,
                )
            )
        d = districts[-1]
        d.codes.append(code)
        d.classes.append(klass)
        d.alerts.append(_SEVERITY.get(rank or 0))
        d.overdue.append(late_id is not None)
        if d.latitudes is not None and d.longitudes is not None:
            d.latitudes.append(lat)
            d.longitudes.append(lon)
    return ShelterGrid.model_construct(districts=districts)
