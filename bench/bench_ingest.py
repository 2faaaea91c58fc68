"""End-to-end ingest throughput: drain a backlog of N readings queued at the broker.

Run: ``python bench/bench_ingest.py [--readings N | --quick] [--only abcde]``.
Needs PostgreSQL (127.0.0.1:5432), InfluxDB behind the nginx write rewrite (127.0.0.1:8087)
and the ``mosquitto`` binary; starts its own Mosquitto on a free port whose configuration
lets a backlog queue (the system broker keeps only 1,000 messages per offline client).

For each contender: make its persistent session(s), publish N readings at QoS 1 while it is
offline (not timed), start it, and time the drain from its MQTT connection until all N are
counted in InfluxDB (the bare subscriber stores nothing: it reports its own message count).
CPU time (utime + stime) and peak RSS (VmHWM) come from /proc for the contender's process
tree; CPU counts from the connection on, so interpreter start-up and imports are left out.
Mosquitto and InfluxDB run on the same two cores; their CPU seconds are shown beside.

Contenders, measured in the same run:
    m  ``mosquitto_sub`` (C, libmosquitto) resuming the persistent session (``-c -i ID -q 1``),
       one short line per message counted here: the broker's own delivery ceiling
    i  InfluxDB alone: the same readings as line protocol (encoded before timing, as the
       ingester encodes them, 5,000 a body), POSTed by 3 writers straight to influxd's
       ``/write`` (no nginx, no MQTT): the store's ceiling
    a  bare paho subscriber, acknowledges on receipt, counts only (the ceiling of Python)
    b  naive paho + influxdb-client batching writer (acknowledges before storing)
    c  ``shelterwatch ingest``, one process (acknowledges after storage)
    d  two ``shelterwatch ingest`` processes on a shared subscription
    e  ``shelterwatch ingest`` with gateway batches of 100 readings per message
    p  ``shelterwatch ingest`` with its MQTT client on paho's public API only, tuned as Home
       Assistant tunes paho (``bench/public_ingest.py``): same intake, batches, store and
       in-order acknowledgement after storage; only the MQTT client layer differs from c
    q  as p, reading on while the socket holds data (up to 500 packets per readable event)
    s  as c, an alert storm in the flood: the newest reading of every sensor (the first
       delivered) is at fire-risk level 5, all in one second, so every sensor raises a
       critical alert, written with its outbox rows while the rest of the flood drains; the
       same N as c, whose flood crosses nothing. s/c is the storm's cost to the drain
       (target >= 0.9). Before c and s the alerts and the outbox are emptied, so each run
       starts with none holding.
With ``--baseline DIR`` (a copy of the project's packages before a change) c and e are also
run from DIR, as c0 and e0, for a before/after comparison in one run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import harness
import httpx
from harness import ROOT, Resources, Watched

DESCRIPTIONS = {
    "m": "mosquitto_sub (C), counts lines (ceiling)",
    "i": "influxd /write, line protocol (ceiling)",
    "a": "bare paho subscriber (ceiling)",
    "b": "naive paho + influxdb-client batching",
    "c": "shelterwatch ingest",
    "d": "2 x shelterwatch ingest, shared sub",
    "e": "shelterwatch ingest, 100 rdg/msg",
    "p": "ingest, paho public API (HA tuning)",
    "q": "ingest, paho public API, read bursts",
    "s": "shelterwatch ingest, alert storm",
}
PUBLIC_ARGS = {"p": [], "q": ["--burst"]}
"""Arguments of ``bench/public_ingest.py`` before the ``ingest`` command, per contender."""
INGEST_MARKER = b"connected to MQTT"


@dataclass
class Launch:
    client_id: str
    topic: str
    argv: list[str]
    marker: bytes
    env: dict[str, str] | None = None
    cwd: Path = ROOT
    counts_lines: bool = False
    """Prints a line per message (no ``done``): done once ``readings`` lines are counted."""


@dataclass
class Result:
    key: str
    readings: int
    seconds: float
    cpu_s: float
    peak_rss_mb: float
    startup_s: float
    broker_cpu_s: float
    influx_cpu_s: float
    other_cpu_s: float
    sys_cpu_s: float = 0.0
    start_rss_mb: float = 0.0
    """Peak RSS at the moment of connection, before the drain (imports and start-up)."""

    @property
    def rate(self) -> float:
        return self.readings / self.seconds

    @property
    def cores_busy(self) -> float:
        """The machine's CPU in use during the drain (contender, broker, InfluxDB, the rest);
        2.0 is both cores saturated."""
        used = self.cpu_s + self.broker_cpu_s + self.influx_cpu_s + self.other_cpu_s
        return used / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.readings * 1e6


def wait_drained(
    key: str,
    watched: Sequence[Watched],
    readings: int,
    influx_db: str | None,
    done_at: list[float],
) -> float:
    """perf_counter time at which InfluxDB has accepted all readings (or, without a database,
    at which the bare subscriber said ``done``). Watched through InfluxDB's write statistics,
    which cost it nothing; the caller then counts the stored readings once."""
    deadline = time.monotonic() + max(120.0, readings / 1000)
    last, last_change = -1, time.monotonic()
    while True:
        if influx_db is None:
            if done_at:
                return done_at[0]
            count = -1
        else:
            count = harness.influx_points_written(influx_db)
            if count >= readings:
                return time.perf_counter()
        now = time.monotonic()
        if count != last:
            last, last_change = count, now
        for w in watched:
            if w.proc.poll() is not None:
                raise RuntimeError(f"[{key}] contender exited; log tail:\n{w.tail()}")
        if now > deadline or (influx_db is not None and now - last_change > 30):
            raise RuntimeError(f"[{key}] drain stalled at {count:,} of {readings:,}")
        time.sleep(0.05)


def _line_counter(n: int, done_at: list[float]) -> Callable[[bytes], None]:
    """Counts a contender's lines, one per message; notes the time of the ``n``-th."""
    seen = [0]

    def count(_line: bytes) -> None:
        seen[0] += 1
        if seen[0] == n:
            done_at.append(time.perf_counter())

    return count


