"""The lean paho client: buffered reads, PUBLISH decoded straight to a callback, reads held
back while the intake is full, and paho's own semantics (manual ack, persistent session,
QoS 2) unchanged. Against the real Mosquitto on 127.0.0.1:1883."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from telemetry.intake import Delivery, ack_refs
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from telemetry.mqtt_client import BURST_BYTES, READ_CHUNK, BufferedSocket, LeanClient
from tests.waiting import wait_until

HOST, PORT = "127.0.0.1", 1883


# -- BufferedSocket on a real socket pair -------------------------------------------------
@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_small_reads_are_served_from_one_large_read(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    near, far = pair
    far.sendall(bytes(range(100)))
    time.sleep(0.05)
    sock = BufferedSocket(near)
    assert sock.recv(1) == b"\x00"
    assert sock.buffered == 99
    assert sock.pending() == 99
    far.sendall(b"later")  # not read yet: the buffer answers first
    assert sock.recv(10) == bytes(range(1, 11))
    assert sock.recv(500) == bytes(range(11, 100))  # what is buffered, like a short recv
    assert sock.buffered == 0
    assert sock.recv(500) == b"later"


def test_an_empty_buffer_passes_the_socket_errors_and_eof_through(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    near, far = pair
    sock = BufferedSocket(near)
    sock.setblocking(False)  # delegated to the socket
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    assert sock.fileno() == near.fileno()
    far.close()
    assert sock.recv(1) == b""


def test_a_read_larger_than_the_chunk_is_asked_for_whole(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    near, far = pair
    big = bytes(i % 251 for i in range(READ_CHUNK + 1000))
    sender = threading.Thread(target=far.sendall, args=(big,))
    sender.start()
    sock = BufferedSocket(near)
    got = bytearray()
    while len(got) < len(big):
        got += sock.recv(len(big) - len(got))
    sender.join()
    assert bytes(got) == big


# -- LeanClient against Mosquitto -----------------------------------------------------------
@dataclass
class _Sub:
    client: LeanClient
    topic: str
    got: list[tuple[str, bytes, int, int]] = field(default_factory=list)
    outside_read: int = 0
    in_read: bool = False
    reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    paho_path: list[int] = field(default_factory=list)
    """QoS of the messages that came through paho's own on_message."""
    read_bytes: list[int] = field(default_factory=list)
    """Payload bytes handed on per read."""
    disconnects: int = 0

    def received(self) -> list[tuple[str, bytes, int, int]]:
        with self.lock:
            return list(self.got)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _subscribe(
    client_id: str,
    topic: str,
    *,
    clean: bool = True,
    before_read: Callable[[float], bool] | None = None,
    lean: bool = True,
    keepalive: int = 60,
) -> _Sub:
    holder: list[_Sub] = []
    connected = threading.Event()

    def on_read(start: bool) -> None:
        s = holder[0]
        s.in_read = start
        s.reads += start
        if start:
            s.read_bytes.append(0)

    def on_publish(t: str, payload: bytes, mid: int, qos: int) -> None:
        s = holder[0]
        with s.lock:
            s.got.append((t, payload, mid, qos))
            s.outside_read += not s.in_read
            if s.read_bytes:
                s.read_bytes[-1] += len(payload)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        holder[0].paho_path.append(msg.qos)
        on_publish(msg.topic, bytes(msg.payload), msg.mid, msg.qos)

    def on_disconnect(*_a: object) -> None:
        holder[0].disconnects += 1

    client = LeanClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
        on_publish=on_publish,
        on_read=on_read,
        before_read=before_read,
    )
    client.lean = lean
    client.on_message = on_message
    client.on_disconnect = on_disconnect
    client.on_connect = lambda c, *_a: (c.subscribe(topic, qos=2), connected.set())
    holder.append(_Sub(client, topic))
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 300
    props.ReceiveMaximum = 5000
    client.connect(HOST, PORT, keepalive=keepalive, clean_start=clean, properties=props)
    client.loop_start()
    assert connected.wait(10), "no CONNACK"
    time.sleep(0.1)  # the SUBACK
    return holder[0]


