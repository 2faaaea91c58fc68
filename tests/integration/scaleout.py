"""The scale-out rig: ShelterWatch as several real processes on private services, put through
failures while a stream of readings arrives, then checked.

``run`` starts ``shelterwatch ingest`` processes on one shared subscription and ``shelterwatch
serve`` processes behind a private nginx running the shipped site
(deploy/nginx/shelterwatch.conf, every server in its upstream), on a private Mosquitto running
the shipped broker configuration (deploy/mosquitto/shelterwatch.conf: persistence on, the
production queue limits; anonymous access and a loopback port instead of the
dynamic-security plugin), a fresh PostgreSQL database and a fresh InfluxDB database, both
dropped afterwards.

It publishes a stream of QoS 1 readings, a few sensors past the fire-risk limit in every
reading, and meanwhile kills one ingester with SIGKILL (and starts it again later, as its
supervisor would), kills one serve process with SIGKILL (when there are two or more) and
restarts the broker. Then it checks that every published reading is in InfluxDB and nothing
else is (the stored (sensor, time) pairs are exactly the published ones), that no reading was
rejected or left in a spool, that each hot sensor has exactly one alert (read through nginx
when there are servers), that each alert has exactly one notification for the shelter's
manager and one for the platform in the outbox, and that every request made through nginx
during the run was answered 200.

``tests/integration/test_scale_out.py`` runs it small; ``bench/scale_out.py`` runs it at full
size and prints the timings.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import create_engine, select, text

from api.db import build_engine, session_factory, upgrade
from inspection.access import SYSTEM
from inspection.models import Notification, Role, User
from inspection.registry import add_sensor, create_shelter
from inspection.schemas import SensorCreate, ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry.alert_store import AlertFilter, list_alerts
from tests.conftest import PG_ADMIN_URL
from tests.integration.conftest import INFLUX_URL, ROOT, free_port, influx_count, influx_query
from tests.nginx_rig import Nginx
from tests.waiting import wait_until

BROKER_CONF = ROOT / "deploy" / "mosquitto" / "shelterwatch.conf"
PASSWORD = "Kq7#scale-out-Vw2!pTz"
SECRET = "s" * 40
SHELTERS = 4
SENSORS_PER_SHELTER = 5
CHUNK = 100
HOT = ["SO-0-S0", "SO-0-S3", "SO-2-S1"]
"""Sensors past the fire-risk limit in every reading: two in one shelter, one in another."""


@dataclass(frozen=True)
class Scenario:
    ingesters: int
    servers: int
    messages: int
    """One reading each, a multiple of ``CHUNK`` of at least ``20 * CHUNK``."""


# --- a private Mosquitto with the shipped configuration ------------------------------------


def broker_config(shipped: str, *, port: int, workdir: Path) -> str:
    """The shipped broker configuration on a loopback port, with its state and log in
    ``workdir``, anonymous clients admitted instead of the dynamic-security plugin."""
    replacements = {
        "listener 1883\n": f"listener {port} 127.0.0.1\n",
        "allow_anonymous false\n": "allow_anonymous true\n",
        "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n": "",
        "plugin_opt_config_file /var/lib/mosquitto/dynamic-security.json\n": "",
        "persistence_location /var/lib/mosquitto/\n": f"persistence_location {workdir}/\n",
        "pid_file /run/mosquitto/mosquitto.pid\n": f"user {getpass.getuser()}\n",
        "log_dest file /var/log/mosquitto/mosquitto.log\n": (
            f"log_dest file {workdir / 'mosquitto.log'}\n"
        ),
    }
    for old, new in replacements.items():
        assert old in shipped, old
        shipped = shipped.replace(old, new)
    assert "persistence true\n" in shipped
    return shipped


class Broker:
    """Mosquitto in its own directory; ``restart`` stops it cleanly (it saves its state)
    and starts it again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        workdir.mkdir(parents=True)
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(
            broker_config(BROKER_CONF.read_text(), port=self.port, workdir=workdir)
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._listening, 15, f"mosquitto on port {self.port}", every=0.05)

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(30)

    def restart(self) -> None:
        self.stop()
        self.start()


# --- the ShelterWatch processes ------------------------------------------------------------


