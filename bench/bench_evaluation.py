"""Alert evaluation cost: CPU per reading of :class:`telemetry.evaluation.AlertEvaluator` on a
steady fleet; the time to write and announce an alert storm through the real outbox sink; and
the drain rate of a flood holding a storm against a quiet flood of the same size.

    .venv/bin/python bench/bench_evaluation.py [--parts steady,storm,drain]
        [--readings 400000] [--sensors 2000] [--storm 1500] [--flood-rounds 20]
        [--databases sqlite,postgres] [--baseline DIR] [--repeat 3]

Each part runs in a child process (``--child``) that imports the project from its own
directory and builds migrated databases of its own (SQLite in a temporary directory, or a
fresh PostgreSQL database on ``SHELTERWATCH_BENCH_PG_URL``'s server, dropped at the end), fed
the same deterministic readings:

- steady (SQLite): ``--readings`` readings of ``--sensors`` sensors in batches of 500 (the
  ingester's chunks), most of them normal, one sensor in ten damp (a humidity timer runs), one
  in fifty near a fire-risk level (alerts raise, move and clear); CPU seconds of ``evaluate``
  only, the sink counting events and writing nothing.
- storm (each of ``--databases``): ``--storm`` sensors (ten a shelter, each shelter with its
  manager) cross fire-risk level 5 in one batch; wall seconds from handing the stored batch to
  the evaluator until the transaction holding every alert, its audit entry, its outbox rows
  (the platform's message with its MQTT delivery, the manager's page) has committed. The real
  outbox sink hears the storm's events in one batch, and, as the same run's baseline, one
  event at a time (the sink's per-event path, on a database of its own). Target: a
  1,500-sensor storm written and announced within 2 s.
- drain (each of ``--databases``): a flood of ``--flood-rounds`` readings of each of the
  ``--storm`` sensors in batches of 500, fed as the ingester feeds the evaluator
  (``observe``, then ``run_once``); in the storm flood every sensor crosses fire-risk level 5 in
  its first reading and stays there, in the quiet flood nothing crosses. Readings per second
  of each, real outbox sink, and their ratio: the evaluator's own cost of a storm. The target
  (a storm flood drained within 10 % of a quiet one) is about the ingester's drain, with the
  evaluator on its own thread: ``bench/bench_ingest.py`` contender ``s`` against ``c``.

Without ``--baseline`` only the working tree runs. With it (for example a ``git archive`` of
main unpacked in a temporary directory) both run, interleaved ``--repeat`` times, and the
ratios after/before are printed (best of the repeats for each); a baseline whose sink hears
events one at a time has the per-event storm figure only.
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
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 500
PG_ADMIN_URL = os.environ.get(
    "SHELTERWATCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PARTS = ("steady", "storm", "drain")


def _steady(args: argparse.Namespace) -> dict[str, float]:
    """CPU per reading of a steady fleet (SQLite); runs inside the contender's directory."""
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

        def on_events(self, session: Session, events: Sequence[object]) -> None:
            self.events += len(events)

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
        engine.dispose()
    return {
        "readings": float(len(readings)),
        "cpu_s": cpu,
        "us_per_reading": cpu / len(readings) * 1e6,
    }


@contextmanager
def _database(kind: str, tmp: str) -> Iterator[Any]:
    """A fresh migrated engine: SQLite in ``tmp``, or a PostgreSQL database dropped after."""
    from sqlalchemy import create_engine, text

    from api.db import build_engine, upgrade

    name = f"swbench_storm_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        url = f"sqlite:///{tmp}/{name}.db"
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = build_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if kind != "sqlite":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