@pytest.fixture
def publisher() -> Iterator[mqtt.Client]:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"lean-pub-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(1000)
    client.connect(HOST, PORT)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def _publish_all(pub: mqtt.Client, items: list[tuple[str, bytes, int, Properties | None]]) -> None:
    infos = [pub.publish(t, p, qos=q, properties=props) for t, p, q, props in items]
    for info in infos:
        info.wait_for_publish(30)


@pytest.mark.mqtt
@pytest.mark.parametrize("lean", [True, False], ids=["lean", "stock-paho-path"])
def test_every_message_arrives_as_published(publisher: mqtt.Client, lean: bool) -> None:
    run = uuid.uuid4().hex[:8]
    sub = _subscribe(f"lean-sub-{run}", f"lean/{run}/#", lean=lean)
    try:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.UserProperty = ("gateway", "G-7")
        props.MessageExpiryInterval = 600
        props.ContentType = "application/json"
        big = bytes(i % 253 for i in range(2 * READ_CHUNK + 17))
        items: list[tuple[str, bytes, int, Properties | None]] = [
            (f"lean/{run}/s{i % 37}/telemetry", f'{{"n":{i}}}'.encode(), 1, None)
            for i in range(3000)
        ]
        items[10] = (f"lean/{run}/props", b"with properties", 1, props)
        items[20] = (f"lean/{run}/big", big, 1, None)
        items[30] = (f"lean/{run}/qos0", b"at most once", 0, None)
        items[40] = (f"lean/{run}/qos2", b"exactly once", 2, None)
        items[50] = (f"lean/{run}/empty", b"", 1, None)
        items[60] = (f"lean/{run}/\u4eba\u9632", "中文".encode(), 1, None)
        _publish_all(publisher, items)
        wait_until(lambda: len(sub.received()) == len(items), 20, f"{len(items)} messages")
        time.sleep(0.2)
        got = sub.received()
        assert sorted((t, p, q) for t, p, _m, q in got) == sorted((t, p, q) for t, p, q, _ in items)
        assert all(mid > 0 for _t, _p, mid, qos in got if qos > 0)
        assert sub.outside_read == 0  # every message arrived inside an on_read bracket
        if lean:
            assert sub.reads < len(items) / 2  # many messages per read
            assert sub.paho_path == [2]  # QoS 0 and 1 decoded by the lean path, 2 by paho's
        else:
            assert sorted(sub.paho_path) == sorted(q for _t, _p, q, _ in items)
    finally:
        sub.close()


@pytest.mark.mqtt
def test_only_unacknowledged_messages_come_back_after_reconnect(publisher: mqtt.Client) -> None:
    run = uuid.uuid4().hex[:8]
    client_id, topic = f"lean-ack-{run}", f"lean/{run}/+"
    first = _subscribe(client_id, topic)
    _publish_all(publisher, [(f"lean/{run}/x", str(i).encode(), 1, None) for i in range(50)])
    wait_until(lambda: len(first.received()) == 50, 10, "50 messages")
    for _t, payload, mid, _q in first.received():
        if int(payload) < 20:
            first.client.ack(mid, 1)
    time.sleep(0.3)
    first.close()
    second = _subscribe(client_id, topic, clean=False)
    try:
        wait_until(lambda: len(second.received()) == 30, 10, "30 redelivered messages")
        time.sleep(0.3)
        assert sorted(int(p) for _t, p, _m, _q in second.received()) == list(range(20, 50))
        for _t, _p, mid, _q in second.received():
            second.client.ack(mid, 1)
        time.sleep(0.3)
    finally:
        second.close()
    _subscribe(client_id, topic, clean=True).close()  # drop the session