class Process:
    """One ``shelterwatch`` command as a subprocess answering ``/readyz`` on its port."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.env = env
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.processes.cli", self.command, "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.command} exited:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def metric(self, name: str) -> float:
        body = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.M))

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


# --- the stream ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    sensors: dict[str, str]  # sensor -> shelter
    managers: dict[str, str]  # shelter -> manager's username
    hot: list[str]


@dataclass
class Publisher:
    """QoS 1 publisher that resends whatever the broker has not acknowledged once it is back
    (a resent reading is the same reading: same sensor, same time)."""

    port: int
    client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"scale-pub-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def send(self, items: list[tuple[str, str]]) -> None:
        pending = items
        deadline = time.monotonic() + 60
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} messages never acknowledged"
            wait_until(self.client.is_connected, 30, "the publisher connected", every=0.05)
            infos = [(item, self.client.publish(item[0], item[1], qos=1)) for item in pending]
            settled = self._settled(infos)
            with contextlib.suppress(AssertionError):
                wait_until(settled, 20, "PUBACKs", every=0.01)
            pending = [item for item, info in infos if not info.is_published()]

    def _settled(
        self, infos: list[tuple[tuple[str, str], mqtt.MQTTMessageInfo]]
    ) -> Callable[[], bool]:
        """True once every message is acknowledged or the connection is gone."""
        return lambda: all(i.is_published() for _, i in infos) or not self.client.is_connected()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def readings(fleet: Fleet, messages: int, start_ms: int) -> list[tuple[str, str, int]]:
    """(topic, payload, ts) of one-reading messages, round-robin over the fleet; each at a
    distinct time, the hot sensors' past the fire-risk limit."""
    sensors = sorted(fleet.sensors)
    out = []
    for i in range(messages):
        sensor = sensors[i % len(sensors)]
        ts = start_ms + i
        body = {
            "ts": ts,
            "temperature": 18.0 + i % 5,
            "humidity": 55.0 + i % 7,
            "fire_risk": 92.0 if sensor in fleet.hot else 10.0,
        }
        out.append((f"shelters/{fleet.sensors[sensor]}/{sensor}/telemetry", json.dumps(body), ts))
    return out


def influx_points_written(db: str) -> int:
    """Points InfluxDB has accepted into ``db`` since it started, overwrites included (its
    shard statistics)."""
    r = httpx.get(f"{INFLUX_URL}/query", params={"q": "SHOW STATS FOR 'shard'"}, timeout=10)
    r.raise_for_status()
    total = 0
    for series in r.json()["results"][0].get("series") or []:
        if (series.get("tags") or {}).get("database") == db:
            row = dict(zip(series["columns"], series["values"][0], strict=True))
            total += int(row.get("writePointsOk", 0))
    return total