class _Fleet:
    """``n`` sensors, ten a shelter, each shelter with its manager, one district officer and
    the city office, registered in ``engine``; an evaluator on the real outbox sink."""

    def __init__(self, engine: Any, n: int, now: datetime) -> None:
        from api.db import session_factory
        from inspection.models import Role, Shelter, User
        from telemetry.ports import Placement

        self.sessions = session_factory(engine)
        self.placements = {
            f"BS{i // 10:04d}-S{i % 10}": Placement(
                f"BS{i // 10:04d}-S{i % 10}", f"BS{i // 10:04d}", "黄浦区", "滤毒室", 10
            )
            for i in range(n)
        }
        with self.sessions.begin() as s:
            s.add(
                User(
                    username="officer",
                    role=Role.DISTRICT_OFFICER,
                    district="黄浦区",
                    created_at=now,
                )
            )
            s.add(User(username="office", role=Role.ADMIN, created_at=now))
            for code in sorted({p.shelter_code for p in self.placements.values()}):
                manager = User(username=f"m-{code}", role=Role.MANAGER, created_at=now)
                s.add(manager)
                s.flush()
                s.add(
                    Shelter(
                        code=code,
                        name=f"{code}工程",
                        district="黄浦区",
                        manager_id=manager.id,
                        created_at=now,
                        updated_at=now,
                    )
                )

    def get(self, sensor_id: str) -> Any:
        return self.placements.get(sensor_id)

    def sink(self, clock: Callable[[], datetime]) -> tuple[Any, Any]:
        """The outbox sink as ``shelterwatch ingest`` builds it, with its platform feed (never
        started: staged messages are kept, not published)."""
        from api.alerting.sink import build_sink
        from api.notify.channels import MqttChannel
        from api.notify.platform_feed import PlatformFeed
        from telemetry.mqtt import BrokerAddress

        feed = PlatformFeed(
            self.sessions,
            MqttChannel(BrokerAddress("127.0.0.1", 1), client_id="bench"),
            clock=clock,
            max_attempts=3,
        )
        sink = build_sink(
            clock=clock,
            signing_key="bench-key-bench-key-bench-key-bench",
            base_url="http://sw.bench",
            link_hours=24,
            warning_hours=12,
            timezone="Asia/Shanghai",
            feed=feed,
        )
        return sink, feed

    def evaluator(
        self, sink: Any, feed: Any, clock: Callable[[], datetime], monotonic: Callable[[], float]
    ) -> Any:
        from telemetry.alert_transitions import AlertTransitions
        from telemetry.evaluation import AlertEvaluator

        return AlertEvaluator(
            self.sessions,
            self,
            AlertTransitions(sink),
            clock=clock,
            monotonic=monotonic,
            on_events=feed.commit,
            on_rollback=feed.discard,
        )

    def reading(self, sensor_id: str, ts: datetime, *, hot: bool, rng: random.Random) -> Any:
        from telemetry.fire_risk import enrich
        from telemetry.readings import Reading

        p = self.placements[sensor_id]
        if hot:  # fire-risk level 5: the critical tier holds at once
            temperature, humidity = 56.0 + rng.random(), 40.0
        else:
            temperature, humidity = 18.0 + rng.random() * 4, 55.0 + rng.random() * 10
        return enrich(
            Reading(
                p.shelter_code,
                sensor_id,
                ts,
                temperature=temperature,
                humidity=humidity,
                district=p.district,
                zone=p.zone,
            )
        )

    def outbox(self) -> tuple[int, int]:
        """Notifications and deliveries written."""
        from sqlalchemy import func, select

        from inspection.models import Delivery, Notification

        with self.sessions() as s:
            return (
                s.scalar(select(func.count()).select_from(Notification)) or 0,
                s.scalar(select(func.count()).select_from(Delivery)) or 0,
            )


