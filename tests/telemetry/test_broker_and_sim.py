"""The sensor simulator's value model, the embedded amqtt broker, and both brokers end to end.

The value tests are pure. The broker tests run the in-process amqtt broker on a free port;
the ``mqtt`` tests use the real Mosquitto at 127.0.0.1:1883, with shelter codes and client
ids unique to the run so that concurrent runs never see each other's messages.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.access import AccountRole, service_account
from telemetry.broker import EmbeddedBroker
from telemetry.broker_access import AccessTable
from telemetry.errors import BrokerUnreachable
from telemetry.intake import Delivery, ack_refs
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from telemetry.payload import parse_payload
from telemetry.readings import (
    FIRE_RISK_RANGE,
    HUMIDITY_RANGE,
    TEMPERATURE_RANGE,
    Reading,
)
from telemetry.sim_model import FIRE_RAMP, Dampness, FireEvent, Fleet, Malformation, malformed
from telemetry.simulate import Simulator
from telemetry.validation import Validator
from tests.waiting import wait_until

SUMMER = datetime(2025, 7, 1, tzinfo=UTC)
WINTER = datetime(2025, 1, 15, tzinfo=UTC)
MOSQUITTO = BrokerAddress("127.0.0.1", 1883)
INGESTER = ("shelterwatch-ingest", "ingester-password")
SIMULATOR = ("shelterwatch-simulator", "simulator-password")


def _run_id() -> str:
    return uuid.uuid4().hex[:8]


def _samples(start: datetime, hours: float, step_min: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(0, int(hours * 60), step_min)]


def _longest_run(flags: Sequence[bool]) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


# -- the value model -------------------------------------------------------------------------
def test_readings_are_deterministic_for_a_seed() -> None:
    one, same, other = (Fleet.generate(3, 4, seed) for seed in (11, 11, 12))
    times = _samples(SUMMER, 24, 37)
    first = [one.reading_at(s, t) for s in one.sensors for t in times]
    assert first == [same.reading_at(s, t) for s in same.sensors for t in times]
    assert first != [other.reading_at(s, t) for s in other.sensors for t in times]


def test_fleet_codes_zones_and_directory() -> None:
    fleet = Fleet.generate(12, 3, 1, district_names=("甲区", "乙区"))
    assert fleet.shelters[:2] == ["SIM-001", "SIM-002"]
    assert len(fleet.shelters) == 12
    first = fleet.sensors[0]
    assert (first.shelter_code, first.sensor_id, first.zone) == ("SIM-001", "SIM-001-S1", "滤毒室")
    assert {s.zone for s in fleet.sensors} == {"滤毒室", "主通道", "配电间"}
    placement = fleet.get("SIM-002-S3")
    assert placement is not None
    assert (placement.shelter_code, placement.district, placement.zone) == (
        "SIM-002",
        "乙区",
        "配电间",
    )
    assert fleet.get("SIM-099-S1") is None
    assert placement in fleet.placements()
    assert len(fleet.placements()) == 36


def test_every_reading_is_plausible_and_parses_cleanly() -> None:
    fleet = Fleet.generate(12, 6, 5, damp_fraction=0.3, wet_fraction=0.2)
    assert set(fleet.dampness.values()) == set(Dampness)
    temperatures: list[float] = []
    leaks = dict.fromkeys(Dampness, 0)
    for ts in _samples(datetime(2025, 1, 1, tzinfo=UTC), 365 * 24, 3 * 24 * 60 + 97):
        for sensor in fleet.sensors:
            obj = fleet.reading_at(sensor, ts)
            assert obj["ts"] == int(ts.timestamp() * 1000)
            payload = json.dumps(obj).encode()
            result = parse_payload(sensor.topic, payload, ts + timedelta(seconds=1))
            assert result.rejects == []
            (reading,) = result.readings
            assert reading.temperature is not None and reading.humidity is not None
            assert TEMPERATURE_RANGE[0] <= reading.temperature <= TEMPERATURE_RANGE[1]
            assert HUMIDITY_RANGE[0] <= reading.humidity <= HUMIDITY_RANGE[1]
            assert reading.battery is not None and 2.9 <= reading.battery <= 3.6
            if sensor.zone == "配电间":
                assert reading.fire_risk is not None
                assert FIRE_RISK_RANGE[0] <= reading.fire_risk <= FIRE_RISK_RANGE[1]
                assert reading.smoke is False
            else:
                assert reading.fire_risk is None
            if sensor.zone == "水泵房":
                assert reading.water_leak is not None
                leaks[fleet.dampness[sensor.shelter_code]] += reading.water_leak
            else:
                assert reading.water_leak is None
            temperatures.append(reading.temperature)
    assert min(temperatures) >= 12.0
    assert max(temperatures) <= 24.0
    # Only the pump rooms of wet shelters flood.
    assert leaks[Dampness.DRY] == leaks[Dampness.DAMP] == 0
    assert leaks[Dampness.WET] > 0


def test_summer_is_warmer_than_winter_underground() -> None:
    fleet = Fleet.generate(4, 2, 3)

    def mean(start: datetime) -> float:
        values: list[float] = [
            fleet.reading_at(s, t)["temperature"]
            for s in fleet.sensors
            for t in _samples(start, 24, 60)
        ]
        return sum(values) / len(values)

    assert mean(SUMMER) > mean(WINTER) + 2.5


def _shelter_humidity(dampness: Dampness, start: datetime, hours: float) -> list[float]:
    fleet = Fleet.generate(1, 1, 9)
    fleet = Fleet(fleet.sensors, fleet.seed, {"SIM-001": dampness})
    sensor = fleet.sensors[0]
    return [fleet.reading_at(sensor, t)["humidity"] for t in _samples(start, hours, 10)]


def test_damp_shelter_is_above_75_for_hours_of_some_day() -> None:
    # Eight days hold at least one whole 4-day block, and so one whole spell.
    start = datetime(2025, 3, 1, tzinfo=UTC)
    days = [_shelter_humidity(Dampness.DAMP, start + timedelta(days=d), 24) for d in range(8)]
    hours_above = [sum(h >= 75.0 for h in day) / 6 for day in days]
    assert max(hours_above) >= 6.0
    # The spell lasts 30–60 h in a row: long enough for the 24 h humidity warning.
    block = [h for day in days for h in day]
    assert 24 * 6 <= _longest_run([h >= 75.0 for h in block]) <= 60 * 6
    dry = _shelter_humidity(Dampness.DRY, start, 8 * 24)
    assert max(dry) <= 80.0
    assert min(dry) >= 55.0


def test_wet_shelter_stays_above_85_for_three_days() -> None:
    block = _shelter_humidity(Dampness.WET, datetime(2025, 3, 1, tzinfo=UTC), 8 * 24)
    assert _longest_run([h >= 85.0 for h in block]) >= 72 * 6


def test_fire_ramps_to_40_60_degrees_with_smoke_in_its_shelter_only() -> None:
    fleet = Fleet.generate(2, 3, 4)
    fire = FireEvent("SIM-001", SUMMER)
    for sensor in fleet.sensors:
        before = fleet.reading_at(sensor, SUMMER - timedelta(minutes=1), fire=fire)
        after = fleet.reading_at(sensor, SUMMER + FIRE_RAMP + timedelta(minutes=5), fire=fire)
        assert before["temperature"] < 25.0
        assert before.get("smoke") in (None, False)
        if sensor.shelter_code == "SIM-001":
            assert 40.0 < after["temperature"] <= 60.0
            assert after["smoke"] is True
            assert after["co"] >= 150.0
            reading = parse_payload(
                sensor.topic, json.dumps(after).encode(), SUMMER + timedelta(hours=1)
            ).readings[0]
            assert reading.temperature == after["temperature"]
        else:
            assert after["temperature"] < 25.0
            assert after.get("smoke") in (None, False)
    halfway = fleet.reading_at(fleet.sensors[0], SUMMER + FIRE_RAMP / 2, fire=fire)
    assert halfway["smoke"] is True
    assert 25.0 < halfway["temperature"] < 40.0


def test_battery_drains_slowly_then_is_replaced() -> None:
    fleet = Fleet.generate(1, 1, 2)
    sensor = fleet.sensors[0]
    week = [fleet.reading_at(sensor, SUMMER + timedelta(days=d))["battery"] for d in range(400)]
    drops = [a - b for a, b in itertools.pairwise(week)]
    assert sum(d > 0 for d in drops) > 390
    assert max(d for d in drops if d > 0) < 0.01
    assert any(d < -0.5 for d in drops)


@pytest.mark.parametrize("kind", list(Malformation))
def test_each_malformation_gets_its_reject_reason(kind: Malformation, tmp_path: Path) -> None:
    fleet = Fleet.generate(1, 2, 0)
    topic, payload = malformed(kind, fleet.sensors[1], SUMMER)
    received = SUMMER + timedelta(seconds=2)
    readings, rejects = Validator(fleet).validate([Delivery(topic, payload, 1, 1, 0, received)])
    assert readings == []
    assert [r.reason for r in rejects] == [kind.expected]
    if kind is not Malformation.UNKNOWN_SENSOR:
        assert [r.reason for r in parse_payload(topic, payload, received).rejects] == [
            kind.expected
        ]


def test_schedule_follows_intervals_time_scale_and_silence() -> None:
    fleet = Fleet.generate(2, 5, 8, interval_s=60)
    sim = Simulator(
        MOSQUITTO, fleet=fleet, time_scale=60.0, silent_fraction=0.4, silent_after_s=10.0
    )
    assert 0 < len(sim.silent_ids) < len(fleet.sensors)
    due_by_sensor: dict[str, list[float]] = {}
    for due, sensor, n in _take(sim.schedule(), 300):
        assert n == 1
        due_by_sensor.setdefault(sensor.sensor_id, []).append(due)
    for sensor_id, dues in due_by_sensor.items():
        gaps = {round(b - a, 6) for a, b in itertools.pairwise(dues)}
        assert gaps == {1.0}
        if sensor_id in sim.silent_ids:
            assert max(dues) < 10.0
        else:
            assert max(dues) > 20.0
    assert set(due_by_sensor) == {s.sensor_id for s in fleet.sensors}


def _take(items: Iterator[Any], n: int) -> list[Any]:
    return [item for _, item in zip(range(n), items, strict=False)]


# -- a subscriber that records what it receives ------------------------------------------------
class _Collector:
    """Plain paho QoS 1 subscriber to one topic filter, MQTT 5 clean start or 3.1.1."""

    def __init__(
        self,
        address: BrokerAddress,
        topic: str,
        *,
        v5: bool = True,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.topic = topic
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-collector-{_run_id()}",
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        )
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.ReceiveMaximum = 1000
        self.client.connect(address.host, address.port, properties=properties)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            self.close()
            raise AssertionError(f"no SUBACK for {topic}")

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def received(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _readings(messages: Sequence[tuple[str, bytes]], at: datetime) -> list[Reading]:
    readings: list[Reading] = []
    for topic, payload in messages:
        result = parse_payload(topic, payload, at)
        assert result.rejects == []
        readings.extend(result.readings)
    return readings


# -- the embedded broker -----------------------------------------------------------------------
@pytest.fixture
def thread_check() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    wait_until(lambda: set(threading.enumerate()) <= before, 5.0, "threads to end")


def _accounts(directory: Path) -> AccessTable:
    """The embedded broker's system accounts these tests log in with."""
    return AccessTable(
        directory / "mqtt-accounts.json",
        [
            service_account(INGESTER[0], AccountRole.INGESTER, INGESTER[1]),
            service_account(SIMULATOR[0], AccountRole.SIMULATOR, SIMULATOR[1]),
        ],
    )


