"""Micro-benchmark of the ingester's InfluxDB encoding against influxdb-client's own.

Run: ``python bench/bench_line_protocol.py``. Encodes the same readings into one write body
with `telemetry.influx_store.InfluxStore.encode` (line protocol built by hand) and with
influxdb-client's `Point` serialisation (what a client-based writer would do), checks that
both give the same points, and prints readings per second and the ratio.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from influxdb_client import Point, WritePrecision

from telemetry.fire_risk import enrich
from telemetry.influx_store import InfluxStore
from telemetry.readings import Reading

READINGS = 100_000
REPEATS = 3
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def _readings(n: int) -> list[Reading]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        sensor = i % 1000
        base = Reading(
            f"SH-{sensor // 2:04d}",
            f"SH-{sensor // 2:04d}-S{sensor % 2}",
            START + timedelta(milliseconds=i),
            temperature=round(rng.uniform(5, 30), 2),
            humidity=round(rng.uniform(30, 90), 1),
            battery=round(rng.uniform(3.3, 4.2), 2),
            district="黄浦区",
            zone="滤毒室",
        )
        out.append(enrich(base))
    return out


def _with_points(readings: Sequence[Reading]) -> bytes:
    lines = []
    for r in readings:
        p = Point("shelter_env")
        for tag in ("district", "sensor_id", "shelter_code", "zone"):
            value = getattr(r, tag)
            if value:
                p.tag(tag.removesuffix("_id").removesuffix("_code"), value)
        for name in ("temperature", "humidity", "fire_risk", "co", "battery", "dew_point"):
            value = getattr(r, name)
            if value is not None:
                p.field(name, float(value))
        if r.fire_risk_version is not None:
            p.field("fire_risk_version", r.fire_risk_version)
        if r.smoke is not None:
            p.field("smoke", r.smoke)
        if r.water_leak is not None:
            p.field("water_leak", r.water_leak)
        # An integer: given the datetime, influxdb-client goes through a float and can land a
        # millisecond early (1780300800.002 s -> ...001 ms).
        p.time((r.ts - EPOCH) // ONE_MS, WritePrecision.MS)
        lines.append(p.to_line_protocol())
    return "\n".join(lines).encode()


def _best(work: Callable[[], bytes]) -> tuple[float, bytes]:
    best, body = float("inf"), b""
    for _ in range(REPEATS):
        start = time.perf_counter()
        body = work()
        best = min(best, time.perf_counter() - start)
    return best, body


def _points(body: bytes) -> set[tuple[str, frozenset[tuple[str, object]], int]]:
    """Each line as (series key, fields, timestamp): field order and the spelling of a float
    (``0`` or ``0.0``) may differ between encoders."""
    out = set()
    for line in body.decode().splitlines():
        key, fields, ts = line.rsplit(" ", 2)
        values: set[tuple[str, object]] = set()
        for field in fields.split(","):
            name, _, text = field.partition("=")
            quoted = text.startswith('"') or text in ("true", "false")
            values.add((name, text if quoted else float(text)))
        out.add((key, frozenset(values), int(ts)))
    return out


def main() -> None:
    readings = _readings(READINGS)
    store = InfluxStore("http://127.0.0.1:1", "", "org", "bucket")
    try:
        ours, body = _best(lambda: store.encode(readings))
        theirs, reference = _best(lambda: _with_points(readings))
    finally:
        store.close()
    assert _points(body) == _points(reference), "the two encodings differ"
    print(f"best of {REPEATS} runs, {READINGS:,} readings (6 fields and 4 tags each)")
    print(
        f"InfluxStore.encode   {READINGS / ours:>12,.0f} readings/s | "
        f"influxdb-client Point {READINGS / theirs:>12,.0f} readings/s | "
        f"ratio {theirs / ours:.2f}x faster"
    )


if __name__ == "__main__":
    main()
