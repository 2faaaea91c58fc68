"""Fixtures for end-to-end ingestion: a registered fleet in PostgreSQL, a fresh InfluxDB
database behind the nginx write rewrite, an MQTT publisher, and the ingester as a real
subprocess (so it can be killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from api.db import session_factory
from inspection.access import SYSTEM
from inspection.registry import add_sensor, create_shelter
from inspection.schemas import SensorCreate, ShelterCreate
from tests.waiting import wait_until

INFLUX_URL = os.environ.get("SHELTERWATCH_TEST_INFLUX_URL", "http://127.0.0.1:8087")
MQTT_HOST = "127.0.0.1"
MQTT_PORT = int(os.environ.get("SHELTERWATCH_TEST_MQTT_PORT", "1883"))
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def influx_query(db: str, q: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{INFLUX_URL}/query", params={"db": db, "q": q, "epoch": "ms"}, timeout=10)
    r.raise_for_status()
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def influx_count(db: str, where: str = "") -> int:
    try:
        [result] = influx_query(db, f'SELECT COUNT("temperature") FROM shelter_env {where}')
    except httpx.HTTPError:
        return -1
    series = result.get("series") or []
    return int(series[0]["values"][0][1]) if series else 0


@pytest.fixture
def influx_db() -> Iterator[str]:
    name = f"swit_{uuid.uuid4().hex[:10]}"
    httpx.post(
        f"{INFLUX_URL}/query", params={"q": f'CREATE DATABASE "{name}"'}, timeout=10
    ).raise_for_status()
    yield name
    httpx.post(f"{INFLUX_URL}/query", params={"q": f'DROP DATABASE "{name}"'}, timeout=10)


@dataclass(frozen=True)
class Fleet:
    tag: str
    shelters: list[str]
    sensors: dict[str, str]  # sensor -> shelter
    district: str = "测试区"


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    from api.db import build_engine
    from tests.conftest import _truncate

    engine = build_engine(pg_url)
    yield engine
    _truncate(engine)
    engine.dispose()


@pytest.fixture
def fleet(pg_engine: Engine) -> Fleet:
    """Two shelters with two sensors each, registered in PostgreSQL."""
    tag = uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC)
    sensors: dict[str, str] = {}
    shelters = [f"IT{tag}-{i}" for i in (1, 2)]
    with session_factory(pg_engine)() as session:
        for code in shelters:
            create_shelter(
                session,
                ShelterCreate(code=code, name=f"测试工程 {code}", district="测试区"),
                actor=SYSTEM,
                now=now,
            )
            for j, zone in ((1, "滤毒室"), (2, "main hall")):
                sid = f"{code}-S{j}"
                add_sensor(
                    session,
                    code,
                    SensorCreate(sensor_id=sid, zone=zone, expected_interval_s=60),
                    actor=SYSTEM,
                    now=now,
                )
                sensors[sid] = code
        session.commit()
    return Fleet(tag, shelters, sensors)


class Publisher:
    """A QoS 1 MQTT 5 publisher that waits for every PUBACK."""

    def __init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"it-pub-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect(MQTT_HOST, MQTT_PORT)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str | dict[str, Any] | list[Any]) -> None:
        data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        info = self.client.publish(topic, data, qos=1)
        info.wait_for_publish(10)

    def publish_many(self, items: list[tuple[str, Any]]) -> None:
        infos = [
            self.client.publish(t, p if isinstance(p, bytes | str) else json.dumps(p), qos=1)
            for t, p in items
        ]
        for info in infos:
            info.wait_for_publish(30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


def clear_session(client_id: str) -> None:
    """Drop a persistent session left at the broker by a test's ingester."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect(MQTT_HOST, MQTT_PORT, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


class IngesterProcess:
    """``shelterwatch ingest`` as a subprocess with its own client id and spool."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api.processes.cli", "ingest", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.ready, 30, f"ingester ready (log: {self.log})", every=0.2)

    def ready(self) -> bool:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(40)


@pytest.fixture
def ingester(
    pg_url: str, pg_engine: Engine, influx_db: str, tmp_path: Path
) -> Iterator[IngesterProcess]:
    """The ingester is stopped before ``pg_engine`` empties the tables (it depends on it for
    that order): a live ingester's queries and that TRUNCATE could deadlock."""
    client_id = f"shelterwatch-it-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHELTERWATCH_")},
        "SHELTERWATCH_DATABASE_URL": pg_url,
        "SHELTERWATCH_SECRET_KEY": "i" * 40,
        "SHELTERWATCH_VAR_DIR": str(tmp_path / "var"),
        "SHELTERWATCH_MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
        "SHELTERWATCH_MQTT_CLIENT_ID": client_id,
        "SHELTERWATCH_INFLUX_URL": INFLUX_URL,
        "SHELTERWATCH_INFLUX_BUCKET": influx_db,
        "SHELTERWATCH_INFLUX_TOKEN": "unused-with-auth-off",
        "SHELTERWATCH_SPOOL_DIR": str(tmp_path / "spool"),
        "SHELTERWATCH_BATCH_INTERVAL_MS": "50",
        "SHELTERWATCH_BATCH_SIZE": "500",
        "SHELTERWATCH_TICK_INTERVAL_SECONDS": "0",
    }
    proc = IngesterProcess(env, free_port(), tmp_path / "ingester.log")
    yield proc
    if proc.proc is not None and proc.proc.poll() is None:
        proc.proc.kill()
        proc.proc.wait(10)
    clear_session(client_id)