def _as(broker: EmbeddedBroker, login: tuple[str, str]) -> BrokerAddress:
    return BrokerAddress("127.0.0.1", broker.port, *login)


@pytest.fixture
def broker(thread_check: None, tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(port=0, access=_accounts(tmp_path)) as running:
        assert running.running
        assert running.port != 0
        yield running
    assert not running.running


def test_persistent_session_gets_all_500_after_reconnect(broker: EmbeddedBroker) -> None:
    fleet = Fleet.generate(1, 5, 21, prefix=f"S{_run_id()}")
    address = _as(broker, INGESTER)
    topic = f"shelters/{fleet.shelters[0]}/+/telemetry"
    client_id = f"test-ingester-{_run_id()}"
    received: dict[tuple[str, bytes], int] = {}
    lock = threading.Lock()

    def subscriber() -> MqttSubscriber:
        def deliver(deliveries: Sequence[Delivery]) -> None:
            with lock:
                for d in deliveries:
                    key = (d.topic, d.payload)
                    received[key] = received.get(key, 0) + 1
            sub.ack(ack_refs(deliveries))

        sub = MqttSubscriber(
            address, client_id=client_id, on_deliveries=deliver, protocol="3.1.1", topic=topic
        )
        return sub

    first = subscriber()
    first.start()
    wait_until(
        lambda: (s := broker.session(client_id)) is not None and topic in s.subscriptions,
        10,
        "the subscription",
    )
    first.stop()
    wait_until(
        lambda: (s := broker.session(client_id)) is not None and not s.connected,
        10,
        "the broker to see the disconnect",
    )

    # amqtt drops what it acknowledged but has not yet handed on when the publisher
    # disconnects, so this publisher stays until the broker has queued every message.
    sim = Simulator(_as(broker, SIMULATOR), fleet=fleet, protocol="3.1.1")
    publisher = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"test-pub-{_run_id()}",
        protocol=MQTTProtocolVersion.MQTTv311,
    )
    publisher.username_pw_set(*SIMULATOR)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        sent = [
            publisher.publish(m.topic, m.payload, qos=1)
            for m in sim.backlog(500, 1, datetime.now(UTC) - timedelta(hours=1), 1000)
        ]
        for info in sent:
            info.wait_for_publish(10)
        wait_until(
            lambda: (s := broker.session(client_id)) is not None and s.queued == 500,
            10,
            "500 queued messages",
        )
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    assert received == {}

    second = subscriber()
    second.start()
    try:
        wait_until(lambda: len(received) >= 500, 30, "the queued backlog")
        time.sleep(0.2)
    finally:
        second.stop()
    assert len(received) == 500
    assert set(received.values()) == {1}
    readings = _readings(list(received), datetime.now(UTC))
    assert len({(r.sensor_id, r.ts) for r in readings}) == 500


