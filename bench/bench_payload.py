"""Micro-benchmark of `telemetry.payload.parse_payload` against a bare `json.loads`.

Run: ``python bench/bench_payload.py``. Prints readings per second for single-reading and
batch payloads, and the ratio of parse time to bare JSON-decoding time of the same bytes,
i.e. what validation and building `Reading` objects cost on top of decoding.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from telemetry.payload import parse_payload

SINGLES = 200_000
BATCHES = 2_000
BATCH_SIZE = 100
REPEATS = 3
TOPIC = "shelters/SH-0001/sensor-07/telemetry"
RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RECEIVED_MS = int(RECEIVED.timestamp() * 1000)


def _element(rng: random.Random, *, iso: bool) -> dict[str, object]:
    offset_ms = rng.randrange(0, 600_000)
    ts: object = RECEIVED_MS - offset_ms
    if iso:
        ts = datetime.fromtimestamp((RECEIVED_MS - offset_ms) / 1000, UTC).isoformat()
    return {
        "ts": ts,
        "temperature": round(rng.uniform(5, 30), 2),
        "humidity": round(rng.uniform(30, 90), 1),
        "co": round(rng.uniform(0, 20), 1),
        "battery": round(rng.uniform(3.3, 4.2), 2),
        "smoke": False,
    }


def _best_seconds(work: Callable[[], int], expected: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        produced = work()
        best = min(best, time.perf_counter() - start)
        assert produced == expected, (produced, expected)
    return best


def _run(label: str, payloads: Sequence[bytes], readings: int) -> None:
    def parse() -> int:
        return sum(len(parse_payload(TOPIC, p, RECEIVED).readings) for p in payloads)

    def bare() -> int:
        return sum(len(d) if isinstance(d, list) else 1 for d in map(json.loads, payloads))

    parse_s = _best_seconds(parse, readings)
    bare_s = _best_seconds(bare, readings)
    print(
        f"{label:<28} parse {readings / parse_s:>12,.0f} readings/s"
        f" | json.loads {readings / bare_s:>12,.0f} readings/s"
        f" | ratio {parse_s / bare_s:5.2f}"
    )


def main() -> None:
    rng = random.Random(20250601)
    singles = [json.dumps(_element(rng, iso=False)).encode() for _ in range(SINGLES)]
    singles_iso = [json.dumps(_element(rng, iso=True)).encode() for _ in range(SINGLES)]
    batches = [
        json.dumps([_element(rng, iso=False) for _ in range(BATCH_SIZE)]).encode()
        for _ in range(BATCHES)
    ]
    print(f"best of {REPEATS} runs; each payload parsed with received_at fixed")
    _run(f"{SINGLES:,} single, epoch ms", singles, SINGLES)
    _run(f"{SINGLES:,} single, RFC 3339", singles_iso, SINGLES)
    _run(f"{BATCHES:,} batches x {BATCH_SIZE}", batches, BATCHES * BATCH_SIZE)


if __name__ == "__main__":
    main()