# --- the stores and the register ----------------------------------------------------------


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards."""
    name = f"sw_scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def fresh_influx() -> Iterator[str]:
    """A new InfluxDB database, dropped afterwards."""
    name = f"sw_scale_{uuid.uuid4().hex[:10]}"
    query = f"{INFLUX_URL}/query"
    httpx.post(query, params={"q": f'CREATE DATABASE "{name}"'}, timeout=10).raise_for_status()
    try:
        yield name
    finally:
        httpx.post(query, params={"q": f'DROP DATABASE "{name}"'}, timeout=10)


def register(url: str) -> Fleet:
    """An admin, and shelters each with a manager and sensors (the default interval)."""
    engine = build_engine(url)
    now = datetime.now(UTC)
    sensors: dict[str, str] = {}
    managers: dict[str, str] = {}
    with session_factory(engine)() as session:
        create_user(
            session,
            UserCreate(username="admin", role=Role.ADMIN, password=PASSWORD),
            actor=SYSTEM,
            now=now,
        )
        for s in range(SHELTERS):
            code = f"SO-{s}"
            manager = f"manager{s}"
            create_user(
                session,
                UserCreate(username=manager, role=Role.MANAGER, password=PASSWORD),
                actor=SYSTEM,
                now=now,
            )
            create_shelter(
                session,
                ShelterCreate(code=code, name=f"扩展测试 {s}", district="测试区", manager=manager),
                actor=SYSTEM,
                now=now,
            )
            managers[code] = manager
            for j in range(SENSORS_PER_SHELTER):
                sid = f"{code}-S{j}"
                add_sensor(session, code, SensorCreate(sensor_id=sid), actor=SYSTEM, now=now)
                sensors[sid] = code
        session.commit()
    engine.dispose()
    return Fleet(sensors, managers, HOT)


@dataclass
class Requests:
    """GETs through nginx, one after the other until stopped, each outcome recorded."""

    client: httpx.Client
    token: str
    outcomes: list[tuple[float, int | str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        paths = ["/api/v1/alerts?limit=100", "/api/v1/shelters?limit=10", "/readyz"]
        i = 0
        while not self.stop.wait(0.02):
            at = time.monotonic()
            try:
                r = self.client.get(paths[i % len(paths)], headers=headers)
                self.outcomes.append((at, r.status_code))
            except httpx.HTTPError as exc:
                self.outcomes.append((at, repr(exc)))
            i += 1


# --- the run -------------------------------------------------------------------------------


def run(scenario: Scenario, workdir: Path) -> dict[str, float]:
    """Run ``scenario`` in ``workdir``; fail with AssertionError on any broken promise,
    else return the timings (seconds) and counts."""
    assert scenario.messages % CHUNK == 0 and scenario.messages >= 20 * CHUNK
    with fresh_postgres() as pg, fresh_influx() as influx:
        return _run(scenario, workdir, pg, influx)


def _run(scenario: Scenario, workdir: Path, pg: str, influx: str) -> dict[str, float]:
    started = time.monotonic()
    fleet = register(pg)
    broker = Broker(workdir / "broker")
    broker.start()
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHELTERWATCH_")},
        "SHELTERWATCH_DATABASE_URL": pg,
        "SHELTERWATCH_SECRET_KEY": SECRET,
        "SHELTERWATCH_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "SHELTERWATCH_INFLUX_URL": INFLUX_URL,
        "SHELTERWATCH_INFLUX_BUCKET": influx,
        "SHELTERWATCH_INFLUX_TOKEN": "unused-with-auth-off",
        "SHELTERWATCH_FILES_DIR": str(workdir / "files"),
        "SHELTERWATCH_TICK_INTERVAL_SECONDS": "0",
    }
    ingesters = [
        Process(
            "ingest",
            {
                **base,
                "SHELTERWATCH_VAR_DIR": str(workdir / f"ingest{n}"),
                "SHELTERWATCH_SPOOL_DIR": str(workdir / f"ingest{n}" / "spool"),
                "SHELTERWATCH_MQTT_CLIENT_ID": f"shelterwatch-ingest-{n}",
                "SHELTERWATCH_MQTT_SHARED_GROUP": "ingest",
                "SHELTERWATCH_BATCH_SIZE": "500",
                "SHELTERWATCH_BATCH_INTERVAL_MS": "50",
            },
            workdir / f"ingest{n}.log",
        )
        for n in range(scenario.ingesters)
    ]
    servers = [
        Process(
            "serve",
            {**base, "SHELTERWATCH_VAR_DIR": str(workdir / f"serve{n}")},
            workdir / f"serve{n}.log",
        )
        for n in range(scenario.servers)
    ]
    nginx: Nginx | None = None
    publisher: Publisher | None = None
    requests: Requests | None = None
    poller: threading.Thread | None = None
    try:
        for p in [*ingesters, *servers]:
            p.spawn()
        for p in [*ingesters, *servers]:
            wait_until(p.ready, 240, f"{p.command} on {p.port} ready (log {p.log})", every=0.2)
        if servers:
            nginx = Nginx(workdir / "nginx", [s.port for s in servers])
            client = nginx.client()
            wait_until(nginx.up, 20, "nginx up", every=0.1)
            login = client.post(
                "/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            requests = Requests(client, login.json()["access_token"])
            poller = threading.Thread(target=requests.run, daemon=True)
            poller.start()
        publisher = Publisher(broker.port)
        ready_at = time.monotonic()

        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        stream = readings(fleet, scenario.messages, now_ms - 60_000)
        steps = scenario.messages // CHUNK
        killed_at = [time.monotonic()]

        def kill_server() -> None:
            servers[0].kill()
            killed_at[0] = time.monotonic()

        for step in range(steps):
            # The kills land while a chunk is in flight, the ingester's between receiving
            # and acknowledging some of it.
            kill: Callable[[], None] | None = None
            if step == steps * 6 // 24:
                kill = ingesters[0].kill
            elif step == steps * 10 // 24 and len(servers) >= 2:
                kill = kill_server
            elif step == steps * 14 // 24:
                broker.restart()
            elif step == steps * 18 // 24:
                ingesters[0].spawn()  # as its supervisor would
            killer = threading.Timer(0.03, kill) if kill is not None else None
            if killer is not None:
                killer.start()
            chunk = stream[step * CHUNK : (step + 1) * CHUNK]
            publisher.send([(t, p) for t, p, _ in chunk])
            if killer is not None:
                killer.join()
            time.sleep(0.2)  # the stream's pace
        published_at = time.monotonic()

        n = scenario.messages
        wait_until(lambda: influx_count(influx) == n, 120, f"{n} readings stored", every=0.5)
        drained_at = time.monotonic()
        wait_until(ingesters[0].ready, 240, "the restarted ingester ready", every=0.2)

        # Exactly the published readings are stored: the same (sensor, time) pairs.
        [result] = influx_query(influx, 'SELECT "temperature" FROM shelter_env GROUP BY sensor')
        stored = {
            (series["tags"]["sensor"], int(row[0]))
            for series in result["series"]
            for row in series["values"]
        }
        assert stored == {(t.split("/")[2], ts) for t, _, ts in stream}

        # Every point InfluxDB accepted, repeats included (each overwrote its first copy; they
        # come only from redelivery after the kill and the broker restart): reported, not
        # checked, since a restart of influxd by anyone resets its statistics.
        writes = influx_points_written(influx)
        rejected = sum(p.metric("shelterwatch_ingest_readings_rejected_total") for p in ingesters)
        spooled = sum(p.metric("shelterwatch_ingest_spool_depth") for p in ingesters)
        assert (rejected, spooled) == (0, 0)

        # One alert per hot sensor and condition: through nginx (the surviving server), or
        # from the register when there is no server.
        if requests is not None:
            headers = {"Authorization": f"Bearer {requests.token}"}
            page = requests.client.get("/api/v1/alerts?limit=500", headers=headers)
            assert page.status_code == 200, page.text
            alerts = [
                (a["id"], a["sensor_id"], a["shelter_code"], a["condition"], a["rule"])
                for a in page.json()["items"]
            ]
        else:
            engine = build_engine(pg)
            with session_factory(engine)() as session:
                views, _ = list_alerts(session, AlertFilter(), limit=500, offset=0)
            engine.dispose()
            alerts = [(a.id, a.sensor_id, a.shelter_code, a.condition, a.rule) for a in views]
        assert sorted((a[1], a[3], a[4]) for a in alerts) == sorted(
            (s, "fire_risk", "fire_risk_critical") for s in fleet.hot
        )

        # One notification per alert for the shelter's manager, one for the platform.
        engine = build_engine(pg)
        with session_factory(engine)() as session:
            raised = session.execute(
                select(Notification.recipient_id, Notification.payload).where(
                    Notification.kind == "alert_raised"
                )
            ).all()
            users = {uid: name for uid, name in session.execute(select(User.id, User.username))}
        engine.dispose()
        per_recipient = Counter(
            (users[rid] if rid is not None else "platform", payload["alert_id"])
            for rid, payload in raised
        )
        wanted = Counter({(fleet.managers[a[2]], a[0]): 1 for a in alerts}) + Counter(
            {("platform", a[0]): 1 for a in alerts}
        )
        assert per_recipient == wanted

        # Every request through nginx answered, those after a server died by the survivor.
        answered = after_kill = 0
        if requests is not None and poller is not None:
            requests.stop.set()
            poller.join(30)
            failures = [o for _, o in requests.outcomes if o != 200]
            assert failures == []
            answered = len(requests.outcomes)
            after_kill = sum(1 for at, _ in requests.outcomes if at >= killed_at[0])
            assert after_kill >= 20
        return {
            "readings": n,
            "sensors": len(fleet.sensors),
            "ready_s": ready_at - started,
            "publish_s": published_at - ready_at,
            "drain_after_publish_s": drained_at - published_at,
            "points_written_repeats_included": writes,
            "http_requests": answered,
            "http_requests_after_server_kill": after_kill,
            "alerts": len(alerts),
            "raised_notifications": len(raised),
            "total_s": time.monotonic() - started,
        }
    finally:
        if requests is not None:
            requests.stop.set()
        if poller is not None:
            poller.join(30)
        if publisher is not None:
            publisher.close()
        if nginx is not None:
            nginx.stop()
        for p in [*servers, *ingesters]:
            p.stop()
        broker.stop()
