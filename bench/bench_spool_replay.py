"""Replay of the durable spool after an outage: is it linear in the spool's size, and faster
than the store it refills?

Run: ``python bench/bench_spool_replay.py [--readings 1000000]``. The spool is filled the way
an outage at fleet rate fills it, one reading per frame, by writing the frames straight into
its segments (the frames :func:`telemetry.spool.encode_frame` makes, without an fsync per
frame, which only the filling would cost). It is then drained with ``peek``/``commit`` in
chunks of the ingester's batch size, as the replay thread does. Two figures, each against its
baseline in the same run:

* linearity: readings/s replaying the full spool against readings/s replaying a tenth of it
  (a ratio near 1.0 means a step costs the same however much is left behind it);
* headroom: readings/s replaying against readings/s the SQL telemetry store (the embedded
  default's live store) writes the same readings, in the same batches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

import telemetry.sql_models
from telemetry.readings import Reading
from telemetry.spool import SEGMENT_BYTES, Spool, encode_frame
from telemetry.sql_store import SqlReadingStore

BATCH = 5_000
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def reading(i: int) -> Reading:
    return Reading(
        f"SH-{i % 1500:04d}",
        f"SH-{i % 1500:04d}-S1",
        T0 + timedelta(seconds=i // 1500 * 10),
        temperature=20.0 + (i % 97) / 10,
        humidity=55.0 + (i % 31) / 10,
        fire_risk=12.0,
        fire_risk_version="fri-1",
        smoke=False,
        district="黄浦区",
        zone="滤毒室",
    )


def fill(directory: Path, count: int) -> None:
    """Segments of one-reading frames, rotated at the spool's segment size."""
    directory.mkdir(parents=True)
    segment, size = 1, 0
    out = (directory / f"spool-{segment:012d}.log").open("wb")
    try:
        for i in range(count):
            frame = encode_frame([reading(i)])
            if size >= SEGMENT_BYTES:
                out.close()
                segment, size = segment + 1, 0
                out = (directory / f"spool-{segment:012d}.log").open("wb")
            out.write(frame)
            size += len(frame)
    finally:
        out.close()


def replay(directory: Path, count: int) -> float:
    """Readings per second draining the spool as the replay thread does."""
    spool = Spool(directory, max_bytes=1 << 40)
    assert spool.depth == count, (spool.depth, count)
    started = time.perf_counter()
    seen = 0
    while (item := spool.peek(BATCH)) is not None:
        frame, pos = item
        seen += len(frame.readings)
        spool.commit(pos, frame)
    elapsed = time.perf_counter() - started
    assert seen == count, (seen, count)
    return count / elapsed


def store_rate(directory: Path, count: int) -> float:
    """Readings per second the SQL telemetry store (SQLite) writes, in the same batches."""
    engine = create_engine(f"sqlite:///{directory / 'store.db'}")
    telemetry.sql_models.Base.metadata.create_all(engine)
    store = SqlReadingStore(engine)
    batches = [
        [reading(i) for i in range(s, min(s + BATCH, count))] for s in range(0, count, BATCH)
    ]
    started = time.perf_counter()
    for batch in batches:
        store.write(batch)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readings", type=int, default=1_000_000)
    args = p.parse_args()
    full, tenth = args.readings, args.readings // 10
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fill(root / "small", tenth)
        fill(root / "full", full)
        small_rate = replay(root / "small", tenth)
        full_rate = replay(root / "full", full)
        sql_rate = store_rate(root, min(full, 200_000))
    print(f"spool replay, {tenth:>9,} readings: {small_rate:>10,.0f} readings/s")
    print(f"spool replay, {full:>9,} readings: {full_rate:>10,.0f} readings/s")
    print(f"linearity (full / tenth):          {full_rate / small_rate:>10.2f}")
    print(f"SQL store write (SQLite):         {sql_rate:>10,.0f} readings/s")
    print(f"headroom (replay / store write):   {full_rate / sql_rate:>10.2f}")


if __name__ == "__main__":
    main()
