"""Live and historical readings of a shelter, data completeness, and rejected readings."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.http.deps import ActorDep, NowDep, PageDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from inspection import registry
from inspection.access import Actor
from inspection.models import Role
from telemetry.errors import InvalidQuery
from telemetry.fire_risk import level
from telemetry.ports import Resolution
from telemetry.query import aware_utc, build_series_query
from telemetry.retention import read_series

router = APIRouter(prefix="/api/v1", tags=["telemetry"], route_class=DocumentedRoute)
AdminOnly = Annotated[Actor, Depends(require(Role.ADMIN))]
MAX_COMPLETENESS_DAYS = 31


class MetricValue(BaseModel):
    value: float
    ts: datetime
    level: int | None = None
    colour: str | None = None


class SensorLatest(BaseModel):
    sensor_id: str
    zone: str
    expected_interval_s: int
    last_seen: datetime | None
    metrics: dict[str, MetricValue]


class LatestResponse(BaseModel):
    shelter_code: str
    sensors: list[SensorLatest]


class SeriesPointOut(BaseModel):
    sensor_id: str
    ts: datetime
    value: float | None


class SeriesResponse(BaseModel):
    shelter_code: str
    metric: str
    agg: str
    every_s: int
    tz: str
    start: datetime
    end: datetime
    resolution: Resolution = Field(
        description="what the points were computed from: `raw`, the readings; `1h`, their "
        "hourly aggregates (windows longer than 7 days or reaching past the raw period, with "
        "buckets of whole hours; the newest buckets still from the readings)"
    )
    points: list[SeriesPointOut]


class HourCompleteness(BaseModel):
    hour: datetime
    expected: int
    received: int


class SensorCompleteness(BaseModel):
    sensor_id: str
    expected_interval_s: int
    expected: int
    received: int
    ratio: float | None
    hours: list[HourCompleteness]


class CompletenessResponse(BaseModel):
    shelter_code: str
    start: datetime
    end: datetime
    sensors: list[SensorCompleteness]


class RejectOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    raw: str
    batch_index: int | None


@router.get("/shelters/{code}/telemetry/latest", response_model=LatestResponse)
def latest(code: str, session: SessionDep, actor: ActorDep, state: StateDep) -> LatestResponse:
    """Per sensor and metric, the newest value by measurement time; fire risk with its level
    (1 green … 5 red)."""
    sensors = registry.list_sensors(session, code, actor=actor)
    by_sensor: dict[str, dict[str, MetricValue]] = defaultdict(dict)
    for v in state.readings.latest(code):
        out = MetricValue(value=v.value, ts=v.ts)
        if v.metric == "fire_risk":
            lvl = level(v.value)
            out.level, out.colour = int(lvl), lvl.colour
        by_sensor[v.sensor_id][v.metric.value] = out
    return LatestResponse(
        shelter_code=code,
        sensors=[
            SensorLatest(
                sensor_id=s.sensor_id,
                zone=s.zone,
                expected_interval_s=s.expected_interval_s,
                last_seen=max((m.ts for m in by_sensor[s.sensor_id].values()), default=None),
                metrics=by_sensor[s.sensor_id],
            )
            for s in sensors
        ],
    )


@router.get("/shelters/{code}/telemetry", response_model=SeriesResponse)
def series(
    code: str,
    session: SessionDep,
    actor: ActorDep,
    state: StateDep,
    now: NowDep,
    metric: Annotated[
        str, Query(description="temperature, humidity, fire_risk, dew_point, co or battery")
    ] = "temperature",
    start: Annotated[datetime | None, Query(description="RFC 3339; default end − 24 h")] = None,
    end: Annotated[datetime | None, Query(description="RFC 3339; default now")] = None,
    every: Annotated[str, Query(description="bucket width, 1m … 1d, e.g. 5m, 1h, 1d")] = "1h",
    agg: Annotated[str, Query(description="mean, min, max, last or count")] = "mean",
    tz: Annotated[str, Query(description="IANA zone aligning daily buckets")] = "Asia/Shanghai",
    sensor: str | None = None,
) -> SeriesResponse:
    """Aggregated readings in [start, end), at most 10,000 buckets per request. Windows
    longer than 7 days, or reaching past the raw period (SHELTERWATCH_RAW_RETENTION_DAYS), are
    read from the hourly aggregates when `every` is whole hours and `agg` is not `last`; a
    window past the raw period that cannot be read so is refused (422)."""
    registry.get_shelter(session, code, actor=actor)
    query = build_series_query(code, metric, start, end, every, agg, tz, sensor, now=now)
    policy = state.settings.retention_policy()
    if policy is None:
        resolution, points = Resolution.RAW, state.readings.series(query)
    else:
        resolution, points = read_series(state.readings, query, now=now, policy=policy)
    return SeriesResponse(
        shelter_code=code,
        metric=query.metric.value,
        agg=query.agg.value,
        every_s=query.every_s,
        tz=query.tz,
        start=query.start,
        end=query.end,
        resolution=resolution,
        points=[SeriesPointOut(sensor_id=p.sensor_id, ts=p.ts, value=p.value) for p in points],
    )


def _expected_in(hour: datetime, start: datetime, end: datetime, interval_s: int) -> int:
    """Readings a sensor reporting every ``interval_s`` owes in the part of ``hour`` that
    lies within [start, end)."""
    overlap = min(hour + timedelta(hours=1), end) - max(hour, start)
    return max(0, int(overlap.total_seconds() // interval_s))


@router.get("/shelters/{code}/telemetry/completeness", response_model=CompletenessResponse)
def completeness(
    code: str,
    session: SessionDep,
    actor: ActorDep,
    state: StateDep,
    now: NowDep,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CompletenessResponse:
    """Expected against received readings per hour and sensor, for at most 31 days in whole
    hours. A sensor is expected to report once per its interval from the later of the window's
    start and its registration up to the earlier of the window's end and now, so an hour
    before it was registered, or the part of the current hour still to come, expects
    nothing. Hours past the raw period (SHELTERWATCH_RAW_RETENTION_DAYS) count the readings
    their hourly aggregate recorded; past the hourly period they count none."""
    sensors = registry.list_sensors(session, code, actor=actor)
    end_utc = aware_utc(end, name="end") if end else now
    start_utc = aware_utc(start, name="start") if start else end_utc - timedelta(hours=24)
    start_utc = start_utc.replace(minute=0, second=0, microsecond=0)
    if start_utc >= end_utc:
        raise InvalidQuery("start must be before end")
    if end_utc - start_utc > timedelta(days=MAX_COMPLETENESS_DAYS):
        raise InvalidQuery(f"the window may span at most {MAX_COMPLETENESS_DAYS} days")
    counts = state.readings.hourly_counts(code, start_utc, end_utc)
    hours: list[datetime] = []
    h = start_utc
    while h < end_utc:
        hours.append(h)
        h += timedelta(hours=1)
    out: list[SensorCompleteness] = []
    counted_to = min(end_utc, now)
    for s in sensors:
        registered = s.created_at if s.created_at.tzinfo else s.created_at.replace(tzinfo=UTC)
        counted_from = max(start_utc, registered)
        rows = [
            HourCompleteness(
                hour=hh,
                expected=_expected_in(hh, counted_from, counted_to, s.expected_interval_s),
                received=counts.get((s.sensor_id, hh), 0),
            )
            for hh in hours
        ]
        expected = sum(r.expected for r in rows)
        received = sum(r.received for r in rows)
        out.append(
            SensorCompleteness(
                sensor_id=s.sensor_id,
                expected_interval_s=s.expected_interval_s,
                expected=expected,
                received=received,
                ratio=round(min(received, expected) / expected, 4) if expected else None,
                hours=rows,
            )
        )
    return CompletenessResponse(shelter_code=code, start=start_utc, end=end_utc, sensors=out)


@router.get("/telemetry/rejects", response_model=Page[RejectOut])
def rejects(
    _actor: AdminOnly, state: StateDep, page: PageDep, reason: str | None = None
) -> Page[RejectOut]:
    """Rejected readings, newest first, with topic, raw payload (truncated) and reason."""
    rows, total = state.rejects.list(limit=page.limit, offset=page.offset, reason=reason)
    return Page[RejectOut](
        items=[RejectOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
