"""Shared plumbing of the ingestion benchmarks (not a benchmark itself).

A dedicated Mosquitto on a free port whose configuration lets a backlog queue, fresh InfluxDB
and PostgreSQL databases with a registered fleet, a raw-socket QoS 1 publisher (fast enough
that publishing a backlog of 200,000 messages takes seconds), persistent MQTT 5 sessions made
ahead of time, and contender processes watched through ``/proc`` (CPU time, peak RSS).
Everything created here is removed by :meth:`Resources.close`, which the scripts call in a
``finally``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
INFLUX_URL = os.environ.get("SHELTERWATCH_BENCH_INFLUX_URL", "http://127.0.0.1:8087")
INFLUXD_URL = os.environ.get("SHELTERWATCH_BENCH_INFLUXD_URL", "http://127.0.0.1:8086")
"""influxd itself, without the write rewrite in front (the store's own ceiling)."""
PG_ADMIN_URL = os.environ.get(
    "SHELTERWATCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TOPIC_FILTER = "shelters/+/+/telemetry"
SESSION_EXPIRY_S = 7 * 24 * 3600
CLK_TCK = os.sysconf("SC_CLK_TCK")
SENSORS_PER_SHELTER = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


# ----------------------------------------------------------------------------- /proc


def _children(pid: int) -> list[int]:
    try:
        text_ = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text_.split()]


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    """User plus system CPU time of these processes (all their threads), in seconds."""
    user, system = cpu_split(pids)
    return user + system


def cpu_split(pids: Iterable[int]) -> tuple[float, float]:
    """User and system CPU time of these processes (all their threads), in seconds."""
    user = system = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        user += int(fields[11])  # utime (field 14)
        system += int(fields[12])  # stime (field 15)
    return user / CLK_TCK, system / CLK_TCK


def system_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def wait_for_quiet(max_wait: float, cores: float = 0.3, every: float = 2.0) -> float:
    """Until the machine as a whole is busy less than `cores` over `every` seconds (on a
    shared machine, someone's test run skews a drain); gives up after `max_wait` seconds.
    Returns the busy cores last seen."""
    deadline = time.monotonic() + max_wait
    while True:
        before = system_cpu_seconds()
        time.sleep(every)
        busy = (system_cpu_seconds() - before) / every
        if busy < cores or time.monotonic() >= deadline:
            return busy


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(pids: Iterable[int]) -> float:
    """Sum of the peak resident set sizes (VmHWM) of these processes, in MB."""
    return sum(_status_kb(p, "VmHWM") for p in pids) / 1024


def rss_mb(pids: Iterable[int]) -> float:
    """Sum of the current resident set sizes (VmRSS), in MB."""
    return sum(_status_kb(p, "VmRSS") for p in pids) / 1024


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (to read CPU time of a shared service)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


# ----------------------------------------------------------------------------- broker


class Broker:
    """A Mosquitto of our own with unbounded per-client queues, on a free loopback port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages 0\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.conf)], stdout=fh, stderr=subprocess.STDOUT
            )

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return False
            return True

        wait_until(up, 10, f"mosquitto on port {self.port} (log: {self.log})")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def create_session(port: int, client_id: str, topic: str) -> None:
    """Leave a persistent MQTT 5 session subscribed to `topic` at QoS 1 at the broker."""
    subscribed = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_subscribe = lambda *_args: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY_S
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.loop_start()
    try:
        client.subscribe(topic, qos=1)
        if not subscribed.wait(10):
            raise TimeoutError(f"no SUBACK for {client_id}")
    finally:
        client.disconnect()
        client.loop_stop()


def clear_session(port: int, client_id: str) -> None:
    """End a persistent session: connect with clean start and no session expiry. An offline
    session left behind would keep receiving (and the broker queueing) every later backlog,
    and in a shared group would take its turn of the messages."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    try:
        if not connected.wait(10):
            raise TimeoutError(f"could not connect as {client_id} to clear its session")
    finally:
        client.disconnect()
        client.loop_stop()


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _connect(port: int) -> socket.socket:
    """A raw MQTT 3.1.1 connection, clean session, CONNACK checked."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_id = f"bench-pub-{uuid.uuid4().hex[:8]}".encode()
    var = b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack("!H", len(client_id)) + client_id
    sock.sendall(b"\x10" + _remaining_length(len(var)) + var)
    connack = sock.recv(4)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise RuntimeError(f"CONNECT refused: {connack!r}")
    return sock


def _publish_packet(topic: str, mid: int, payload: bytes) -> bytes:
    t = topic.encode()
    body = struct.pack("!H", len(t)) + t + struct.pack("!H", mid) + payload
    return b"\x32" + _remaining_length(len(body)) + body


class RawPublisher:
    """A QoS 1 publisher on a raw MQTT 3.1.1 socket (paho publishes a few thousand messages
    a second; this, a hundred thousand). A thread counts the PUBACKs (4 bytes each, and the
    only thing the broker sends it)."""

    def __init__(self, port: int, window: int = 20_000) -> None:
        self.sock = _connect(port)
        self.window = window
        self.sent = 0
        self.acked = 0
        self.failure: BaseException | None = None
        self._closing = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read_acks(self) -> None:
        pending = 0
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    if not self._closing:
                        raise ConnectionError("broker closed the publisher connection")
                    return
                pending += len(chunk)
                with self._cond:
                    self.acked += pending // 4
                    self._cond.notify_all()
                pending %= 4
        except BaseException as exc:  # noqa: BLE001 - reported to the publishing thread
            if not self._closing:
                self.failure = exc
            with self._cond:
                self._cond.notify_all()

    def _check(self) -> None:
        if self.failure is not None:
            raise RuntimeError("publishing failed") from self.failure

    def publish(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Send these, keeping at most `window` unacknowledged (blocks beyond that)."""
        out = bytearray()
        for topic, payload in messages:
            self.sent += 1
            out += _publish_packet(topic, self.sent % 65535 + 1, payload)
            if len(out) >= 256 * 1024:
                self._send(out)
                out = bytearray()
        if out:
            self._send(out)

    def _send(self, out: bytearray) -> None:
        with self._cond:
            while self.sent - self.acked > self.window and self.failure is None:
                self._cond.wait(1)
        self._check()
        self.sock.sendall(out)

    def wait_acked(self, timeout: float = 300) -> None:
        """Until the broker acknowledged everything sent (it has queued it by then)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked < self.sent and self.failure is None:
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    break
        self._check()
        if self.acked < self.sent:
            raise RuntimeError(f"only {self.acked} of {self.sent} publishes acknowledged")

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        self.sock.close()
        self._reader.join(5)


def publish_backlog(port: int, messages: Sequence[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 and wait for every PUBACK; returns the seconds taken."""
    started = time.perf_counter()
    publisher = RawPublisher(port)
    try:
        publisher.publish(messages)
        publisher.wait_acked()
    finally:
        publisher.close()
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- data


def single_messages(sensors: Sequence[tuple[str, str]], n: int) -> list[tuple[str, bytes]]:
    """`n` messages of one reading each, round-robin over the sensors, each reading at a
    distinct (sensor, ms) within the last hour so that InfluxDB counts every one."""
    base = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    out = []
    s = len(sensors)
    for i in range(n):
        shelter, sensor = sensors[i % s]
        k = i // s
        payload = {
            "ts": base - k,
            "temperature": 18.0 + k % 13 * 0.5,
            "humidity": 40.0 + k % 40,
            "battery": 3.7,
        }
        out.append((f"shelters/{shelter}/{sensor}/telemetry", json.dumps(payload).encode()))
    return out


def batch_messages(
    sensors: Sequence[tuple[str, str]], n: int, per_message: int
) -> list[tuple[str, bytes]]:
    """`n` readings in messages of `per_message` readings (a gateway's batch), every reading
    at a distinct (sensor, ms)."""
    base = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    out = []
    s = len(sensors)
    for j in range(n // per_message):
        shelter, sensor = sensors[j % s]
        first = j // s * per_message
        batch = [
            {
                "ts": base - (first + k),
                "temperature": 18.0 + k % 13 * 0.5,
                "humidity": 40.0 + k % 40,
                "battery": 3.7,
            }
            for k in range(per_message)
        ]
        out.append((f"shelters/{shelter}/{sensor}/telemetry", json.dumps(batch).encode()))
    return out


# ----------------------------------------------------------------------------- databases


def influx_query(db: str, q: str) -> dict[str, object]:
    r = httpx.get(f"{INFLUX_URL}/query", params={"db": db, "q": q}, timeout=30)
    r.raise_for_status()
    result: dict[str, object] = r.json()["results"][0]
    return result


@functools.cache
def _poller() -> httpx.Client:
    """One kept-alive connection for watching a drain (a new client per poll costs more CPU
    than the poll)."""
    return httpx.Client(timeout=30)


def influx_points_written(db: str) -> int:
    """Points InfluxDB has accepted into `db` since it started (its shard statistics), -1 while
    it does not answer. Costs InfluxDB nothing like a COUNT, which reads every point: a drain
    is watched with this and checked with :func:`influx_count` at the end."""
    try:
        r = _poller().get(f"{INFLUX_URL}/query", params={"q": "SHOW STATS FOR 'shard'"})
        r.raise_for_status()
        series = r.json()["results"][0].get("series") or []
    except (httpx.HTTPError, ValueError, KeyError, IndexError):
        return -1
    total = 0
    for s in series:
        if (s.get("tags") or {}).get("database") == db:
            row = dict(zip(s["columns"], s["values"][0], strict=True))
            total += int(row.get("writePointsOk", 0))
    return total


def influx_count(db: str) -> int:
    """Readings with a temperature in `db`; -1 while InfluxDB does not answer."""
    try:
        result = influx_query(db, 'SELECT COUNT("temperature") FROM "shelter_env"')
    except httpx.HTTPError:
        return -1
    series = result.get("series")
    if not isinstance(series, list) or not series:
        return 0
    return int(series[0]["values"][0][1])


@dataclass
class Resources:
    """Every database, broker and process a bench run makes; :meth:`close` removes them."""

    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="swbench-")))
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    broker: Broker | None = None
    pg_db: str | None = None
    influx_dbs: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    keep_workdir: bool = False

    def start_broker(self) -> Broker:
        self.broker = Broker(self.workdir)
        self.broker.start()
        return self.broker

    def influx_db(self, label: str) -> str:
        name = f"swbench_{self.tag}_{label}"
        httpx.post(
            f"{INFLUX_URL}/query", params={"q": f'CREATE DATABASE "{name}"'}, timeout=30
        ).raise_for_status()
        self.influx_dbs.append(name)
        return name

    def pg_fleet(self, sensors: int) -> tuple[str, list[tuple[str, str]]]:
        """A fresh migrated database with `sensors` registered sensors, 10 per shelter."""
        from api.db import build_engine, session_factory, upgrade
        from inspection.access import SYSTEM
        from inspection.registry import add_sensor, create_shelter
        from inspection.schemas import SensorCreate, ShelterCreate

        name = f"swbench_{self.tag}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        self.pg_db = name
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        engine = build_engine(url)
        placed: list[tuple[str, str]] = []
        try:
            upgrade(engine)
            now = datetime.now(UTC)
            with session_factory(engine)() as session:
                for i in range((sensors + SENSORS_PER_SHELTER - 1) // SENSORS_PER_SHELTER):
                    code = f"BS{i:05d}"
                    create_shelter(
                        session,
                        ShelterCreate(code=code, name=f"Bench {code}", district="Bench"),
                        actor=SYSTEM,
                        now=now,
                    )
                    for j in range(min(SENSORS_PER_SHELTER, sensors - len(placed))):
                        sid = f"{code}-S{j}"
                        add_sensor(
                            session,
                            code,
                            SensorCreate(sensor_id=sid, zone=f"zone {j}", expected_interval_s=60),
                            actor=SYSTEM,
                            now=now,
                        )
                        placed.append((code, sid))
                session.commit()
        finally:
            engine.dispose()
        return url, placed

    def spawn(
        self, argv: Sequence[str], env: dict[str, str] | None, cwd: Path = ROOT
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            stop_process(proc)
        if self.broker is not None:
            self.broker.stop()
        for name in self.influx_dbs:
            try:
                httpx.post(
                    f"{INFLUX_URL}/query", params={"q": f'DROP DATABASE "{name}"'}, timeout=60
                )
            except httpx.HTTPError as exc:
                print(f"warning: could not drop InfluxDB database {name}: {exc}")
        if self.pg_db is not None:
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)'))
            finally:
                admin.dispose()
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 40) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def ingester_env(
    *,
    pg_url: str,
    broker_port: int,
    client_id: str,
    influx_db: str,
    workdir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment of one ``shelterwatch ingest`` process (defaults for everything else)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELTERWATCH_")}
    env.update(
        {
            "SHELTERWATCH_DATABASE_URL": pg_url,
            "SHELTERWATCH_SECRET_KEY": "b" * 40,
            "SHELTERWATCH_VAR_DIR": str(workdir / f"var-{client_id}"),
            "SHELTERWATCH_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
            "SHELTERWATCH_MQTT_CLIENT_ID": client_id,
            "SHELTERWATCH_INFLUX_URL": INFLUX_URL,
            "SHELTERWATCH_INFLUX_BUCKET": influx_db,
            "SHELTERWATCH_INFLUX_TOKEN": "unused-with-auth-off",
            "SHELTERWATCH_SPOOL_DIR": str(workdir / f"spool-{client_id}"),
            "SHELTERWATCH_TICK_INTERVAL_SECONDS": "0",
        }
    )
    env.update(extra or {})
    return env


class Watched:
    """A contender process: its output copied to a log file, the moment a marker line
    appears, and CPU time sampled at that moment."""

    def __init__(self, proc: subprocess.Popen[bytes], log: Path, marker: bytes) -> None:
        self.proc = proc
        self.log = log
        self.marker = marker
        self.marked = threading.Event()
        self.marked_at = 0.0
        self.cpu_at_mark = 0.0
        self.sys_at_mark = 0.0
        self.rss_at_mark = 0.0
        self.lines: list[bytes] = []
        self._on_line: Callable[[bytes], None] | None = None
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def on_line(self, callback: Callable[[bytes], None]) -> None:
        self._on_line = callback

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        out: IO[bytes] = self.proc.stdout
        with self.log.open("ab") as fh:
            for line in out:
                fh.write(line)
                if not self.marked.is_set() and self.marker in line:
                    self.marked_at = time.perf_counter()
                    user, system = cpu_split(process_tree(self.proc.pid))
                    self.cpu_at_mark, self.sys_at_mark = user + system, system
                    self.rss_at_mark = peak_rss_mb(process_tree(self.proc.pid))
                    self.marked.set()
                callback = self._on_line
                if callback is not None:
                    callback(line)

    def tree(self) -> list[int]:
        return process_tree(self.proc.pid)

    def tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
