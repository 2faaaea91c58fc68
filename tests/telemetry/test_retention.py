"""The choice of resolution of a series and its split into hourly and raw parts
(telemetry.retention), table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemetry.errors import InvalidQuery
from telemetry.ports import Aggregate, Metric, Resolution, SeriesQuery
from telemetry.retention import RetentionPolicy, choose_resolution, plan_series

NOW = datetime(2026, 6, 30, 12, 34, tzinfo=UTC)
POLICY = RetentionPolicy(raw=timedelta(days=90), hourly=timedelta(days=1826))


def query(
    days: float,
    every_s: int = 3600,
    agg: Aggregate = Aggregate.MEAN,
    tz: str = "UTC",
    ago: timedelta = timedelta(0),
) -> SeriesQuery:
    end = NOW - ago
    return SeriesQuery(
        "SH-1", Metric.TEMPERATURE, end - timedelta(days=days), end, every_s, agg, tz
    )


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (query(1, 900), Resolution.RAW),  # the day chart
        (query(7), Resolution.RAW),  # the week chart: 7 days is not more than 7
        (query(30, 6 * 3600), Resolution.HOURLY),  # the month chart
        (query(30, 6 * 3600, Aggregate.MAX), Resolution.HOURLY),
        (query(30, 6 * 3600, Aggregate.COUNT), Resolution.HOURLY),
        (query(30, 86_400, tz="Asia/Shanghai"), Resolution.HOURLY),  # midnight is whole hours
        (query(30, 1800), Resolution.RAW),  # buckets not whole hours: raw, still kept
        (query(30, 6 * 3600, Aggregate.LAST), Resolution.RAW),
        (query(30, 86_400, tz="Asia/Kolkata"), Resolution.RAW),  # local midnight at :30
        (query(1, 3600, ago=timedelta(days=100)), Resolution.HOURLY),  # past the raw period
    ],
)
def test_the_resolution_of_a_window(q: SeriesQuery, expected: Resolution) -> None:
    assert choose_resolution(q, now=NOW, policy=POLICY) is expected


@pytest.mark.parametrize(
    "q",
    [
        query(1, 900, ago=timedelta(days=100)),
        query(1, 3600, Aggregate.LAST, ago=timedelta(days=100)),
        query(100, 86_400, tz="Asia/Kolkata"),
    ],
)
def test_a_window_past_the_raw_period_that_hourly_data_cannot_answer_is_refused(
    q: SeriesQuery,
) -> None:
    with pytest.raises(InvalidQuery, match="older than 90 days"):
        choose_resolution(q, now=NOW, policy=POLICY)


def test_the_newest_buckets_are_read_raw_and_no_bucket_is_split() -> None:
    resolution, parts = plan_series(query(30, 6 * 3600), now=NOW, policy=POLICY)
    assert resolution is Resolution.HOURLY
    hourly, raw = parts
    # now − 2 h is 10:34, in the bucket starting at 06:00: from there on, raw readings.
    boundary = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
    assert (hourly.resolution, hourly.start, hourly.end) == (
        Resolution.HOURLY,
        NOW - timedelta(days=30),
        boundary,
    )
    assert (raw.resolution, raw.start, raw.end) == (Resolution.RAW, boundary, NOW)


def test_a_window_ending_in_the_past_is_read_hourly_only() -> None:
    resolution, parts = plan_series(query(30, ago=timedelta(days=40)), now=NOW, policy=POLICY)
    assert resolution is Resolution.HOURLY
    assert [p.resolution for p in parts] == [Resolution.HOURLY]


def test_the_policy_refuses_periods_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="2 days"):
        RetentionPolicy(raw=timedelta(days=1))
    with pytest.raises(ValueError, match="at least as long"):
        RetentionPolicy(raw=timedelta(days=90), hourly=timedelta(days=30))
