"""Validation of series requests and identifiers (telemetry.query), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from telemetry.errors import InvalidQuery
from telemetry.ports import Aggregate, Metric, SeriesQuery
from telemetry.query import (
    bucket_offset_s,
    build_series_query,
    validate_identifier,
    window_ms,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VALID: dict[str, Any] = {
    "shelter_code": "SH-001",
    "metric": "temperature",
    "start": None,
    "end": None,
    "every": "1h",
    "agg": "mean",
    "tz": "Asia/Shanghai",
    "sensor_id": None,
}


def build(**overrides: Any) -> SeriesQuery:
    args = {**VALID, **overrides}
    extra = {k: args.pop(k) for k in ("max_points", "max_span") if k in args}
    return build_series_query(**args, now=NOW, **extra)


def test_defaults_give_the_last_24_hours() -> None:
    assert build() == SeriesQuery(
        shelter_code="SH-001",
        metric=Metric.TEMPERATURE,
        start=NOW - timedelta(hours=24),
        end=NOW,
        every_s=3600,
        agg=Aggregate.MEAN,
        tz="Asia/Shanghai",
        sensor_id=None,
    )


def test_a_full_request_is_normalised_to_utc() -> None:
    cst = timezone(timedelta(hours=8))
    query = build(
        metric="humidity",
        start=datetime(2026, 5, 1, 8, 0, tzinfo=cst),
        end=datetime(2026, 5, 2, 8, 0, tzinfo=cst),
        every="15m",
        agg="last",
        tz="UTC",
        sensor_id="s_1-a",
    )
    assert query.start == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
    assert query.start.tzinfo is UTC
    assert query.end == datetime(2026, 5, 2, 0, 0, tzinfo=UTC)
    assert (query.metric, query.agg, query.every_s, query.sensor_id) == (
        Metric.HUMIDITY,
        Aggregate.LAST,
        900,
        "s_1-a",
    )


def test_only_start_given_ends_now_and_only_end_given_starts_a_day_before() -> None:
    assert build(start=NOW - timedelta(hours=2)).end == NOW
    end = NOW - timedelta(days=3)
    assert build(end=end).start == end - timedelta(hours=24)


@pytest.mark.parametrize(
    ("every", "seconds"),
    [("1m", 60), ("90m", 5400), ("1h", 3600), ("24h", 86400), ("1d", 86400), ("1440m", 86400)],
)
def test_every_accepted(every: str, seconds: int) -> None:
    assert build(every=every, start=NOW - timedelta(days=5)).every_s == seconds


def test_the_bucket_limit_is_inclusive() -> None:
    start = NOW - timedelta(minutes=100)
    assert build(start=start, every="1m", max_points=100).every_s == 60
    with pytest.raises(InvalidQuery, match="101 buckets"):
        build(start=start - timedelta(seconds=1), every="1m", max_points=100)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shelter_code": ""}, "shelter code"),
        ({"shelter_code": 'x" OR 1=1'}, "shelter code"),
        ({"shelter_code": "a" * 65}, "shelter code"),
        ({"shelter_code": "sh/1"}, "shelter code"),
        ({"sensor_id": "s 1"}, "sensor id"),
        ({"sensor_id": "$sensor"}, "sensor id"),
        ({"metric": "pressure"}, "metric must be one of temperature, humidity"),
        ({"metric": "Temperature"}, "metric must be one of"),
        ({"agg": "sum"}, "agg must be one of mean, min, max, last, count"),
        ({"every": "1s"}, "every must look like"),
        ({"every": "0m"}, "every must look like"),
        ({"every": "01h"}, "every must look like"),
        ({"every": "1.5h"}, "every must look like"),
        ({"every": "1h "}, "every must look like"),
        ({"every": "1w"}, "every must look like"),
        ({"every": "2d"}, "between 1m and 1d"),
        ({"every": "25h"}, "between 1m and 1d"),
        ({"every": "1441m"}, "between 1m and 1d"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"tz": "Asia"}, "unknown time zone"),
        ({"tz": ""}, "IANA time zone"),
        ({"tz": "UTC')"}, "IANA time zone"),
        ({"tz": "../etc/passwd"}, "IANA time zone"),
        ({"tz": "Asia/Shanghai'"}, "IANA time zone"),
        ({"start": datetime(2026, 6, 1, 0, 0)}, "start must carry a time zone"),  # noqa: DTZ001
        ({"end": datetime(2026, 6, 1, 0, 0)}, "end must carry a time zone"),  # noqa: DTZ001
        ({"start": NOW, "end": NOW}, "start must be before end"),
        ({"start": NOW + timedelta(hours=1)}, "start must be before end"),
        (
            {"start": NOW - timedelta(days=400, seconds=1), "every": "1d"},
            "at most 400 days",
        ),
        ({"start": NOW - timedelta(days=7), "every": "1m"}, "10080 buckets requested"),
    ],
)
def test_invalid_requests(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidQuery, match=message) as info:
        build(**overrides)
    assert info.value.code == "invalid_query"


def test_span_limit_is_configurable() -> None:
    with pytest.raises(InvalidQuery, match="at most 1 days"):
        build(start=NOW - timedelta(days=2), every="1d", max_span=timedelta(days=1))


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="now"):
        build_series_query(**VALID, now=datetime(2026, 6, 1))  # noqa: DTZ001


@pytest.mark.parametrize("value", ["SH-001", "a", "A_b-9", "x" * 64])
def test_identifier_accepted(value: str) -> None:
    assert validate_identifier(value) == value


@pytest.mark.parametrize(
    "value", ["", "x" * 65, 'x" OR 1=1', "a b", "a,b", "a=b", "a'b", "é", "a\nb", "$shelter"]
)
def test_identifier_refused(value: str) -> None:
    with pytest.raises(InvalidQuery, match="shelter code must be 1 to 64"):
        validate_identifier(value, name="shelter code")


def test_window_bounds_round_up_to_the_millisecond() -> None:
    start = datetime(1970, 1, 1, 0, 0, 1, 500, tzinfo=UTC)  # 1000.5 ms
    end = datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)
    assert window_ms(start, end) == (1001, 2000)


def test_daily_buckets_are_offset_by_the_zone_at_start() -> None:
    daily = build(every="1d", start=NOW - timedelta(days=3))
    hourly = build(every="1h")
    assert bucket_offset_s(daily) == 8 * 3600
    assert bucket_offset_s(hourly) == 0