def drain(
    res: Resources,
    key: str,
    launches: Sequence[Launch],
    messages: Sequence[tuple[str, bytes]],
    readings: int,
    influx_db: str | None,
    profile: Path | None = None,
    quiet_s: float = 0,
) -> Result:
    broker = res.broker
    assert broker is not None
    for launch in launches:
        harness.create_session(broker.port, launch.client_id, launch.topic)
    published = harness.publish_backlog(broker.port, messages)
    if quiet_s > 0:
        busy = harness.wait_for_quiet(quiet_s)
        print(f"  [{key}] machine busy {busy:.2f} cores before the drain", flush=True)
    print(f"  [{key}] {len(messages):,} messages queued in {published:.1f}s; draining", flush=True)
    influx_pids = harness.pids_named("influxd")
    broker_cpu0 = harness.cpu_seconds([broker.pid])
    influx_cpu0 = harness.cpu_seconds(influx_pids)
    spawned = time.perf_counter()
    watched = []
    done_at: list[float] = []
    for i, launch in enumerate(launches):
        log = res.workdir / f"{key}-{i}.log"
        w = Watched(res.spawn(launch.argv, launch.env, launch.cwd), log, launch.marker)
        if influx_db is None and launch.counts_lines:
            w.on_line(_line_counter(readings, done_at))
        elif influx_db is None:
            w.on_line(lambda line: done_at.append(time.perf_counter()) if b"done" in line else None)
        watched.append(w)
    for w in watched:
        if not w.marked.wait(60):
            raise RuntimeError(f"[{key}] no connection within 60 s; log tail:\n{w.tail()}")
    start = min(w.marked_at for w in watched)
    system_cpu0 = harness.system_cpu_seconds()
    profilers = (
        []
        if profile is None
        else [
            subprocess.Popen(
                [
                    str(Path(harness.PYTHON).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(w.proc.pid),
                    "--threads",
                    "--idle",
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(profile / f"{key}-{i}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i, w in enumerate(watched)
        ]
    )
    end = wait_drained(key, watched, readings, influx_db, done_at)
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(30)
    trees = [w.tree() for w in watched]
    cpu = sum(harness.cpu_seconds(t) - w.cpu_at_mark for t, w in zip(trees, watched, strict=True))
    system = sum(
        harness.cpu_split(t)[1] - w.sys_at_mark for t, w in zip(trees, watched, strict=True)
    )
    rss = sum(harness.peak_rss_mb(t) for t in trees)
    broker_cpu = harness.cpu_seconds([broker.pid]) - broker_cpu0
    influx_cpu = harness.cpu_seconds(influx_pids) - influx_cpu0
    if sorted(harness.pids_named("influxd")) != sorted(influx_pids):
        influx_cpu = math.nan  # restarted meanwhile (someone's outage test): unknown
    # Everything else the machine did meanwhile (other users' tests, say): a large figure
    # flags a noisy measurement.
    other = harness.system_cpu_seconds() - system_cpu0 - cpu - broker_cpu - influx_cpu
    for w in watched:
        harness.stop_process(w.proc)
    for launch in launches:
        harness.clear_session(broker.port, launch.client_id)
    if influx_db is not None:
        stored = harness.influx_count(influx_db)
        if stored != readings:
            raise RuntimeError(f"[{key}] {stored:,} readings stored, expected {readings:,}")
    return Result(
        key,
        readings,
        end - start,
        cpu,
        rss,
        start - spawned,
        broker_cpu,
        influx_cpu,
        other,
        system,
        sum(w.rss_at_mark for w in watched),
    )


def line_protocol_bodies(
    messages: Sequence[tuple[str, bytes]], sensors: Sequence[tuple[str, str]], per_body: int
) -> list[bytes]:
    """The write bodies the ingester sends for these one-reading messages: placed as the
    register places them (district, zone), enriched (dew point, fire-risk index) and encoded
    by the store's own encoder."""
    from datetime import UTC, datetime

    from telemetry.fire_risk import enrich
    from telemetry.influx_store import to_line
    from telemetry.readings import Reading

    zones = {sensor: f"zone {sensor.rsplit('-S', 1)[1]}" for _, sensor in sensors}
    lines = []
    for topic, payload in messages:
        _, shelter, sensor, _ = topic.split("/")
        body = json.loads(payload)
        reading = Reading(
            shelter,
            sensor,
            datetime.fromtimestamp(body["ts"] / 1000, UTC),
            temperature=body["temperature"],
            humidity=body["humidity"],
            battery=body["battery"],
            district="Bench",
            zone=zones[sensor],
        )
        lines.append(to_line(enrich(reading)))
    return ["\n".join(lines[i : i + per_body]).encode() for i in range(0, len(lines), per_body)]


def influx_write(
    key: str, bodies: Sequence[bytes], readings: int, db: str, writers: int = 3
) -> Result:
    """Time POSTs of ready line-protocol bodies straight to influxd, ``writers`` at once."""
    influx_pids = harness.pids_named("influxd")
    todo = list(enumerate(bodies))
    lock = threading.Lock()
    errors: list[str] = []

    def writer() -> None:
        with httpx.Client(base_url=harness.INFLUXD_URL, timeout=60) as client:
            while True:
                with lock:
                    if not todo or errors:
                        return
                    _, body = todo.pop(0)
                r = client.post("/write", params={"db": db, "precision": "ms"}, content=body)
                if r.status_code != 204:
                    with lock:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    own_cpu0 = harness.cpu_seconds([os.getpid()])
    influx_cpu0 = harness.cpu_seconds(influx_pids)
    system_cpu0 = harness.system_cpu_seconds()
    start = time.perf_counter()
    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.perf_counter()
    if errors:
        raise RuntimeError(f"[{key}] influxd refused a write: {errors[0]}")
    own = harness.cpu_seconds([os.getpid()]) - own_cpu0
    influx_cpu = harness.cpu_seconds(influx_pids) - influx_cpu0
    other = harness.system_cpu_seconds() - system_cpu0 - own - influx_cpu
    stored = harness.influx_count(db)
    if stored != readings:
        raise RuntimeError(f"[{key}] {stored:,} readings stored, expected {readings:,}")
    # The contender's own CPU is the HTTP posting (in this process); InfluxDB's is beside.
    return Result(key, readings, end - start, own, 0.0, 0.0, 0.0, influx_cpu, other)


def ingest_launch(
    res: Resources,
    pg_url: str,
    influx_db: str,
    extra: dict[str, str],
    cwd: Path,
    shared_group: str | None = None,
    public: list[str] | None = None,
) -> Launch:
    assert res.broker is not None
    client_id = f"shelterwatch-bench-{uuid.uuid4().hex[:8]}"
    env_extra = dict(extra)
    topic = harness.TOPIC_FILTER
    if shared_group:
        env_extra["SHELTERWATCH_MQTT_SHARED_GROUP"] = shared_group
        topic = f"$share/{shared_group}/{topic}"
    env = harness.ingester_env(
        pg_url=pg_url,
        broker_port=res.broker.port,
        client_id=client_id,
        influx_db=influx_db,
        workdir=res.workdir,
        extra=env_extra,
    )
    argv = [harness.PYTHON, "-m", "api.processes.cli"]
    if public is not None:
        argv = [harness.PYTHON, str(ROOT / "bench/public_ingest.py"), *public]
    argv += ["ingest", "--port", str(harness.free_port())]
    return Launch(client_id, topic, argv, INGEST_MARKER, env, cwd)


def run(args: argparse.Namespace, res: Resources, results: list[Result]) -> None:
    n: int = args.readings
    extra = dict(kv.split("=", 1) for kv in args.ingest_env)
    broker = res.start_broker()
    pg_url, sensors = res.pg_fleet(args.sensors)
    print(f"broker on port {broker.port}; {len(sensors):,} sensors registered; N = {n:,}")
    singles = harness.single_messages(sensors, n)
    storm = storm_messages(singles, len(sensors))
    batches = harness.batch_messages(sensors, n, args.per_message)
    keys = list(args.only)
    if args.baseline:
        keys += [k + "0" for k in args.only if k in "ce"]
    keys *= args.repeat  # interleaved, so that a noisy minute hits every contender alike
    for i, key in enumerate(keys):
        kind, cwd = key[0], (Path(args.baseline) if key.endswith("0") else ROOT)
        if kind == "m":
            client_id = f"bench-csub-{uuid.uuid4().hex[:8]}"
            argv = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-V", "mqttv5"]
            argv += ["-c", "-i", client_id, "-q", "1", "-x", str(harness.SESSION_EXPIRY_S)]
            argv += ["-t", harness.TOPIC_FILTER, "-F", "m"]
            # Marked at its first message: mosquitto_sub says nothing on connecting.
            launch = Launch(client_id, harness.TOPIC_FILTER, argv, b"m", counts_lines=True)
            results.append(drain(res, key, [launch], singles, n, None, None, args.wait_quiet))
            continue
        if kind == "i":
            db = res.influx_db(f"{key}_{i}")
            bodies = line_protocol_bodies(singles, sensors, 5000)
            results.append(influx_write(key, bodies, n, db))
            print(f"  [{key}] {results[-1].rate:,.0f} readings/s", flush=True)
            continue
        if kind == "a":
            client_id = f"bench-bare-{uuid.uuid4().hex[:8]}"
            argv = [harness.PYTHON, str(ROOT / "bench/bare_subscriber.py")]
            argv += ["--port", str(broker.port), "--client-id", client_id, "--count", str(n)]
            launch = Launch(client_id, harness.TOPIC_FILTER, argv, b"connected")
            results.append(drain(res, key, [launch], singles, n, None, None, args.wait_quiet))
            continue
        db = res.influx_db(f"{key}_{i}")
        if kind == "b":
            client_id = f"bench-naive-{uuid.uuid4().hex[:8]}"
            argv = [harness.PYTHON, str(ROOT / "bench/naive_ingest.py")]
            argv += ["--port", str(broker.port), "--client-id", client_id, "--bucket", db]
            argv += ["--influx-url", harness.INFLUX_URL]
            launches = [Launch(client_id, harness.TOPIC_FILTER, argv, b"connected")]
        elif kind in "cs":
            alerts = forget_alerts(pg_url)
            if alerts:
                print(f"  [{key}] {alerts:,} alerts of the previous run removed", flush=True)
            launches = [ingest_launch(res, pg_url, db, extra, cwd)]
        elif kind == "d":
            launches = [ingest_launch(res, pg_url, db, extra, cwd, f"g{i}") for _ in range(2)]
        else:
            public = PUBLIC_ARGS.get(kind)
            launches = [ingest_launch(res, pg_url, db, extra, cwd, public=public)]
        messages = batches if kind == "e" else storm if kind == "s" else singles
        profile = Path(args.profile) if args.profile and kind in "cdepq" else None
        results.append(drain(res, key, launches, messages, n, db, profile, args.wait_quiet))
        r = results[-1]
        print(f"  [{key}] {r.rate:,.0f} readings/s", flush=True)
        if kind == "s":
            alerts, notifications = written(pg_url)
            print(f"  [{key}] {alerts:,} alerts, {notifications:,} notifications", flush=True)


def storm_messages(singles: Sequence[tuple[str, bytes]], sensors: int) -> list[tuple[str, bytes]]:
    """``singles`` with the first message of every sensor (its newest reading, all of the
    same second) at fire-risk level 5."""
    out = list(singles)
    for i in range(min(sensors, len(out))):
        topic, body = out[i]
        payload = {**json.loads(body), "temperature": 56.0, "humidity": 40.0}
        out[i] = (topic, json.dumps(payload).encode())
    return out


def forget_alerts(pg_url: str) -> int:
    """Empty the alerts, their timers and live values and the outbox; alerts removed."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            n = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
            for table in (
                "delivery_attempts",
                "deliveries",
                "notifications",
                "alerts",
                "alert_state",
                "sensor_live",
            ):
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
    return int(n)


def written(pg_url: str) -> tuple[int, int]:
    """Alerts and notifications in the database now."""
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            alerts = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
            sent = conn.execute(text("SELECT count(*) FROM notifications")).scalar_one()
    finally:
        engine.dispose()
    return int(alerts), int(sent)


def _table(title: str, results: Sequence[Result]) -> None:
    print(f"\n{title}")
    print(
        f"{'':3}{'contender':<40}{'readings/s':>12}{'CPU µs/rdg':>11}{'peak RSS MB':>12}"
        f"{'at start':>9}"
        f"{'sys %':>6}{'drain s':>8}{'start s':>8}{'mosq CPU s':>11}{'influxd CPU s':>14}"
        f"{'other CPU s':>12}{'cores busy':>11}"
    )
    for r in results:
        name = DESCRIPTIONS[r.key[0]] + (" [before]" if r.key.endswith("0") else "")
        print(
            f"{r.key:<3}{name:<40}{r.rate:>12,.0f}{r.cpu_us:>11.1f}{r.peak_rss_mb:>12.1f}"
            f"{r.start_rss_mb:>9.1f}"
            f"{r.sys_cpu_s / r.cpu_s * 100:>6.0f}"
            f"{r.seconds:>8.2f}{r.startup_s:>8.2f}{r.broker_cpu_s:>11.2f}{r.influx_cpu_s:>14.2f}"
            f"{r.other_cpu_s:>12.2f}{r.cores_busy:>11.2f}"
        )


def _median(runs: Sequence[Result]) -> Result:
    """The run of median throughput, with the median CPU per reading and the largest RSS."""
    ordered = sorted(runs, key=lambda r: r.rate)
    mid = ordered[(len(ordered) - 1) // 2]
    cpu = statistics.median(r.cpu_s for r in runs)
    return replace(mid, cpu_s=cpu, peak_rss_mb=max(r.peak_rss_mb for r in runs))


def report(results: Sequence[Result], args: argparse.Namespace) -> None:
    _table("every run:" if args.repeat > 1 else "", results)
    grouped: dict[str, list[Result]] = {}
    for r in results:
        grouped.setdefault(r.key, []).append(r)
    medians = [_median(runs) for runs in grouped.values()]
    if args.repeat > 1:
        _table(f"median of {args.repeat} runs (CPU: median; RSS: largest):", medians)
    by = {r.key: r for r in medians}
    print()

    def ratio(label: str, top: str, bottom: str, target: str = "") -> None:
        if top in by and bottom in by:
            value = by[top].rate / by[bottom].rate
            print(f"{label:<44}{value:6.2f}  {target}")

    ratio("c/a  ingester vs bare paho ceiling", "c", "a", "(target >= 0.8)")
    ratio("c/m  ingester vs mosquitto_sub (C) ceiling", "c", "m")
    ratio("c/i  ingester vs influxd's own write rate", "c", "i")
    ratio("a/m  bare paho vs mosquitto_sub (C)", "a", "m")
    ratio("d/c  two ingesters, shared subscription", "d", "c", "(target >= 1.6)")
    if "c" in by:
        # What two processes could reach here if both cores did nothing but this work at one
        # process's CPU cost per reading (ingester, broker and InfluxDB together).
        c = by["c"]
        cost = (c.cpu_s + c.broker_cpu_s + c.influx_cpu_s) / c.readings
        cores = os.cpu_count() or 1
        print(
            f"{'     ceiling of d/c on this machine':<44}{cores / cost / c.rate:6.2f}  "
            f"({cores} cores / {cost * 1e6:.1f} µs of CPU per reading, over c)"
        )
    ratio("c/b  ingester vs naive reference", "c", "b")
    ratio("p/c  public-API client vs lean client", "p", "c", "(keep the lean path below 0.8)")
    ratio("q/c  public-API client, bursts, vs lean", "q", "c", "(keep the lean path below 0.8)")
    for key in "pq":
        if key in by and "c" in by:
            label = f"{key}/c  CPU per reading"
            print(f"{label:<44}{by[key].cpu_us / by['c'].cpu_us:6.2f}")
    ratio("s/c  storm flood vs quiet flood", "s", "c", "(target >= 0.9)")
    ratio("c/c0 ingester after/before (baseline)", "c", "c0")
    ratio("e/e0 batched after/before (baseline)", "e", "e0")
    if "e" in by:
        print(f"{'e    readings/s, 100 per message':<44}{by['e'].rate:,.0f}  (target >= 100,000)")
    for key in "ce":
        if key in by:
            r = by[key]
            per = 1e6 / r.readings
            label = f"{key}    CPU µs per reading"
            print(
                f"{label:<44}ingester {r.cpu_us:.1f}, mosquitto {r.broker_cpu_s * per:.1f}, "
                f"influxd {r.influx_cpu_s * per:.1f}"
            )
    if "i" in by:
        per = 1e6 / by["i"].readings
        print(f"{'i    influxd CPU µs per reading':<44}{by['i'].influx_cpu_s * per:.1f}")
    for key in "ce":
        if key in by:
            label = f"{key}    peak RSS MB"
            print(f"{label:<44}{by[key].peak_rss_mb:6.1f}  (target <= 150)")
    print(
        f"\nN = {args.readings:,} readings, {args.sensors:,} sensors; {os.cpu_count()} cores "
        "shared with Mosquitto and InfluxDB (their CPU seconds during each drain are shown)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--readings", type=int, default=200_000)
    p.add_argument("--quick", action="store_true", help="20,000 readings")
    p.add_argument("--sensors", type=int, default=1000)
    p.add_argument("--per-message", type=int, default=100, help="readings per message of e")
    p.add_argument("--only", default="miabcde", help="contenders to run, e.g. ce")
    p.add_argument("--baseline", help="project copy to run c and e from as well (c0, e0)")
    p.add_argument(
        "--ingest-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra SHELTERWATCH_* setting for the shelterwatch contenders",
    )
    p.add_argument("--repeat", type=int, default=1, help="run every contender R times")
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="S",
        help="before each drain wait up to S seconds for the machine to be nearly idle",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument(
        "--profile",
        metavar="DIR",
        help="record each shelterwatch contender with py-spy (raw stacks) into DIR; "
        "the sampling slows them down, so the figures of such a run are not comparable",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.readings = 20_000
    if set(args.only) - set(DESCRIPTIONS):
        p.error(f"--only takes letters of {''.join(DESCRIPTIONS)}")
    res = Resources(keep_workdir=args.keep)
    results: list[Result] = []
    code = 0
    try:
        run(args, res, results)
    except (RuntimeError, TimeoutError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        res.keep_workdir = True
        code = 1
    finally:
        res.close()
    if results:
        report(results, args)
    if res.keep_workdir:
        print(f"logs in {res.workdir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
