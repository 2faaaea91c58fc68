"""End to end: MQTT (real Mosquitto) → ingester process → InfluxDB (real, behind nginx).

Shows that readings are stored with the right tags and values, that every rejection reason
is recorded and counted without losing the good readings beside it, that a re-delivered
reading is stored once, and that neither an InfluxDB outage nor a SIGKILL of the ingester in
the middle of a stream loses an acknowledged reading.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from telemetry.ports import StoredReject
from telemetry.sql_store import SqlRejectStore
from tests.integration.conftest import (
    ROOT,
    Fleet,
    IngesterProcess,
    Publisher,
    influx_count,
    influx_query,
    wait_until,
)

pytestmark = [pytest.mark.influx, pytest.mark.mqtt, pytest.mark.postgres]


def topic(fleet: Fleet, sensor: str) -> str:
    return f"shelters/{fleet.sensors[sensor]}/{sensor}/telemetry"


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def stream(fleet: Fleet, messages: int, per_message: int, start_ms: int) -> list[tuple[str, Any]]:
    """Messages of ``per_message`` readings each, round-robin over the fleet's sensors, every
    reading at a distinct (sensor, ms)."""
    sensors = sorted(fleet.sensors)
    items = []
    for i in range(messages):
        sensor = sensors[i % len(sensors)]
        batch = [
            {
                "ts": start_ms - (i * per_message + k),
                "temperature": 18.0 + k % 5,
                "humidity": 60.0 + k % 7,
            }
            for k in range(per_message)
        ]
        items.append((topic(fleet, sensor), batch))
    return items


def rejected_metric(metrics: str, reason: str) -> float:
    m = re.search(
        rf'shelterwatch_ingest_readings_rejected_total{{reason="{reason}"}} (\S+)', metrics
    )
    return float(m.group(1)) if m else 0.0


def test_readings_are_stored_with_tags_and_computed_values(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, influx_db: str
) -> None:
    ingester.start()
    sensor = sorted(fleet.sensors)[0]
    ts = now_ms() - 1000
    publisher.publish(topic(fleet, sensor), {"ts": ts, "temperature": 36.0, "humidity": 10.0})
    publisher.publish(
        topic(fleet, sensor),
        [
            {"ts": ts - 60_000, "temperature": 20.0, "humidity": 50.0, "fire_risk": 12.5},
            {
                "ts": datetime.fromtimestamp((ts - 120_000) / 1000, UTC).isoformat(),
                "humidity": 80.0,
                "battery": 3.6,
            },
            {"ts": ts - 180_000, "water_leak": True},  # a 水浸 sensor's reading on its own
        ],
    )
    wait_until(lambda: influx_count(influx_db) == 2, 20, "2 readings with temperature")
    [result] = influx_query(influx_db, f"SELECT * FROM shelter_env WHERE sensor = '{sensor}'")
    [series] = result["series"]
    rows = [dict(zip(series["columns"], v, strict=True)) for v in series["values"]]
    by_ts = {row["time"]: row for row in rows}
    assert sorted(by_ts) == [ts - 180_000, ts - 120_000, ts - 60_000, ts]
    assert by_ts[ts - 180_000]["water_leak"] is True
    assert by_ts[ts - 180_000]["fire_risk"] is None
    assert by_ts[ts]["water_leak"] is None
    hot = by_ts[ts]
    assert hot["shelter"] == fleet.sensors[sensor]
    assert hot["district"] == "测试区"
    assert hot["zone"] == "滤毒室"
    assert hot["temperature"] == 36.0
    # fri-1: heat 30, dryness 40 (I = 0.5 − 0.9 < 2) → 40 + 0.3·30 = 49
    assert hot["fire_risk"] == 49.0
    assert hot["fire_risk_version"] == "fri-1"
    assert hot["dew_point"] == pytest.approx(-0.413, abs=0.005)  # Magnus, 36 °C at 10 %RH
    assert by_ts[ts - 60_000]["fire_risk"] == 12.5
    assert by_ts[ts - 60_000]["fire_risk_version"] == "device"
    assert by_ts[ts - 120_000]["battery"] == 3.6
    assert by_ts[ts - 120_000]["temperature"] is None


def test_every_rejection_is_recorded_counted_and_loses_nothing_else(
    ingester: IngesterProcess,
    fleet: Fleet,
    publisher: Publisher,
    influx_db: str,
    pg_engine: Engine,
) -> None:
    ingester.start()
    s1, s2 = sorted(fleet.sensors)[:2]
    other_shelter_sensor = next(s for s in fleet.sensors if fleet.sensors[s] != fleet.sensors[s1])
    t = now_ms()
    good = {"ts": t, "temperature": 20.0}
    cases: dict[str, tuple[str, Any]] = {
        "malformed_json": (topic(fleet, s1), b'{"temperature": 20'),
        "payload_too_large": (topic(fleet, s1), b"[" + b" " * 262_144 + b"]"),
        "batch_too_large": (topic(fleet, s1), [good] * 1001),
        "not_an_object": (topic(fleet, s1), [42]),
        "bad_topic": ("shelters/bad code!/x/telemetry", good),
        "no_metric": (topic(fleet, s1), {"ts": t, "battery": 3.3}),
        "not_a_number": (topic(fleet, s1), {"ts": t, "temperature": "hot"}),
        "out_of_range": (topic(fleet, s1), {"ts": t, "humidity": 130}),
        "naive_timestamp": (topic(fleet, s1), {"ts": "2026-06-01T10:00:00", "humidity": 50}),
        "bad_timestamp": (topic(fleet, s1), {"ts": "yesterday", "humidity": 50}),
        "future_timestamp": (topic(fleet, s1), {"ts": t + 3_600_000, "humidity": 50}),
        "too_old": (topic(fleet, s1), {"ts": t - 400 * 86_400_000, "humidity": 50}),
        "unknown_sensor": (
            f"shelters/{fleet.sensors[s1]}/{other_shelter_sensor}/telemetry",
            {"ts": t, "temperature": 20.0},
        ),
    }
    for tp, payload in cases.values():
        publisher.publish(tp, payload)
    # A batch mixing good and bad readings: the good ones are stored.
    publisher.publish(
        topic(fleet, s2),
        [
            {"ts": t - 1, "temperature": 21.0},
            {"ts": t - 2, "temperature": 999},
            {"ts": t - 3, "temperature": 22.0},
        ],
    )
    wait_until(lambda: influx_count(influx_db) == 2, 20, "the 2 good readings of the batch")
    store = SqlRejectStore(pg_engine, 1000)

    def all_recorded() -> bool:
        reasons = {r.reason for r in store.list(limit=100, offset=0)[0]}
        return set(cases) <= reasons

    wait_until(all_recorded, 20, "every rejection recorded")
    rows, total = store.list(limit=100, offset=0)
    assert total == len(cases) + 1  # + the bad element of the mixed batch
    mixed = [r for r in rows if r.topic == topic(fleet, s2)]
    assert [(r.reason, r.batch_index) for r in mixed] == [("out_of_range", 1)]
    assert "999" in mixed[0].detail
    too_large = next(r for r in rows if r.reason == "payload_too_large")
    assert len(too_large.raw) <= 2048
    metrics = ingester.metrics()
    for reason in cases:
        expected = 2.0 if reason == "out_of_range" else 1.0  # + the mixed batch's bad element
        assert rejected_metric(metrics, reason) == expected, reason


def test_the_same_reading_delivered_twice_is_stored_once(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, influx_db: str
) -> None:
    ingester.start()
    sensor = sorted(fleet.sensors)[0]
    payload = {"ts": now_ms() - 5000, "temperature": 19.5, "humidity": 61.0}
    publisher.publish(topic(fleet, sensor), payload)
    publisher.publish(topic(fleet, sensor), payload)
    publisher.publish(topic(fleet, sensor), {"ts": now_ms() - 4000, "temperature": 19.6})
    wait_until(
        lambda: "shelterwatch_ingest_messages_acked_total 3.0" in ingester.metrics(),
        20,
        "three messages acknowledged",
    )
    assert influx_count(influx_db) == 2


def _influxd(action: str) -> None:
    if action == "stop":
        subprocess.run(
            [
                "start-stop-daemon",
                "--stop",
                "--retry",
                "10",
                "--pidfile",
                "/run/shelterwatch-influxd.pid",
            ],
            check=True,
        )
    else:
        subprocess.run(
            ["bash", str(ROOT / "deploy/dev/services.sh")], check=True, capture_output=True
        )


def _publish_in_background(
    publisher: Publisher, items: list[tuple[str, Any]], pause_every: int, pause_s: float
) -> threading.Thread:
    def run() -> None:
        for i in range(0, len(items), pause_every):
            publisher.publish_many(items[i : i + pause_every])
            time.sleep(pause_s)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_influxdb_outage_mid_stream_loses_nothing(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, influx_db: str
) -> None:
    ingester.start()
    items = stream(fleet, messages=400, per_message=5, start_ms=now_ms() - 10_000)
    thread = _publish_in_background(publisher, items, pause_every=20, pause_s=0.05)
    wait_until(lambda: influx_count(influx_db) > 0, 20, "the first readings stored")
    _influxd("stop")
    try:
        wait_until(lambda: not ingester.ready(), 20, "readiness to report the outage")
        wait_until(
            lambda: "shelterwatch_ingest_spool_depth 0.0" not in ingester.metrics(),
            30,
            "readings spooled while InfluxDB is down",
        )
    finally:
        _influxd("start")
    thread.join(120)
    wait_until(lambda: influx_count(influx_db) == 2000, 90, "all 2000 readings stored", every=0.5)
    wait_until(
        lambda: "shelterwatch_ingest_spool_depth 0.0" in ingester.metrics(),
        30,
        "the spool to drain",
    )
    assert ingester.ready()


def test_sigkill_of_the_ingester_mid_stream_loses_nothing(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, influx_db: str
) -> None:
    ingester.start()
    items = stream(fleet, messages=600, per_message=5, start_ms=now_ms() - 10_000)
    thread = _publish_in_background(publisher, items, pause_every=30, pause_s=0.05)
    wait_until(lambda: influx_count(influx_db) >= 300, 30, "part of the stream stored")
    ingester.kill()
    stored_at_kill = influx_count(influx_db)
    thread.join(120)
    assert stored_at_kill < 3000
    ingester.start()
    wait_until(lambda: influx_count(influx_db) == 3000, 90, "all 3000 readings stored", every=0.5)


def test_sigterm_flushes_and_exits_cleanly(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, influx_db: str
) -> None:
    ingester.start()
    publisher.publish_many(stream(fleet, messages=50, per_message=4, start_ms=now_ms() - 5000))
    # uvicorn re-raises SIGTERM once its graceful shutdown has finished.
    assert ingester.terminate() in (0, -15)
    assert influx_count(influx_db) == 200
    log = ingester.log.read_text()
    assert "ingester stopped" in log
    assert "Traceback" not in log


def test_raw_payload_kept_for_a_rejection(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, pg_engine: Engine
) -> None:
    ingester.start()
    sensor = sorted(fleet.sensors)[0]
    raw = json.dumps({"ts": now_ms(), "humidity": -5})
    publisher.publish(topic(fleet, sensor), raw)
    store = SqlRejectStore(pg_engine, 1000)

    def ours() -> list[StoredReject]:
        # The ingester hears every shelter's topic on the broker: keep this test's sensor's.
        return [x for x in store.list(limit=100, offset=0)[0] if x.topic == topic(fleet, sensor)]

    wait_until(lambda: len(ours()) == 1, 20, "the rejection recorded")
    [row] = ours()
    assert row.reason == "out_of_range"
    assert json.loads(row.raw) == json.loads(raw)
    assert row.received_at > datetime.now(UTC) - timedelta(minutes=1)


def test_a_breaching_reading_reaches_the_platform_alert_topic(
    ingester: IngesterProcess, fleet: Fleet, publisher: Publisher, pg_engine: Engine
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    received: list[dict[str, Any]] = []
    shelter = fleet.shelters[0]
    sub = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"it-alerts-{fleet.tag}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    sub.on_message = lambda _c, _u, msg: received.append(json.loads(msg.payload))
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(f"shelters/{shelter}/alerts", qos=1)
    sub.loop_start()
    try:
        ingester.start()
        sensor = next(s for s, code in fleet.sensors.items() if code == shelter)
        publisher.publish(
            topic(fleet, sensor), {"ts": now_ms(), "temperature": 21.0, "fire_risk": 92.0}
        )
        wait_until(
            lambda: any(m["payload"]["rule"] == "fire_risk_critical" for m in received),
            20,
            "the alert on the platform topic",
        )
    finally:
        sub.disconnect()
        sub.loop_stop()
    message = next(m for m in received if m["payload"]["rule"] == "fire_risk_critical")
    assert message["kind"] == "alert_raised"
    alert = message["payload"]
    assert (alert["event"], alert["shelter"], alert["sensor"], alert["severity"]) == (
        "raised",
        shelter,
        sensor,
        "critical",
    )
    assert alert["value"] == 5.0  # the fire-risk level

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inspection.models import Delivery, DeliveryAttempt, OutboxStatus

    def recorded() -> bool:
        with Session(pg_engine) as s:
            row = s.scalar(select(Delivery).where(Delivery.notification_id == message["id"]))
            return row is not None and row.status == OutboxStatus.DELIVERED

    wait_until(recorded, 10, "the fast path to record the delivery")
    with Session(pg_engine) as s:
        [delivery] = s.scalars(
            select(Delivery).where(Delivery.notification_id == message["id"])
        ).all()
        attempts = s.scalars(
            select(DeliveryAttempt.ok).where(DeliveryAttempt.delivery_id == delivery.id)
        ).all()
    assert (delivery.channel, delivery.target, list(attempts)) == (
        "mqtt",
        f"shelters/{shelter}/alerts",
        [True],
    )
