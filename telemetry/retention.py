"""How long readings are kept, and which resolution a series is read at.

Raw readings are kept for :attr:`RetentionPolicy.raw`; hourly aggregates of them (mean, min,
max and count per metric, and the number of readings) for :attr:`RetentionPolicy.hourly`.
A series is read from the hourly aggregates when its window reaches past the raw period or
is longer than :attr:`RetentionPolicy.hourly_above`, provided its buckets are whole hours
and its aggregate can be built from hourly ones (``last`` cannot); the newest buckets, whose
hours may not be aggregated yet, are always read from the raw readings. The choice is pure;
:func:`read_series` runs the parts it chooses on a :class:`~telemetry.ports.ReadingStore`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from telemetry.errors import InvalidQuery
from telemetry.instants import EPOCH
from telemetry.ports import Aggregate, ReadingStore, Resolution, SeriesPoint, SeriesQuery
from telemetry.query import bucket_offset_s

HOUR_S: Final = 3600


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """`raw` and `hourly` are how long raw readings and hourly aggregates are kept;
    `hourly_above` the window length past which a series is read hourly; `recent` how far
    back from now the raw readings are read whatever the window (the aggregates of the
    current hour, and until the job has run of the one before, are not written yet)."""

    raw: timedelta = timedelta(days=90)
    hourly: timedelta = timedelta(days=5 * 365)
    hourly_above: timedelta = timedelta(days=7)
    recent: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if self.raw < timedelta(days=2):
            raise ValueError("raw readings must be kept at least 2 days")
        if self.hourly < self.raw:
            raise ValueError("hourly aggregates must be kept at least as long as raw readings")


def hour_floor(value: datetime) -> datetime:
    """The start of the UTC hour holding `value`."""
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def choose_resolution(query: SeriesQuery, *, now: datetime, policy: RetentionPolicy) -> Resolution:
    """``HOURLY`` for a window reaching past the raw period or longer than
    ``policy.hourly_above``, when its buckets are whole hours and its aggregate is not
    ``last``; else ``RAW``. A window past the raw period that cannot be read hourly is
    refused (:class:`InvalidQuery`): its raw readings are gone."""
    hourly_ok = (
        query.every_s % HOUR_S == 0
        and bucket_offset_s(query) % HOUR_S == 0
        and query.agg is not Aggregate.LAST
    )
    if query.start < now - policy.raw:
        if not hourly_ok:
            raise InvalidQuery(
                f"readings older than {policy.raw.days} days are kept as hourly aggregates "
                "only: ask for every in whole hours (1h, 6h, 1d) and agg mean, min, max or count"
            )
        return Resolution.HOURLY
    if hourly_ok and query.end - query.start > policy.hourly_above:
        return Resolution.HOURLY
    return Resolution.RAW


def plan_series(
    query: SeriesQuery, *, now: datetime, policy: RetentionPolicy
) -> tuple[Resolution, list[SeriesQuery]]:
    """The resolution of `query` and the queries that answer it: for ``HOURLY``, the
    buckets before the one holding ``now - policy.recent`` from the aggregates and the rest
    from the raw readings, split on a bucket boundary so no bucket mixes the two."""
    resolution = choose_resolution(query, now=now, policy=policy)
    if resolution is Resolution.RAW:
        return resolution, [query]
    every_s = query.every_s
    offset_s = bucket_offset_s(query)
    recent_s = int((hour_floor(now - policy.recent) - EPOCH).total_seconds())
    boundary = EPOCH + timedelta(seconds=(recent_s + offset_s) // every_s * every_s - offset_s)
    hourly = replace(query, resolution=Resolution.HOURLY)
    if boundary >= query.end:
        return resolution, [hourly]
    if boundary <= query.start:
        return Resolution.RAW, [query]
    return resolution, [replace(hourly, end=boundary), replace(query, start=boundary)]


def read_series(
    store: ReadingStore, query: SeriesQuery, *, now: datetime, policy: RetentionPolicy
) -> tuple[Resolution, list[SeriesPoint]]:
    """The points of `query` at the resolution :func:`plan_series` picks, ordered by sensor
    and bucket, and that resolution."""
    resolution, parts = plan_series(query, now=now, policy=policy)
    points = [point for part in parts for point in store.series(part)]
    points.sort(key=lambda p: (p.sensor_id, p.ts))
    return resolution, points