class _OneByOne:
    """The outbox sink hearing a batch one event at a time: the per-event path."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def on_events(self, session: Any, events: Sequence[Any]) -> None:
        for event in events:
            self.sink.on_events(session, [event])


def _storm_once(kind: str, n: int, *, one_by_one: bool) -> dict[str, float]:
    """One storm on a fresh database: seconds from the stored batch handed to the evaluator
    to its transaction committed, and what it wrote."""
    now = [datetime(2026, 6, 1, tzinfo=UTC)]
    mono = [1000.0]
    with tempfile.TemporaryDirectory() as tmp, _database(kind, tmp) as engine:
        fleet = _Fleet(engine, n, now[0])
        sink, feed = fleet.sink(lambda: now[0])
        if one_by_one and hasattr(sink, "on_events"):
            sink = _OneByOne(sink)
        ev = fleet.evaluator(sink, feed, lambda: now[0], lambda: mono[0])
        rng = random.Random(7)
        ev.observe(
            [fleet.reading(s, now[0], hot=False, rng=rng) for s in fleet.placements], now=now[0]
        )
        ev.run_once()  # state and rules loaded, live rows written
        now[0] += timedelta(seconds=10)
        mono[0] += 10.0  # the storm's flush writes the live values too
        storm = [fleet.reading(s, now[0], hot=True, rng=rng) for s in fleet.placements]
        started = time.perf_counter()
        ev.observe(storm, now=now[0])
        ev.run_once()
        elapsed = time.perf_counter() - started
        if ev.failures:
            raise SystemExit("the storm's flush failed")
        notifications, deliveries = fleet.outbox()
    return {"s": elapsed, "notifications": notifications, "deliveries": deliveries}


def _drain_once(kind: str, n: int, rounds: int, *, storm: bool) -> dict[str, float]:
    """A flood of ``rounds`` readings of ``n`` sensors drained on a fresh database: readings
    per second, and the outbox rows it wrote."""
    now = [datetime(2026, 6, 1, tzinfo=UTC)]
    with tempfile.TemporaryDirectory() as tmp, _database(kind, tmp) as engine:
        fleet = _Fleet(engine, n, now[0])
        sink, feed = fleet.sink(lambda: now[0])
        ev = fleet.evaluator(sink, feed, lambda: now[0], time.monotonic)
        rng = random.Random(7)
        ev.observe(
            [fleet.reading(s, now[0], hot=False, rng=rng) for s in fleet.placements], now=now[0]
        )
        ev.run_once()  # state and rules loaded, live rows written
        start = now[0] + timedelta(seconds=10)
        flood = [
            fleet.reading(s, start + timedelta(seconds=10 * r), hot=storm, rng=rng)
            for r in range(rounds)
            for s in fleet.placements
        ]
        batches = [flood[k : k + BATCH] for k in range(0, len(flood), BATCH)]
        started = time.perf_counter()
        for batch in batches:
            now[0] = batch[-1].ts
            ev.observe(batch, now=now[0])
            ev.run_once()
        ev.flush()
        elapsed = time.perf_counter() - started
        if ev.failures:
            raise SystemExit("a flush of the flood failed")
        notifications, _deliveries = fleet.outbox()
    return {"rate": len(flood) / elapsed, "s": elapsed, "notifications": notifications}


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """Runs inside the contender's directory (its packages first on sys.path)."""
    if args.child == "steady":
        return _steady(args)
    if args.child == "storm":
        out: dict[str, Any] = {}
        from api.alerting.sink import OutboxAlertSink

        batched = hasattr(OutboxAlertSink, "on_events")
        for kind in args.databases.split(","):
            per_event = _storm_once(kind, args.storm, one_by_one=True)
            out[kind] = {"per_event": per_event}
            if batched:
                out[kind]["batch"] = _storm_once(kind, args.storm, one_by_one=False)
        return out
    out = {}
    for kind in args.databases.split(","):
        out[kind] = {
            "quiet": _drain_once(kind, args.storm, args.flood_rounds, storm=False),
            "storm": _drain_once(kind, args.storm, args.flood_rounds, storm=True),
        }
    return out


