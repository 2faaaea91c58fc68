"""Reads of the hourly rollup of the SQL store (``telemetry_hourly``): the statements only;
:class:`~telemetry.sql_store.SqlReadingStore` runs them.

A series at hourly resolution covers the whole hours that overlap its window. Its buckets
combine hours as a bucket of raw readings combines readings: the mean is weighted by each
hour's count (so it equals the mean of the raw readings), min and max are those of the
hours, and count is their sum.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, Select, func, select

from telemetry.ports import Aggregate, Metric, SeriesQuery
from telemetry.query import bucket_offset_s, validate_identifier, window_ms
from telemetry.sql_models import HourlyRow

HOUR_MS: Final = 3_600_000

COLUMNS: Final[dict[Metric, tuple[Any, Any, Any, Any]]] = {
    metric: (
        getattr(HourlyRow, f"{metric.value}_mean"),
        getattr(HourlyRow, f"{metric.value}_min"),
        getattr(HourlyRow, f"{metric.value}_max"),
        getattr(HourlyRow, f"{metric.value}_count"),
    )
    for metric in Metric
}
"""Per metric, its mean, min, max and count columns."""


def series_statement(query: SeriesQuery) -> tuple[Select[Any], int, int]:
    """The statement of an hourly series (rows ``sensor_id``, ``bucket``, ``value``), the
    bucket width and the bucket offset in milliseconds (a bucket starts at
    ``bucket * every_ms - offset_ms``)."""
    validate_identifier(query.shelter_code, name="shelter code")
    mean, low, high, count = COLUMNS[Metric(query.metric)]
    agg = Aggregate(query.agg)
    lo, hi = window_ms(query.start, query.end)
    every_ms = int(query.every_s) * 1000
    offset_ms = bucket_offset_s(query) * 1000
    conditions: list[ColumnElement[bool]] = [
        HourlyRow.shelter_code == query.shelter_code,
        HourlyRow.hour_ms > lo - HOUR_MS,
        HourlyRow.hour_ms < hi,
        count > 0,
    ]
    if query.sensor_id is not None:
        validate_identifier(query.sensor_id, name="sensor id")
        conditions.append(HourlyRow.sensor_id == query.sensor_id)
    inner = (
        select(
            HourlyRow.sensor_id,
            mean.label("mean"),
            low.label("low"),
            high.label("high"),
            count.label("n"),
            ((HourlyRow.hour_ms + offset_ms) // every_ms).label("bucket"),
        )
        .where(*conditions)
        .subquery()
    )
    value: ColumnElement[Any]
    if agg is Aggregate.MEAN:
        value = func.sum(inner.c.mean * inner.c.n) / func.sum(inner.c.n)
    elif agg is Aggregate.MIN:
        value = func.min(inner.c.low)
    elif agg is Aggregate.MAX:
        value = func.max(inner.c.high)
    elif agg is Aggregate.COUNT:
        value = func.sum(inner.c.n)
    else:
        raise ValueError(f"no hourly aggregate for {agg}")
    stmt = select(inner.c.sensor_id, inner.c.bucket, value.label("value")).group_by(
        inner.c.sensor_id, inner.c.bucket
    )
    return stmt, every_ms, offset_ms


def counts_statement(shelter_code: str, lo_ms: int, hi_ms: int) -> Select[str, int, int]:
    """Readings per sensor and hour (rows ``sensor_id``, ``hour_ms``, ``readings``) of the
    hours starting in [lo_ms, hi_ms)."""
    validate_identifier(shelter_code, name="shelter code")
    return select(HourlyRow.sensor_id, HourlyRow.hour_ms, HourlyRow.readings).where(
        HourlyRow.shelter_code == shelter_code,
        HourlyRow.hour_ms >= lo_ms,
        HourlyRow.hour_ms < hi_ms,
    )