def test_malformed_messages_rotate_through_every_kind(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    fleet = Fleet.generate(1, 2, 2, prefix=f"M{_run_id()}")
    topic = f"shelters/{fleet.shelters[0]}/+/telemetry"
    collector = _Collector(_as(broker, INGESTER), topic, v5=False, login=INGESTER)
    try:
        sim = Simulator(
            _as(broker, SIMULATOR), fleet=fleet, protocol="3.1.1", batch=4, malformed_every=2
        )
        stats = sim.publish_backlog(40, step_ms=1000)
        # 10 messages of 4 readings, a broken one before each but the first.
        assert (stats.readings, stats.messages, stats.malformed) == (40, 19, 9)
        wait_until(lambda: len(collector.received()) == 19, 10, "19 messages")
    finally:
        collector.close()
    now = datetime.now(UTC)
    deliveries = [Delivery(t, p, i, 1, 0, now) for i, (t, p) in enumerate(collector.received())]
    readings, rejects = Validator(fleet).validate(deliveries)
    assert len(readings) == 40
    kinds = list(Malformation)
    assert [r.reason for r in rejects] == [kinds[i % len(kinds)].expected for i in range(9)]


def test_amqtt_refuses_mqtt_5(broker: EmbeddedBroker) -> None:
    fleet = Fleet.generate(1, 1, 0, prefix=f"V{_run_id()}")
    sim = Simulator(_as(broker, SIMULATOR), fleet=fleet, protocol="5")
    with pytest.raises(BrokerUnreachable, match="refused"):
        sim.publish_backlog(1)


def test_start_on_a_port_in_use_raises(broker: EmbeddedBroker) -> None:
    with pytest.raises(RuntimeError, match="port in use"):
        EmbeddedBroker(port=broker.port, access=broker.access).start()


def test_stop_from_another_thread_ends_a_live_run(broker: EmbeddedBroker) -> None:
    fleet = Fleet.generate(1, 2, 0, prefix=f"L{_run_id()}")
    sim = Simulator(_as(broker, SIMULATOR), fleet=fleet, protocol="3.1.1", time_scale=120.0)
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(sim.run()), daemon=True)
    runner.start()
    time.sleep(1.5)
    sim.stop()
    runner.join(5)
    assert not runner.is_alive()
    # Two sensors every 60 s / 120: about 4 messages a second.
    assert 3 <= result[0].readings <= 10


