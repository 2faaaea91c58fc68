"""The SQL store's retention job on SQLite and PostgreSQL, at an injected clock: hourly
rollup across hour boundaries, late readings, idempotent re-runs, reads of the rollup, and
the purge in bounded batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from telemetry.ports import Aggregate, Metric, Resolution, SeriesQuery
from telemetry.readings import Reading
from telemetry.retention import RetentionPolicy
from telemetry.sql_models import HourlyRow, ReadingRow, RollupMarkRow
from telemetry.sql_rollup import SqlRollup
from telemetry.sql_store import SqlReadingStore

H9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = RetentionPolicy(raw=timedelta(days=3), hourly=timedelta(days=30))


def reading(
    sensor: str, ts: datetime, temperature: float, humidity: float | None = None
) -> Reading:
    return Reading("SH-1", sensor, ts, temperature=temperature, humidity=humidity, zone="z")


def write(engine: Engine, stored_at: datetime, *readings: Reading) -> None:
    SqlReadingStore(engine, clock=lambda: stored_at).write(readings)


def hourly_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(HourlyRow).order_by(HourlyRow.sensor_id, HourlyRow.hour_ms))
        return [
            {k: v for k, v in row._mapping.items() if k != "rolled_at_ms"} for row in rows.all()
        ]


def ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def test_completed_hours_are_rolled_up_per_sensor_and_hour(engine: Engine) -> None:
    write(
        engine,
        H9 + timedelta(minutes=115),
        reading("A", H9 + timedelta(minutes=50), 10.0, 60.0),
        reading("A", H9 + timedelta(minutes=70), 20.0),
        reading("A", H9 + timedelta(minutes=110), 30.0, 70.0),
        reading("B", H9 + timedelta(minutes=90), 5.0),
        reading("A", H9 + timedelta(minutes=121), 99.0),  # the current hour at 11:05
    )
    rollup = SqlRollup(engine, POLICY)
    assert rollup.rollup(H9 + timedelta(minutes=125)) == 2  # 09:00 and 10:00, not 11:00
    rows = {(r["sensor_id"], r["hour_ms"]): r for r in hourly_rows(engine)}
    assert set(rows) == {("A", ms(H9)), ("A", ms(H9) + 3_600_000), ("B", ms(H9) + 3_600_000)}
    a10 = rows[("A", ms(H9) + 3_600_000)]
    assert (a10["readings"], a10["temperature_count"]) == (2, 2)
    assert (a10["temperature_mean"], a10["temperature_min"], a10["temperature_max"]) == (
        25.0,
        20.0,
        30.0,
    )
    assert (a10["humidity_mean"], a10["humidity_count"]) == (70.0, 1)
    assert (a10["co_mean"], a10["co_count"]) == (None, 0)
    assert (a10["shelter_code"], a10["zone"]) == ("SH-1", "z")
    a9 = rows[("A", ms(H9))]
    assert (a9["readings"], a9["temperature_mean"], a9["humidity_mean"]) == (1, 10.0, 60.0)

    # The 11:00 hour is rolled up once it has passed, found through its stored time (10:55,
    # after the mark of 10:50, which finds the other two hours again as well).
    assert rollup.rollup(H9 + timedelta(minutes=185)) == 3
    assert rollup.rollup(H9 + timedelta(minutes=190)) == 0
    assert rows_at(engine, "A", H9 + timedelta(hours=2))["temperature_mean"] == 99.0


def rows_at(engine: Engine, sensor: str, hour: datetime) -> dict[str, Any]:
    (row,) = [
        r for r in hourly_rows(engine) if (r["sensor_id"], r["hour_ms"]) == (sensor, ms(hour))
    ]
    return row


def test_rolling_up_again_gives_the_same_rows_and_late_readings_update_their_hour(
    engine: Engine,
) -> None:
    write(
        engine,
        H9 + timedelta(minutes=61),
        reading("A", H9 + timedelta(minutes=5), 10.0),
        reading("A", H9 + timedelta(minutes=55), 12.0),
    )
    rollup = SqlRollup(engine, POLICY)
    now = H9 + timedelta(minutes=65)
    assert rollup.rollup(now) == 1
    first = hourly_rows(engine)
    assert rollup.rollup(now) == 1  # stored 10:01, after the mark of 09:50: again
    assert hourly_rows(engine) == first
    with engine.begin() as conn:  # forget the mark: every hour is rebuilt
        conn.execute(update(RollupMarkRow).values(stored_ms=0))
    assert rollup.rollup(now) == 1
    assert hourly_rows(engine) == first

    # A reading of 09:00 replayed from the spool at 12:10 changes that hour at the next pass.
    write(engine, H9 + timedelta(minutes=190), reading("A", H9 + timedelta(minutes=30), 14.0))
    assert rollup.rollup(H9 + timedelta(minutes=195)) == 1
    row = rows_at(engine, "A", H9)
    assert (row["readings"], row["temperature_mean"], row["temperature_max"]) == (3, 12.0, 14.0)


def test_hourly_series_equals_the_raw_series_of_the_same_buckets(engine: Engine) -> None:
    start = H9 - timedelta(hours=9)  # 00:00
    readings = [
        reading(sensor, start + timedelta(minutes=7 * i), 10.0 + (i * 13 % 17), 50.0 + i % 5)
        for i in range(200)  # about 23 hours, every 7 minutes
        for sensor in ("A", "B")
    ]
    write(engine, start + timedelta(days=1), *readings)
    SqlRollup(engine, POLICY).rollup(start + timedelta(days=1, minutes=5))
    store = SqlReadingStore(engine)
    for agg in (Aggregate.MEAN, Aggregate.MIN, Aggregate.MAX, Aggregate.COUNT):
        for every_s in (3600, 6 * 3600, 86_400):
            query = SeriesQuery(
                "SH-1",
                Metric.TEMPERATURE,
                start,
                start + timedelta(days=1),
                every_s,
                agg,
                "UTC",
            )
            raw = store.series(query)
            hourly = store.series(SeriesQuery(**{**_fields(query), "resolution": "1h"}))
            assert [(p.sensor_id, p.ts) for p in hourly] == [(p.sensor_id, p.ts) for p in raw]
            for got, want in zip(hourly, raw, strict=True):
                assert got.value == pytest.approx(want.value), (agg, every_s, got.ts)


def _fields(query: SeriesQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in SeriesQuery.__slots__}


def test_the_purge_deletes_in_bounded_batches_only_what_is_past_retention_and_rolled_up(
    engine: Engine,
) -> None:
    old = H9 - timedelta(days=5)
    write(
        engine,
        old + timedelta(hours=1),
        *[reading("A", old + timedelta(minutes=i), float(i)) for i in range(7)],
    )
    write(engine, H9, reading("A", H9 - timedelta(hours=1), 1.0))  # within the raw period
    now = H9 + timedelta(minutes=5)
    rollup = SqlRollup(engine, POLICY, batch_size=3, max_batches=2)
    assert rollup.rollup(old + timedelta(minutes=65)) == 1
    assert rollup.rollup(now) == 1  # the old hour is past the raw period now: left alone
    # Stored late: old, but not rolled up yet, so it stays.
    write(engine, now, reading("A", old + timedelta(minutes=30), 30.0))

    raw, hourly, batches = rollup.purge(now)
    assert (raw, hourly, batches) == (6, 0, 3)  # two full batches of 3, bounded; hourly: 1
    raw, hourly, batches = rollup.purge(now)
    assert (raw, batches) == (1, 2)
    assert count(engine, ReadingRow) == 2  # the recent one and the late one
    store = SqlReadingStore(engine)
    # Completeness of the purged hour now comes from its rollup row.
    counts = store.hourly_counts("SH-1", old, old + timedelta(hours=1))
    assert counts == {("A", old): 1}  # raw readings of an hour, while any are left, win
    # 08:00 again (stored at 09:00, after the mark); the old hour, past the raw period, not.
    assert rollup.rollup(now + timedelta(hours=1)) == 1
    assert rows_at(engine, "A", old)["readings"] == 7
    rollup.purge(now + timedelta(days=4))  # the late reading's arrival is past it now too
    assert store.hourly_counts("SH-1", old, old + timedelta(hours=1)) == {("A", old): 7}

    # Past the hourly period, the rollup rows go too.
    assert rollup.purge(now + timedelta(days=40))[1] == 2
    assert count(engine, HourlyRow) == 0


def count(engine: Engine, table: type[ReadingRow | HourlyRow]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_resolution_is_carried_by_the_query() -> None:
    assert SeriesQuery("S", Metric.CO, H9, H9, 60, Aggregate.MEAN, "UTC").resolution is (
        Resolution.RAW
    )
