"""Throughput of the embedded amqtt broker against Mosquitto, and amqtt's offline queue.

Run: ``python bench/bench_broker.py`` with Mosquitto listening on 127.0.0.1:1883; the amqtt
broker is started in-process on a free port.

1. Stream: one QoS 1 publisher to one QoS 1 subscriber, 20,000 small telemetry messages
   (about 100 bytes, from the simulator), at most 100 unacknowledged. Messages per second
   from the first publish to the last message received. amqtt speaks MQTT 3.1.1 only, so
   Mosquitto is measured with 3.1.1 (like for like) and with MQTT 5.
2. Backlog: a persistent-session subscriber (clean session off) subscribes and disconnects,
   20,000 messages are published, then it reconnects; counts what arrives and how fast.
   Mosquitto keeps at most ``max_queued_messages`` per session (1,000 unless configured;
   ``deploy/mosquitto/shelterwatch.conf`` raises it), so its figure depends on the server.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.access import AccountRole, service_account
from telemetry.broker import EmbeddedBroker
from telemetry.broker_access import AccessTable
from telemetry.mqtt import BrokerAddress
from telemetry.sim_model import Fleet

N = 20_000
WINDOW = 100
MOSQUITTO = BrokerAddress("127.0.0.1", 1883)
INGESTER = ("shelterwatch-ingest", "bench-ingester")
SIMULATOR = ("shelterwatch-simulator", "bench-simulator")


def _accounts(var: str) -> AccessTable:
    return AccessTable(
        Path(var) / "mqtt-accounts.json",
        [
            service_account(INGESTER[0], AccountRole.INGESTER, INGESTER[1]),
            service_account(SIMULATOR[0], AccountRole.SIMULATOR, SIMULATOR[1]),
        ],
    )


def _client(
    client_id: str, protocol: str, address: BrokerAddress, *, clean: bool = True
) -> mqtt.Client:
    v5 = protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if v5 else clean,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    return client


class Counter:
    """A QoS 1 subscriber that counts distinct payloads and notes when the last arrived."""

    def __init__(
        self, address: BrokerAddress, topic: str, protocol: str, *, persistent: bool
    ) -> None:
        self.address, self.topic, self.protocol = address, topic, protocol
        self.persistent = persistent
        self.client_id = f"bench-sub-{uuid.uuid4().hex[:10]}"
        self.payloads: set[bytes] = set()
        self.last = 0.0
        self.subscribed = threading.Event()
        self._cond = threading.Condition()
        self.client: mqtt.Client | None = None

    def connect(self, *, clean: bool = False) -> None:
        clean_start = clean or not self.persistent
        client = _client(self.client_id, self.protocol, self.address, clean=clean_start)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_: self.subscribed.set()
        client.on_message = self._on_message
        if self.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0 if clean_start else 300
            client.connect(
                self.address.host,
                self.address.port,
                clean_start=clean_start,
                properties=properties,
            )
        else:
            client.connect(self.address.host, self.address.port)
        client.loop_start()
        self.client = client

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if not flags.session_present:
            client.subscribe(self.topic, qos=1)
        else:
            self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.payloads.add(bytes(msg.payload))
            self.last = time.perf_counter()
            self._cond.notify_all()

    def wait_count(self, count: int, timeout: float) -> bool:
        """True once ``count`` distinct payloads arrived, False after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.payloads) >= count, timeout)

    def wait_idle(self, idle_s: float, timeout: float) -> None:
        """Return once all `N` arrived or nothing new for ``idle_s`` seconds (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while time.monotonic() < deadline and len(self.payloads) < N:
                seen = len(self.payloads)
                self._cond.wait(idle_s)
                if len(self.payloads) == seen:
                    return


def _messages(prefix: str) -> list[tuple[str, bytes]]:
    fleet = Fleet.generate(1, 20, 1, prefix=prefix)
    start = datetime.now(UTC) - timedelta(hours=6)
    out = []
    for i in range(N):
        sensor = fleet.sensors[i % len(fleet.sensors)]
        ts = start + timedelta(seconds=i)
        out.append((sensor.topic, json.dumps(fleet.reading_at(sensor, ts)).encode()))
    return out


def _publish(
    address: BrokerAddress,
    protocol: str,
    messages: list[tuple[str, bytes]],
    receiver: Counter | None = None,
) -> float:
    """Publish all with QoS 1, at most `WINDOW` unconfirmed; returns seconds until all PUBACKed.

    With a ``receiver``, also at most `WINDOW` published but not yet received, so that a
    slower subscriber is never overrun (Mosquitto drops what exceeds a client's queue).
    """
    client = _client(f"bench-pub-{uuid.uuid4().hex[:10]}", protocol, address)
    up = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not reason.is_failure:
            up.set()

    client.on_connect = on_connect
    client.connect(address.host, address.port)
    client.loop_start()
    if not up.wait(10):
        raise RuntimeError(f"publisher could not connect to {address.host}:{address.port}")
    started = time.perf_counter()
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    for sent, (topic, payload) in enumerate(messages):
        if receiver is not None and not receiver.wait_count(sent - WINDOW + 1, 60):
            raise RuntimeError(f"subscriber stalled at {len(receiver.payloads)} messages")
        pending.append(client.publish(topic, payload, qos=1))
        if len(pending) >= WINDOW:
            pending.popleft().wait_for_publish(60)
    for info in pending:
        info.wait_for_publish(60)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


@dataclass
class Stream:
    label: str
    per_s: float
    publish_per_s: float


def stream(
    label: str, address: BrokerAddress, protocol: str, publisher: BrokerAddress | None = None
) -> Stream:
    prefix = f"BENCH{uuid.uuid4().hex[:6]}"
    messages = _messages(prefix)
    counter = Counter(address, f"shelters/{prefix}-001/+/telemetry", protocol, persistent=False)
    counter.connect()
    if not counter.subscribed.wait(10):
        raise RuntimeError(f"{label}: no SUBACK")
    started = time.perf_counter()
    publish_s = _publish(publisher or address, protocol, messages, counter)
    complete = counter.wait_count(N, 60)
    counter.disconnect()
    got = len(counter.payloads)
    if not complete:
        print(f"{label}: only {got} of {N} messages arrived")
    return Stream(label, got / (counter.last - started), N / publish_s)


def backlog(
    label: str,
    address: BrokerAddress,
    protocol: str,
    broker: EmbeddedBroker | None = None,
    publisher: BrokerAddress | None = None,
) -> None:
    prefix = f"BENCH{uuid.uuid4().hex[:6]}"
    messages = _messages(prefix)
    counter = Counter(address, f"shelters/{prefix}-001/+/telemetry", protocol, persistent=True)
    counter.connect()
    if not counter.subscribed.wait(10):
        raise RuntimeError(f"{label}: no SUBACK")
    counter.disconnect()
    time.sleep(0.5)
    _publish(publisher or address, protocol, messages)
    if broker is not None:
        deadline = time.monotonic() + 60
        while (s := broker.session(counter.client_id)) is None or s.queued < N:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        info = broker.session(counter.client_id)
        print(f"{label}: broker holds {info.queued if info else 0} queued messages")
    else:
        time.sleep(1.0)
    started = time.perf_counter()
    counter.connect()
    counter.wait_idle(2.0, 120)
    counter.disconnect()
    got = len(counter.payloads)
    seconds = (counter.last - started) if got else 0.0
    rate = f"{got / seconds:,.0f} msgs/s" if seconds > 0 else "-"
    print(
        f"{label}: {got:,} of {N:,} queued messages delivered after reconnect in {seconds:.2f} s"
        f" ({rate})"
    )
    if protocol == "5":
        counter.connect(clean=True)  # drop the session from the server
        time.sleep(0.3)
        counter.disconnect()


def main() -> None:
    print(f"{N:,} QoS 1 messages, one publisher -> one subscriber, window {WINDOW}")
    # The embedded broker admits only accounts: the subscriber is the ingester, the publisher
    # the simulator (both checked on every message, as in use).
    with (
        tempfile.TemporaryDirectory() as var,
        EmbeddedBroker(port=0, access=_accounts(var)) as broker,
    ):
        subscriber = BrokerAddress("127.0.0.1", broker.port, *INGESTER)
        publisher = BrokerAddress("127.0.0.1", broker.port, *SIMULATOR)
        results = [stream("amqtt 0.12 (MQTT 3.1.1)", subscriber, "3.1.1", publisher)]
        backlog("amqtt backlog", subscriber, "3.1.1", broker, publisher)
    results.append(stream("Mosquitto (MQTT 3.1.1)", MOSQUITTO, "3.1.1"))
    results.append(stream("Mosquitto (MQTT 5)", MOSQUITTO, "5"))
    backlog("Mosquitto backlog (MQTT 5)", MOSQUITTO, "5")
    print()
    for r in results:
        print(
            f"{r.label:<26} {r.per_s:>10,.0f} msgs/s end to end"
            f"   (publisher confirmed {r.publish_per_s:,.0f}/s)"
        )
    amqtt, mosq311 = results[0].per_s, results[1].per_s
    print(f"Mosquitto / amqtt (3.1.1): {mosq311 / amqtt:.1f}x")


if __name__ == "__main__":
    main()
