"""Retention on the real InfluxDB 1.x (behind the 2.x-compatible nginx): retention policies
and the hourly continuous query after setup, setup run twice, a changed setting, and a
backfill whose hourly aggregates equal those of the raw points, read back through the store.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from telemetry.influx_retention import HOURLY_RP, InfluxRetention
from telemetry.influx_store import InfluxStore
from telemetry.ports import Aggregate, Metric, Resolution, SeriesQuery
from telemetry.readings import Reading
from telemetry.retention import RetentionPolicy, hour_floor
from tests.telemetry.test_stores import INFLUX_URL, influx_admin, influx_select

pytestmark = pytest.mark.influx
POLICY = RetentionPolicy(raw=timedelta(days=90), hourly=timedelta(days=1826))


@pytest.fixture
def database() -> Iterator[str]:
    """A database name of this test only; dropped after it (setup creates it)."""
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    yield name
    httpx.post(f"{INFLUX_URL}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=10)


def policies(database: str) -> dict[str, tuple[str, bool]]:
    rows = influx_select(database, f'SHOW RETENTION POLICIES ON "{database}"', {})
    return {row["name"]: (row["duration"], row["default"]) for row in rows}


def continuous_queries(database: str) -> dict[str, str]:
    response = httpx.get(f"{INFLUX_URL}/query", params={"q": "SHOW CONTINUOUS QUERIES"})
    for series in response.json()["results"][0]["series"]:
        if series["name"] == database:
            return {name: query for name, query in series.get("values") or []}
    return {}


def test_setup_creates_the_policies_and_the_query_once_and_follows_the_settings(
    database: str,
) -> None:
    retention = InfluxRetention(INFLUX_URL, "", database, POLICY)
    try:
        assert retention.server_version().startswith("1.")
        first = retention.ensure()
        assert len(first.statements) == 3  # raw altered, hourly created, query created
        assert policies(database) == {
            "autogen": ("2160h0m0s", True),
            HOURLY_RP: ("43824h0m0s", False),
        }
        queries = continuous_queries(database)
        assert list(queries) == ["shelter_env_1h"]
        assert f"INTO {database}.{HOURLY_RP}.shelter_env" in queries["shelter_env_1h"]
        assert "RESAMPLE FOR 2h" in queries["shelter_env_1h"]

        assert retention.ensure().statements == ()  # twice: nothing changes
        assert continuous_queries(database) == queries
    finally:
        retention.close()

    longer = RetentionPolicy(raw=timedelta(days=120), hourly=timedelta(days=3650))
    changed = InfluxRetention(INFLUX_URL, "", database, longer)
    try:
        assert [s.split(" ON ")[0] for s in changed.ensure().statements] == [
            'ALTER RETENTION POLICY "autogen"',
            f'ALTER RETENTION POLICY "{HOURLY_RP}"',
        ]
        assert policies(database) == {
            "autogen": ("2880h0m0s", True),
            HOURLY_RP: ("87600h0m0s", False),
        }
        assert changed.ensure().statements == ()
    finally:
        changed.close()


def test_a_bucket_naming_its_policy_gets_that_policy_as_the_default(database: str) -> None:
    influx_admin(f'CREATE DATABASE "{database}"')
    retention = InfluxRetention(INFLUX_URL, "", f"{database}/raw", POLICY)
    try:
        retention.ensure()
        assert policies(database) == {
            "autogen": ("0s", False),
            "raw": ("2160h0m0s", True),
            HOURLY_RP: ("43824h0m0s", False),
        }
        assert f"FROM {database}.raw.shelter_env" in continuous_queries(database)["shelter_env_1h"]
    finally:
        retention.close()


def test_a_backfilled_hourly_mean_equals_the_mean_of_the_raw_points(database: str) -> None:
    # Within the raw policy's 90 days of the server's own clock, which keeps what is written.
    base = hour_floor(datetime.now(UTC)) - timedelta(days=3)
    temperatures = {
        "A": [(base + timedelta(minutes=7 * i), 15.0 + (i * 13 % 17) / 4) for i in range(30)],
        "B": [(base + timedelta(minutes=11 * i + 3), 20.0 - i / 3) for i in range(15)],
    }
    retention = InfluxRetention(INFLUX_URL, "", database, POLICY)
    store = InfluxStore(INFLUX_URL, token="", org="shelterwatch", bucket=database)
    try:
        retention.ensure()
        store.write(
            [
                Reading("SH-1", sensor, ts, temperature=value, humidity=50.0)
                for sensor, points in temperatures.items()
                for ts, value in points
            ]
        )
        written = retention.backfill(base - timedelta(minutes=30), base + timedelta(hours=4))
        assert written == 7  # A: 00:00–03:23, 4 hours; B: 00:03–02:37, 3 hours
        first = hourly(database)
        assert retention.backfill(base, base + timedelta(hours=4)) == written
        assert hourly(database) == first  # the same points again

        for sensor, points in temperatures.items():
            for hour in range(4):
                start = base + timedelta(hours=hour)
                values = [v for ts, v in points if start <= ts < start + timedelta(hours=1)]
                key = (sensor, start)
                if not values:
                    assert key not in first
                    continue
                row = first[key]
                assert row["temperature"] == pytest.approx(statistics.fmean(values))
                assert (row["temperature_min"], row["temperature_max"]) == (
                    min(values),
                    max(values),
                )
                assert row["temperature_count"] == len(values)
                assert row["temperature_sum"] == pytest.approx(sum(values))

        # Read through the store, the hourly series equals the raw one.
        for agg in (Aggregate.MEAN, Aggregate.MIN, Aggregate.MAX, Aggregate.COUNT):
            for every_s in (3600, 3 * 3600):
                query = SeriesQuery(
                    "SH-1",
                    Metric.TEMPERATURE,
                    base,
                    base + timedelta(hours=6),
                    every_s,
                    agg,
                    "UTC",
                )
                raw = store.series(query)
                rolled = store.series(replace(query, resolution=Resolution.HOURLY))
                assert [(p.sensor_id, p.ts) for p in rolled] == [(p.sensor_id, p.ts) for p in raw]
                for got, want in zip(rolled, raw, strict=True):
                    assert got.value == pytest.approx(want.value), (agg, every_s, got.ts)

        # Hours whose raw points are gone count from their aggregates.
        window = (base, base + timedelta(hours=4))
        before = store.hourly_counts("SH-1", *window)
        assert before[("A", base)] == 9
        # An hour whose raw points are gone (InfluxDB's DELETE would take those of every
        # policy): only its aggregates are there.
        gone = base - timedelta(hours=5)
        line = (
            f"shelter_env,sensor=C,shelter=SH-1 temperature=1.5,temperature_count=12i,"
            f"humidity_count=11i {int(gone.timestamp())}"
        )
        response = httpx.post(
            f"{INFLUX_URL}/write",
            params={"db": database, "rp": HOURLY_RP, "precision": "s"},
            content=line,
            timeout=10,
        )
        assert response.status_code == 204, response.text
        counts = store.hourly_counts("SH-1", gone, window[1])
        assert counts == {**before, ("C", gone): 12}
    finally:
        store.close()
        retention.close()


def hourly(database: str) -> dict[tuple[str, datetime], dict[str, Any]]:
    rows = influx_select(database, f'SELECT * FROM "{HOURLY_RP}"."shelter_env"', {})
    return {
        (row["sensor"], datetime.fromisoformat(row["time"].replace("Z", "+00:00"))): row
        for row in rows
    }