@pytest.mark.mqtt
def test_nothing_is_read_while_before_read_says_the_intake_is_full(
    publisher: mqtt.Client,
) -> None:
    run = uuid.uuid4().hex[:8]
    full = threading.Event()
    asked = threading.Event()

    def before_read(timeout: float) -> bool:
        if full.is_set():
            asked.set()
            time.sleep(timeout)
            return False
        return True

    sub = _subscribe(f"lean-full-{run}", f"lean/{run}/+", before_read=before_read)
    try:
        full.set()
        _publish_all(publisher, [(f"lean/{run}/x", str(i).encode(), 1, None) for i in range(200)])
        assert asked.wait(5)
        time.sleep(0.5)
        assert sub.received() == []
        assert sub.client.is_connected()
        full.clear()
        wait_until(lambda: len(sub.received()) == 200, 10, "200 messages once there is room")
    finally:
        sub.close()


@pytest.mark.mqtt
def test_one_read_hands_on_at_most_about_a_mebibyte(publisher: mqtt.Client) -> None:
    run = uuid.uuid4().hex[:8]
    hold = threading.Event()
    hold.set()
    sub = _subscribe(
        f"lean-burst-{run}", f"lean/{run}/+", before_read=lambda t: not hold.wait(0) or t < 0
    )
    try:
        message = bytes(100_000)
        _publish_all(publisher, [(f"lean/{run}/x", message, 1, None) for _ in range(40)])
        time.sleep(0.5)  # 4 MB waiting at the broker and in the socket
        hold.clear()
        wait_until(lambda: len(sub.received()) == 40, 20, "40 large messages")
        assert max(sub.read_bytes) <= BURST_BYTES + len(message)
        assert sum(sub.read_bytes) == 40 * len(message)
    finally:
        sub.close()


@pytest.mark.mqtt
def test_a_long_hold_keeps_the_connection(publisher: mqtt.Client) -> None:
    """While reads are held, the broker's ping answers wait unread behind the messages; the
    client must not take that for a dead connection (keep-alive 2 s, held for 7 s)."""
    run = uuid.uuid4().hex[:8]
    full = threading.Event()

    def before_read(timeout: float) -> bool:
        if full.is_set():
            time.sleep(timeout)
            return False
        return True

    sub = _subscribe(f"lean-hold-{run}", f"lean/{run}/+", before_read=before_read, keepalive=2)
    try:
        full.set()
        _publish_all(publisher, [(f"lean/{run}/x", str(i).encode(), 1, None) for i in range(50)])
        time.sleep(7)
        assert sub.disconnects == 0
        assert sub.received() == []
        full.clear()
        wait_until(lambda: len(sub.received()) == 50, 10, "50 messages after the hold")
        time.sleep(3)  # the held ping answers are read; the link stays up
        assert sub.disconnects == 0
        assert sub.client.is_connected()
    finally:
        sub.close()


@pytest.mark.mqtt
def test_acknowledgements_of_a_lost_connection_are_dropped(publisher: mqtt.Client) -> None:
    """Messages of a connection that went away are redelivered by the broker on the next;
    their acknowledgements must not leave on that next connection."""
    run = uuid.uuid4().hex[:8]
    got: list[Delivery] = []
    sub = MqttSubscriber(
        BrokerAddress(HOST, PORT),
        client_id=f"lean-gen-{run}",
        on_deliveries=got.extend,
        topic=f"lean/{run}/+",
    )
    sent: list[list[int]] = []
    sub._send_pubacks = sent.append  # type: ignore[method-assign]
    sub.start()
    try:
        wait_until(sub.connected.is_set, 10, "the connection")
        time.sleep(0.1)
        _publish_all(publisher, [(f"lean/{run}/x", b"{}", 1, None) for _ in range(5)])
        wait_until(lambda: len(got) == 5, 10, "five messages")
        refs = ack_refs(got)
        sub.ack(refs[:2])
        assert [len(batch) for batch in sent] == [2]
        sub.client.disconnect()
        wait_until(lambda: not sub.connected.is_set(), 10, "the disconnect")
        sub.ack(refs[2:])  # stored after the connection went: not acknowledged
        assert [len(batch) for batch in sent] == [2]
    finally:
        sub.stop()
    _subscribe(f"lean-gen-{run}", f"lean/{run}/+", clean=True).close()  # drop the session
