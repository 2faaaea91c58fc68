"""Live and historical readings of a shelter, data completeness, and rejected readings (listed,
and re-ingested once their cause is fixed)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.alerting.sink import transitions_for
from api.db import unit_of_work
from api.http.deps import ActorDep, NowDep, PageDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from inspection import audit, registry
from inspection.access import Actor
from inspection.models import Role
from telemetry.errors import InvalidQuery
from telemetry.evaluation import AlertEvaluator
from telemetry.fire_risk import level
from telemetry.ports import Placement, RejectFilter
from telemetry.query import aware_utc, build_series_query
from telemetry.readings import RejectReason
from telemetry.reingest import reingest
from telemetry.validation import IngestLimits, Validator

router = APIRouter(prefix="/api/v1", tags=["telemetry"], route_class=DocumentedRoute)
AdminOnly = Annotated[Actor, Depends(require(Role.ADMIN))]
MAX_COMPLETENESS_DAYS = 31
MAX_REINGEST = 1000
"""Rejects judged again by one request."""


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
    reingested_at: datetime | None


class ReingestIn(BaseModel):
    """Which rejects to judge again: those not re-ingested yet, by reason, by the sensor of
    their topic and by when they were received (``received_from`` inclusive,
    ``received_to`` exclusive), oldest first from ``after_id`` on."""

    model_config = ConfigDict(extra="forbid")

    reason: RejectReason | None = None
    sensor_id: str | None = Field(default=None, min_length=1, max_length=64)
    received_from: AwareDatetime | None = None
    received_to: AwareDatetime | None = None
    after_id: int = Field(default=0, ge=0, le=2**53)
    limit: int = Field(default=500, ge=1, le=MAX_REINGEST)


class ReingestOut(BaseModel):
    examined: int
    """Rejects judged again."""
    reingested: int
    """Of those, the ones whose readings are now stored (and marked re-ingested)."""
    readings_stored: int
    still_rejected: dict[str, int]
    """Rejects still refused, by their reason as judged now."""
    next_after_id: int | None
    """Give this as ``after_id`` to go on; null when no more rejects match."""


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
    """Aggregated readings in [start, end), at most 10,000 buckets per request."""
    registry.get_shelter(session, code, actor=actor)
    query = build_series_query(code, metric, start, end, every, agg, tz, sensor, now=now)
    points = state.readings.series(query)
    return SeriesResponse(
        shelter_code=code,
        metric=query.metric.value,
        agg=query.agg.value,
        every_s=query.every_s,
        tz=query.tz,
        start=query.start,
        end=query.end,
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
    nothing."""
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


@router.post("/telemetry/rejects/reingest", response_model=ReingestOut)
def reingest_rejects(
    actor: AdminOnly, session: SessionDep, state: StateDep, now: NowDep, body: ReingestIn
) -> ReingestOut:
    """Judge rejected readings again, after their cause is fixed (e.g. a sensor registered
    after it was switched on): the same validation as live messages, against the register as
    it is now. Readings now valid are stored (once, however often this is asked: the store
    keys a reading by sensor and measurement time), judged against the alert conditions as
    late readings are (raised or cleared, paging nobody once older than
    ``SHELTERWATCH_ALERT_LATE_AFTER_MINUTES``), and their rejects marked re-ingested; the
    others stay, with the reason they are refused for now. At most ``limit`` rejects per
    request; go on with ``next_after_id``. Audit-logged. ``503`` when the reading store is
    unreachable (nothing is then marked)."""
    which = RejectFilter(
        reason=None if body.reason is None else body.reason.value,
        sensor_id=body.sensor_id,
        received_from=_utc(body.received_from, "received_from"),
        received_to=_utc(body.received_to, "received_to"),
    )
    # The stores and the alert evaluation commit on their own connections: the request's
    # session is touched only for the audit entry, last, so that on SQLite it takes the write
    # lock after they are done.
    with unit_of_work(state.sessions, read_only=True) as register:
        placements = registry.sensor_placements(register, Placement)
    rows = state.rejects.pending(which, after_id=body.after_id, limit=body.limit)
    directory = {p.sensor_id: p for p in placements}
    retention = timedelta(days=state.settings.retention_days)
    validator = Validator(directory, IngestLimits(retention=retention))
    judged = reingest(rows, validator, state.readings)
    state.rejects.settle(judged.reingested, judged.still, now)
    if judged.readings:
        AlertEvaluator(
            state.sessions,
            directory,
            transitions_for(state),
            clock=state.clock,
            late_after=timedelta(minutes=state.settings.alert_late_after_minutes),
        ).judge_once(judged.readings, now=now)
    still: dict[str, int] = defaultdict(int)
    for _id, reason, _detail in judged.still:
        still[reason] += 1
    out = ReingestOut(
        examined=len(rows),
        reingested=len(judged.reingested),
        readings_stored=len(judged.readings),
        still_rejected=dict(sorted(still.items())),
        next_after_id=rows[-1].id if len(rows) == body.limit else None,
    )
    audit.record(
        session,
        actor,
        "telemetry.reingest",
        "telemetry_rejects",
        "reingest",
        at=now,
        after={
            "filter": body.model_dump(mode="json"),
            "result": out.model_dump(mode="json"),
            "reingested_ids": judged.reingested,
        },
    )
    return out


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        utc = aware_utc(value, name=name)
        utc.timestamp()
    except (OverflowError, ValueError) as exc:
        raise InvalidQuery(f"{name} is out of range") from exc
    return utc