def _run(where: Path, part: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = [sys.executable, str(ROOT / "bench/bench_evaluation.py"), "--child", part]
    argv += ["--readings", str(args.readings), "--sensors", str(args.sensors)]
    argv += ["--storm", str(args.storm), "--flood-rounds", str(args.flood_rounds)]
    argv += ["--databases", args.databases]
    env = {**os.environ, "PYTHONPATH": str(where)}
    out = subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"contender in {where} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default=",".join(PARTS), help="steady, storm, drain")
    p.add_argument("--readings", type=int, default=400_000)
    p.add_argument("--sensors", type=int, default=2000)
    p.add_argument("--storm", type=int, default=1500, help="sensors crossing at once")
    p.add_argument("--flood-rounds", type=int, default=20, help="readings a sensor in a flood")
    p.add_argument("--databases", default="sqlite,postgres")
    p.add_argument("--baseline", help="project copy to run as the baseline")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", choices=PARTS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    parts = [part for part in args.parts.split(",") if part]
    kinds = args.databases.split(",")
    contenders: list[tuple[str, Path]] = [("working tree", ROOT)]
    if args.baseline:
        contenders.append(("baseline", Path(args.baseline).resolve()))
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.repeat):
        for part in parts:
            for name, where in contenders:
                r = _run(where, part, args)
                results.setdefault((name, part), []).append(r)
                print(f"  [{name}] {part}: {_line(part, r, kinds)}", flush=True)
    print(
        f"\nbest of {args.repeat}; steady: {args.readings:,} readings of {args.sensors:,} "
        f"sensors; storm of {args.storm:,}; floods of {args.storm * args.flood_rounds:,}"
    )
    best: dict[str, dict[str, float]] = {}
    for (name, part), rs in results.items():
        b = best.setdefault(name, {})
        if part == "steady":
            b["us"] = min(r["us_per_reading"] for r in rs)
            print(f"{name:14} steady  {b['us']:.2f} µs/reading ({1e6 / b['us']:,.0f} readings/s)")
        elif part == "storm":
            for kind in kinds:
                for path in ("batch", "per_event"):
                    if path in rs[0][kind]:
                        b[f"storm {kind} {path}"] = min(r[kind][path]["s"] for r in rs)
                one, many = b[f"storm {kind} per_event"], b.get(f"storm {kind} batch")
                row = rs[0][kind].get("batch", rs[0][kind]["per_event"])
                print(
                    f"{name:14} storm   {kind:9} batch {_s(many)}  per-event {one:.2f} s  "
                    f"batch/per-event {_ratio(many, one)}  "
                    f"({row['notifications']:,} notifications, {row['deliveries']:,} deliveries)"
                )
        else:
            for kind in kinds:
                quiet = max(r[kind]["quiet"]["rate"] for r in rs)
                storm = max(r[kind]["storm"]["rate"] for r in rs)
                b[f"drain {kind} quiet"], b[f"drain {kind} storm"] = quiet, storm
                print(
                    f"{name:14} drain   {kind:9} quiet {quiet:,.0f} readings/s  "
                    f"storm {storm:,.0f} readings/s  storm/quiet {storm / quiet:.2f}"
                )
    if args.baseline:
        w, b = best["working tree"], best["baseline"]
        shared = [k for k in w if k in b]
        print("ratio after/before: " + ", ".join(f"{k} {w[k] / b[k]:.2f}x" for k in shared))
    return 0


def _line(part: str, r: dict[str, Any], kinds: list[str]) -> str:
    if part == "steady":
        return f"{r['us_per_reading']:.2f} µs/reading"
    if part == "storm":
        return "; ".join(
            f"{kind} " + ", ".join(f"{path} {v['s']:.2f} s" for path, v in r[kind].items())
            for kind in kinds
        )
    return "; ".join(
        f"{kind} quiet {r[kind]['quiet']['rate']:,.0f}/s storm {r[kind]['storm']['rate']:,.0f}/s"
        for kind in kinds
    )


def _s(seconds: float | None) -> str:
    return "   –  " if seconds is None else f"{seconds:.2f} s"


def _ratio(a: float | None, b: float) -> str:
    return "–" if a is None else f"{a / b:.2f}"


if __name__ == "__main__":
    sys.exit(main())
