"""The embedded broker's limits, with real clients: a packet over the size limit closes its
connection from the fixed header alone, and a disconnected session's queue stops at its bound.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from telemetry.access import AccountRole, service_account
from telemetry.broker import EmbeddedBroker
from telemetry.broker_access import AccessTable
from telemetry.broker_limits import BrokerLimits, LimitedStream, PacketTooLarge
from telemetry.mqtt import BrokerAddress
from tests.telemetry.brokers import Probe
from tests.waiting import wait_until

INGESTER = ("shelterwatch-ingest", "ingester-password")
SIMULATOR = ("shelterwatch-simulator", "simulator-password")
HUNDRED_MB = 100 * 1024 * 1024


def _accounts(directory: Path) -> AccessTable:
    return AccessTable(
        directory / "mqtt-accounts.json",
        [
            service_account(INGESTER[0], AccountRole.INGESTER, INGESTER[1]),
            service_account(SIMULATOR[0], AccountRole.SIMULATOR, SIMULATOR[1]),
        ],
    )


def _address(broker: EmbeddedBroker) -> BrokerAddress:
    return BrokerAddress("127.0.0.1", broker.port)


def _topic() -> str:
    return f"shelters/L{uuid.uuid4().hex[:8]}/T1/telemetry"


def _counted(broker: EmbeddedBroker, name: str) -> float:
    value = broker.metrics.registry.get_sample_value(f"{name}_total")
    return 0.0 if value is None else value


@pytest.fixture
def thread_check() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    wait_until(lambda: set(threading.enumerate()) <= before, 5.0, "threads to end")


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _connect(client_id: str, username: str, password: str) -> bytes:
    variable = _string("MQTT") + bytes([4, 0b1100_0010]) + (30).to_bytes(2, "big")
    body = variable + _string(client_id) + _string(username) + _string(password)
    return bytes([0x10]) + _remaining_length(len(body)) + body


def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True when the broker ends the connection within ``timeout`` seconds."""
    sock.settimeout(timeout)
    try:
        while chunk := sock.recv(4096):
            del chunk
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


# -- packet size ------------------------------------------------------------------------------
@pytest.mark.parametrize("announced", [HUNDRED_MB, 268_435_455])
def test_the_stream_refuses_from_the_fixed_header(announced: int) -> None:
    refused: list[int] = []
    header = b"\x32" + _remaining_length(announced)

    async def read() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"\xc0\x00" + header)  # a PINGREQ, then the big PUBLISH's header
        stream = LimitedStream(reader, 1024, refused.append)
        assert await stream.readexactly(1) == b"\xc0"
        assert await stream.readexactly(1) == b"\x00"
        for _ in header:
            await stream.readexactly(1)

    with pytest.raises(PacketTooLarge):
        asyncio.run(read())
    assert refused == [announced]


def test_a_header_announcing_100_mb_closes_only_that_connection(
    thread_check: None, tmp_path: Path
) -> None:
    topic = _topic()
    with EmbeddedBroker(port=0, access=_accounts(tmp_path)) as broker:
        listener = Probe(_address(broker), f"shelterwatch-test-{uuid.uuid4().hex[:8]}", INGESTER)
        assert not listener.connect().is_failure
        assert not listener.subscribe(topic).is_failure
        try:
            with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
                sock.sendall(_connect(f"raw-{uuid.uuid4().hex[:8]}", *SIMULATOR))
                assert sock.recv(4) == b"\x20\x02\x00\x00"  # CONNACK, accepted
                # A QoS 1 PUBLISH's fixed header claiming 100 MB, and not one byte of it.
                sock.sendall(b"\x32" + _remaining_length(HUNDRED_MB))
                assert _closed_by_peer(sock, 10), "the broker waited for the body"
            assert _counted(broker, "shelterwatch_broker_packets_refused") == 1

            publisher = Probe(_address(broker), f"pub-{uuid.uuid4().hex[:8]}", SIMULATOR)
            assert not publisher.connect().is_failure
            publisher.publish(topic, b'{"t": 1}')
            publisher.close()
            wait_until(lambda: listener.payloads() == [b'{"t": 1}'], 10, "the next message")
        finally:
            listener.close()


def test_an_oversized_publish_disconnects_its_client(thread_check: None, tmp_path: Path) -> None:
    topic = _topic()
    limits = BrokerLimits(max_packet_bytes=4096)
    with EmbeddedBroker(port=0, access=_accounts(tmp_path), limits=limits) as broker:
        listener = Probe(_address(broker), f"shelterwatch-test-{uuid.uuid4().hex[:8]}", INGESTER)
        big = Probe(_address(broker), f"big-{uuid.uuid4().hex[:8]}", SIMULATOR)
        small = Probe(_address(broker), f"small-{uuid.uuid4().hex[:8]}", SIMULATOR)
        try:
            for probe in (listener, big, small):
                assert not probe.connect().is_failure
            assert not listener.subscribe(topic).is_failure
            big.client.publish(topic, b"x" * 5000, qos=1)
            wait_until(big.dropped.is_set, 10, "the oversized publisher to be dropped")
            small.publish(topic, b"x" * 4000)
            wait_until(lambda: listener.payloads() == [b"x" * 4000], 10, "the small message")
            assert not small.dropped.is_set() and not listener.dropped.is_set()
            assert _counted(broker, "shelterwatch_broker_packets_refused") == 1
        finally:
            for probe in (listener, big, small):
                probe.close()


# -- offline queue ----------------------------------------------------------------------------
def _persistent(broker: EmbeddedBroker, client_id: str, received: list[bytes]) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=False,
        reconnect_on_failure=False,
    )
    client.username_pw_set(*INGESTER)

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        received.append(bytes(msg.payload))

    client.on_message = on_message
    client.connect("127.0.0.1", broker.port, keepalive=30)
    client.loop_start()
    return client


def test_an_offline_session_queue_stops_at_its_bound(
    thread_check: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    topic = _topic()
    client_id = f"shelterwatch-test-{uuid.uuid4().hex[:8]}"
    limits = BrokerLimits(max_queued_messages=5)
    caplog.set_level(logging.WARNING, logger="telemetry.broker_guard")
    with EmbeddedBroker(port=0, access=_accounts(tmp_path), limits=limits) as broker:
        received: list[bytes] = []
        first = _persistent(broker, client_id, received)
        first.subscribe(topic, qos=1)
        wait_until(
            lambda: (s := broker.session(client_id)) is not None and topic in s.subscriptions,
            10,
            "the subscription",
        )
        first.disconnect()
        first.loop_stop()
        wait_until(
            lambda: (s := broker.session(client_id)) is not None and not s.connected,
            10,
            "the broker to see the disconnect",
        )

        publisher = Probe(_address(broker), f"pub-{uuid.uuid4().hex[:8]}", SIMULATOR)
        assert not publisher.connect().is_failure
        try:
            for n in range(8):
                publisher.publish(topic, str(n).encode())
            wait_until(
                lambda: _counted(broker, "shelterwatch_broker_queued_messages_dropped") == 3,
                10,
                "three dropped messages",
            )
        finally:
            publisher.close()
        session = broker.session(client_id)
        assert session is not None and session.queued == 5
        full = [r for r in caplog.records if "offline queue" in r.getMessage()]
        assert len(full) == 1, "logged once for the episode"

        second = _persistent(broker, client_id, received)
        try:
            wait_until(lambda: len(received) >= 5, 10, "the queued messages")
        finally:
            second.disconnect()
            second.loop_stop()
        # The oldest five, in order: what the queue took in stays; the newer ones were dropped.
        assert received == [b"0", b"1", b"2", b"3", b"4"]
