"""Validation of read requests on the reading stores; pure, no I/O.

Everything a caller may ask for is checked here, so the stores only ever see a
:class:`~telemetry.ports.SeriesQuery` whose metric and aggregate are enum members, whose
identifiers match ``[A-Za-z0-9_-]{1,64}``, whose times are tz-aware UTC and whose size is
bounded. Every refusal is an :class:`~telemetry.errors.InvalidQuery` with a message fit to
show to the caller.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telemetry.errors import InvalidQuery
from telemetry.instants import ceil_ms
from telemetry.ports import Aggregate, Metric, SeriesQuery

IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Shelter codes and sensor ids, as in the MQTT topic contract."""

TZ_NAME: Final = re.compile(r"[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*")
"""Shape of an IANA zone name that may appear, quoted, in a query text."""

_EVERY: Final = re.compile(r"([1-9][0-9]{0,4})([mhd])")
_UNIT_S: Final = {"m": 60, "h": 3600, "d": 86_400}

MIN_EVERY_S: Final = 60
MAX_EVERY_S: Final = 86_400
DEFAULT_WINDOW: Final = timedelta(hours=24)
DAY_S: Final = 86_400


def validate_identifier(value: str, *, name: str = "identifier") -> str:
    """Return `value` if it is a shelter code or sensor id (``[A-Za-z0-9_-]{1,64}``)."""
    if not isinstance(value, str) or IDENTIFIER.fullmatch(value) is None:
        raise InvalidQuery(f"{name} must be 1 to 64 letters, digits, '_' or '-'")
    return value


EARLIEST: Final = datetime(1678, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2262, 1, 1, tzinfo=UTC)
"""A time a query names lies in [EARLIEST, LATEST): the span InfluxDB's timestamps
(nanoseconds since 1970 in 64 bits: 1677-09-21 to 2262-04-11) hold, in whole years."""


def aware_utc(value: datetime, *, name: str) -> datetime:
    """`value` converted to UTC; a naive datetime is refused, never guessed, and so is one
    outside [EARLIEST, LATEST) (the calendar's first and last days with an offset included)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidQuery(f"{name} must carry a time zone offset")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved past the calendar by its offset
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise InvalidQuery(
            f"{name} must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)"
        )
    return utc


def parse_every(every: str) -> int:
    """Seconds in a bucket width written ``Nm``, ``Nh`` or ``Nd``, between 1m and 1d."""
    match = _EVERY.fullmatch(every) if isinstance(every, str) else None
    if match is None:
        raise InvalidQuery("every must look like 5m, 1h or 1d (a positive whole number and m/h/d)")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if not MIN_EVERY_S <= seconds <= MAX_EVERY_S:
        raise InvalidQuery("every must be between 1m and 1d")
    return seconds


def validate_tz(tz: str) -> str:
    """Return `tz` if it names an IANA time zone known here, e.g. ``Asia/Shanghai``."""
    if not isinstance(tz, str) or TZ_NAME.fullmatch(tz) is None:
        raise InvalidQuery("tz must be an IANA time zone name such as Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidQuery(f"unknown time zone {tz!r}") from exc
    return tz


def window_ms(start: datetime, end: datetime) -> tuple[int, int]:
    """Epoch-millisecond bounds ``(lo, hi)`` of [start, end): a point stored at millisecond
    ``t`` lies in the window exactly when ``lo <= t < hi`` (both bounds rounded up)."""
    return ceil_ms(aware_utc(start, name="start")), ceil_ms(aware_utc(end, name="end"))


def bucket_offset_s(query: SeriesQuery) -> int:
    """Seconds added to UTC before cutting buckets: the zone's offset at `start` for daily
    buckets (so days begin at local midnight), else 0."""
    if query.every_s < DAY_S:
        return 0
    offset = query.start.astimezone(ZoneInfo(query.tz)).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def build_series_query(
    shelter_code: str,
    metric: str,
    start: datetime | None,
    end: datetime | None,
    every: str,
    agg: str,
    tz: str,
    sensor_id: str | None,
    *,
    now: datetime,
    max_points: int = 10_000,
    max_span: timedelta = timedelta(days=400),
) -> SeriesQuery:
    """Check a series request and return it as a :class:`SeriesQuery`.

    `end` defaults to `now`, `start` to 24 hours before `end`; the window is [start, end).
    The number of buckets, ``ceil((end - start) / every)``, may not exceed `max_points`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be tz-aware")
    validate_identifier(shelter_code, name="shelter code")
    if sensor_id is not None:
        validate_identifier(sensor_id, name="sensor id")
    try:
        metric_value = Metric(metric)
    except ValueError:
        allowed = ", ".join(m.value for m in Metric)
        raise InvalidQuery(f"metric must be one of {allowed}") from None
    try:
        agg_value = Aggregate(agg)
    except ValueError:
        allowed = ", ".join(a.value for a in Aggregate)
        raise InvalidQuery(f"agg must be one of {allowed}") from None
    every_s = parse_every(every)
    validate_tz(tz)
    end_utc = aware_utc(end, name="end") if end is not None else now.astimezone(UTC)
    start_utc = aware_utc(start, name="start") if start is not None else end_utc - DEFAULT_WINDOW
    if start_utc >= end_utc:
        raise InvalidQuery("start must be before end")
    span = end_utc - start_utc
    if span > max_span:
        raise InvalidQuery(f"the window may span at most {max_span.days} days")
    span_us = span // timedelta(microseconds=1)
    buckets = -(-span_us // (every_s * 1_000_000))
    if buckets > max_points:
        raise InvalidQuery(
            f"{buckets} buckets requested, at most {max_points}: widen every or shorten the window"
        )
    return SeriesQuery(
        shelter_code=shelter_code,
        metric=metric_value,
        start=start_utc,
        end=end_utc,
        every_s=every_s,
        agg=agg_value,
        tz=tz,
        sensor_id=sensor_id,
    )
