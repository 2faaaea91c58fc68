"""Alert evaluation cost: CPU per reading of :class:`telemetry.evaluation.AlertEvaluator` on a
steady fleet, and the time to write an alert storm, against a baseline copy of the project.

    .venv/bin/python bench/bench_evaluation.py [--readings 400000] [--sensors 2000]
        [--storm 1500] [--baseline DIR] [--repeat 3]

Each contender runs in a child process (``--child``) that imports the project from its own
directory, builds a migrated SQLite database in a temporary directory and feeds the evaluator
the same deterministic readings:

- steady: ``--readings`` readings of ``--sensors`` sensors in batches of 500 (the ingester's
  chunks), most of them normal, one sensor in ten damp (a humidity timer runs), one in fifty
  near a fire-risk level (alerts raise, move and clear); CPU seconds of ``evaluate`` only.
- storm: ``--storm`` sensors cross fire-risk level 5 in one batch; wall seconds of the flush
  that writes their alerts (the sink records events and writes nothing else). Target: every
  alert of a 1,500-sensor storm written and announced within 2 s.

Without ``--baseline`` only the working tree runs. With it (for example a ``git archive`` of
main unpacked in a temporary directory) both run, interleaved ``--repeat`` times, and the
ratios after/before are printed (best of the repeats for each).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 500


def _child(args: argparse.Namespace) -> dict[str, float]:
    """Runs inside the contender's directory (its packages first on sys.path)."""
    from sqlalchemy.orm import Session

    from api.db import build_engine, session_factory, upgrade
    from telemetry.evaluation import AlertEvaluator
    from telemetry.fire_risk import enrich
    from telemetry.ports import Placement
    from telemetry.readings import Reading

    class Directory:
        def __init__(self, placements: dict[str, Placement]) -> None:
            self.placements = placements

        def get(self, sensor_id: str) -> Placement | None:
            return self.placements.get(sensor_id)

    class CountingSink:
        def __init__(self) -> None:
            self.events = 0

        def on_event(self, session: Session, event: object) -> None:
            self.events += 1

    now = [datetime(2026, 6, 1, tzinfo=UTC)]
    mono = [1000.0]
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        sensors = max(args.sensors, args.storm)
        placements = {
            f"S{i:05d}": Placement(f"S{i:05d}", f"SH{i // 10:04d}", "黄浦区", "滤毒室", 10)
            for i in range(sensors)
        }
        sink = CountingSink()
        try:  # the evaluator announces through AlertTransitions; a baseline may predate it
            from telemetry.alert_transitions import AlertTransitions

            announcer: Any = AlertTransitions(sink)
        except ImportError:
            announcer = sink
        ev = AlertEvaluator(
            session_factory(engine),
            Directory(placements),
            announcer,
            clock=lambda: now[0],
            flush_interval_s=3600,
            monotonic=lambda: mono[0],
        )
        ev.run_once()  # load rules and state
        rng = random.Random(7)
        start = now[0]
        ids = list(placements)[: args.sensors]
        readings: list[Reading] = []
        for n in range(args.readings):
            sensor = ids[n % len(ids)]
            i = int(sensor[1:])
            ts = start + timedelta(seconds=10 * (n // len(ids)))
            humidity = 55.0 + rng.random() * 10
            temperature = 18.0 + rng.random() * 4
            if i % 10 == 1:
                humidity = 76.0 + rng.random() * 3  # damp: the humidity timer runs
            fire: float | None = None
            if i % 50 == 3:
                fire = rng.choice((10.0, 45.0, 65.0, 85.0))  # raise, move and clear
            readings.append(
                enrich(
                    Reading(
                        placements[sensor].shelter_code,
                        sensor,
                        ts,
                        temperature=temperature,
                        humidity=humidity,
                        fire_risk=fire,
                        district="黄浦区",
                        zone="滤毒室",
                    )
                )
            )
        batches = [readings[k : k + BATCH] for k in range(0, len(readings), BATCH)]
        cpu = 0.0
        for batch in batches:
            at = batch[-1].ts
            now[0] = at
            started = time.process_time()
            ev.evaluate(batch, at)
            cpu += time.process_time() - started
            ev.flush(live=False)  # written, but not timed: the steady figure is evaluation
        last = readings[-1].ts + timedelta(seconds=10)
        storm = [
            enrich(
                Reading(
                    placements[s].shelter_code,
                    s,
                    last,
                    temperature=56.0,
                    humidity=40.0,
                    district="黄浦区",
                    zone="滤毒室",
                )
            )
            for s in list(placements)[: args.storm]
        ]
        now[0] = last
        before = sink.events
        ev.evaluate(storm, last)
        started = time.perf_counter()
        ev.flush(live=False)
        storm_s = time.perf_counter() - started
        engine.dispose()
    return {
        "readings": float(len(readings)),
        "cpu_s": cpu,
        "us_per_reading": cpu / len(readings) * 1e6,
        "storm_events": float(sink.events - before),
        "storm_flush_s": storm_s,
    }


def _run(where: Path, args: argparse.Namespace) -> dict[str, float]:
    argv = [sys.executable, str(ROOT / "bench/bench_evaluation.py"), "--child"]
    argv += ["--readings", str(args.readings), "--sensors", str(args.sensors)]
    argv += ["--storm", str(args.storm)]
    env = {**os.environ, "PYTHONPATH": str(where)}
    out = subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"contender in {where} failed:\n{out.stderr}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readings", type=int, default=400_000)
    p.add_argument("--sensors", type=int, default=2000)
    p.add_argument("--storm", type=int, default=1500, help="sensors crossing at once")
    p.add_argument("--baseline", help="project copy to run as the baseline")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    contenders: list[tuple[str, Path]] = [("working tree", ROOT)]
    if args.baseline:
        contenders.append(("baseline", Path(args.baseline).resolve()))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in contenders}
    for _ in range(args.repeat):
        for name, where in contenders:
            r = _run(where, args)
            results[name].append(r)
            print(
                f"  [{name}] {r['us_per_reading']:.2f} µs/reading, storm of "
                f"{r['storm_events']:.0f} events flushed in {r['storm_flush_s']:.2f} s",
                flush=True,
            )
    best: dict[str, Any] = {
        name: {
            "us": min(r["us_per_reading"] for r in rs),
            "storm": min(r["storm_flush_s"] for r in rs),
            "events": rs[0]["storm_events"],
        }
        for name, rs in results.items()
    }
    print(f"\n{args.readings:,} readings of {args.sensors:,} sensors; storm of {args.storm:,}")
    print(f"{'':16}{'µs/reading':>12}{'readings/s':>12}{'storm s':>9}{'events':>8}")
    for name, b in best.items():
        rate = 1e6 / b["us"]
        print(f"{name:16}{b['us']:>12.2f}{rate:>12,.0f}{b['storm']:>9.2f}{b['events']:>8.0f}")
    if args.baseline:
        w, b = best["working tree"], best["baseline"]
        print(
            f"ratio after/before: evaluation CPU {w['us'] / b['us']:.2f}x, "
            f"storm flush {w['storm'] / b['storm']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