def _unacked_then_reconnect(
    address: BrokerAddress, publisher_login: tuple[str, str] | None = None
) -> list[tuple[bytes, bool]]:
    """What a 3.1.1 persistent session gets after reconnecting, having left one message
    delivered but unacknowledged. The session is removed from the broker afterwards. The
    subscriber logs in as ``address`` says; the publisher with ``publisher_login``."""
    client_id, topic = f"test-unacked-{_run_id()}", f"shelters/U{_run_id()}/s1/telemetry"
    got: list[tuple[bytes, bool, int]] = []

    def session(clean: bool) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=clean,
            manual_ack=True,
        )
        if address.username:
            client.username_pw_set(address.username, address.password)
        subscribed = threading.Event()
        client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = lambda _c, _u, m: got.append((bytes(m.payload), m.dup, m.mid))
        client.connect(address.host, address.port)
        client.loop_start()
        assert subscribed.wait(10)
        return client

    def close(client: mqtt.Client) -> None:
        client.disconnect()
        client.loop_stop()

    first = session(clean=False)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
    if publisher_login is not None:
        publisher.username_pw_set(*publisher_login)
    publisher.connect(address.host, address.port)
    publisher.loop_start()
    publisher.publish(topic, b"unacked", qos=1).wait_for_publish(10)
    close(publisher)
    wait_until(lambda: len(got) == 1, 10, "the first delivery")
    close(first)
    got.clear()
    second = session(clean=False)
    time.sleep(1.0)
    for _payload, _dup, mid in got:
        second.ack(mid, 1)
    close(second)
    close(session(clean=True))
    return [(payload, dup) for payload, dup, _mid in got]


@pytest.mark.parametrize(
    "use_amqtt",
    [
        pytest.param(True, id="amqtt"),
        pytest.param(False, id="mosquitto", marks=pytest.mark.mqtt),
    ],
)
def test_unacknowledged_message_at_disconnect(
    use_amqtt: bool, thread_check: None, tmp_path: Path
) -> None:
    """amqtt 0.12 cancels a delivery's PUBACK wait when the client goes and forgets the
    message; MQTT 3.1.1 (4.4) and Mosquitto resend it, flagged DUP, on reconnect."""
    if use_amqtt:
        with EmbeddedBroker(port=0, access=_accounts(tmp_path)) as broker:
            redelivered = _unacked_then_reconnect(_as(broker, INGESTER), SIMULATOR)
        assert redelivered == []
    else:
        assert _unacked_then_reconnect(MOSQUITTO) == [(b"unacked", True)]


# -- the real Mosquitto --------------------------------------------------------------------
@pytest.mark.mqtt
def test_backlog_of_2000_in_batches_through_mosquitto_mqtt5(thread_check: None) -> None:
    fleet = Fleet.generate(1, 8, 33, prefix=f"B{_run_id()}")
    collector = _Collector(MOSQUITTO, f"shelters/{fleet.shelters[0]}/+/telemetry")
    try:
        sim = Simulator(MOSQUITTO, fleet=fleet, protocol="5")
        stats = sim.publish_backlog(2000, batch=100, step_ms=1000)
        assert (stats.messages, stats.readings) == (24, 2000)
        wait_until(lambda: len(collector.received()) == 24, 10, "24 messages")
    finally:
        collector.close()
    readings = _readings(collector.received(), datetime.now(UTC))
    assert len(readings) == 2000
    assert len({(r.sensor_id, r.ts) for r in readings}) == 2000
    assert {r.sensor_id for r in readings} == {s.sensor_id for s in fleet.sensors}
