"""The lean client's own PUBLISH decoding and PUBACK writing, with no broker: a scripted peer
on a local socket sends raw MQTT packets cut at awkward places, and the bytes the client
writes back are checked. These guard the paho internals ``telemetry.mqtt_client`` and
``MqttSubscriber._send_pubacks`` override, whatever paho release is installed."""

from __future__ import annotations

import select
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from telemetry.intake import Delivery, ack_refs
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from telemetry.mqtt_client import LeanClient

Message = tuple[str, bytes, int, int]
"""(topic, payload, packet id, QoS) as the client hands a PUBLISH on."""

V5, V311 = MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311


# -- raw packets ------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _publish(topic: str, payload: bytes, qos: int, mid: int, props: bytes | None) -> bytes:
    """A PUBLISH packet; ``props`` is an MQTT 5 property block's content (None: 3.1.1)."""
    body = _utf8(topic) + (mid.to_bytes(2, "big") if qos else b"")
    if props is not None:
        body += _varint(len(props)) + props
    body += payload
    return bytes([0x30 | qos << 1]) + _varint(len(body)) + body


def _properties() -> bytes:
    """Payload format, message expiry, content type and a user property long enough that the
    property length takes two bytes."""
    return (
        b"\x01\x01"
        + b"\x02"
        + (600).to_bytes(4, "big")
        + b"\x03"
        + _utf8("application/json")
        + b"\x26"
        + _utf8("gateway")
        + _utf8("G-7 " + "x" * 150)
    )


def _messages() -> list[Message]:
    out: list[Message] = []
    for i in range(60):
        qos = 1 if i % 3 else 0
        payload = f'{{"n":{i},"t":21.5}}'.encode()
        out.append((f"shelters/S-{i % 7}/T{i}/telemetry", payload, qos and i + 1, qos))
    # remaining length of three bytes; a payload that looks like packets; an empty payload
    out.append(("shelters/S-1/big/telemetry", bytes(i % 251 for i in range(20_000)), 61, 1))
    out.append(("shelters/S-2/odd/telemetry", b"\x30\x02\x00\x00" * 8, 62, 1))
    out.append(("shelters/S-3/empty/telemetry", b"", 0, 0))
    return out


def _stream(messages: list[Message], protocol: MQTTProtocolVersion) -> bytes:
    props = _properties() if protocol == V5 else None
    packets = []
    for k, (topic, payload, mid, qos) in enumerate(messages):
        packets.append(_publish(topic, payload, qos, mid, props if k % 2 else (props and b"")))
    return b"".join(packets)


def _pieces(data: bytes) -> Iterator[bytes]:
    """The stream in pieces of 1, 2, 3, 5, 7, ... bytes (cycling), so packets are split in
    their fixed header, length, topic, packet id, properties and payload."""
    sizes = (1, 2, 3, 5, 7, 11, 13, 17, 64, 1, 4096)
    pos = k = 0
    while pos < len(data):
        size = sizes[k % len(sizes)]
        yield data[pos : pos + size]
        pos += size
        k += 1


def _puback(mid: int) -> bytes:
    return b"\x40\x02" + mid.to_bytes(2, "big")


# -- the scripted peer ------------------------------------------------------------------------
def _read_packet(peer: socket.socket) -> tuple[int, bytes]:
    """The next packet the client wrote: (first byte, body)."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = peer.recv(n - len(data))
            assert chunk, "the client closed the connection"
            data += chunk
        return data

    first = exactly(1)[0]
    length = shift = 0
    while True:
        byte = exactly(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first, exactly(length)


def _connack(protocol: MQTTProtocolVersion) -> bytes:
    return b"\x20\x03\x00\x00\x00" if protocol == V5 else b"\x20\x02\x00\x00"


def _written(peer: socket.socket, quiet_s: float = 0.2) -> bytes:
    """Everything the client wrote until it stays quiet for ``quiet_s``."""
    peer.settimeout(quiet_s)
    data = b""
    try:
        while chunk := peer.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def _read_all(client: LeanClient) -> None:
    """``loop_read`` until the socket holds nothing (stock paho reads one packet a call)."""
    sock = client.socket()
    assert sock is not None
    while select.select([sock], [], [], 0)[0]:
        assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS


@pytest.fixture
def unix_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sw-mqtt-") as directory:
        yield str(Path(directory) / "peer.sock")


# -- the decoding path, driven by hand ---------------------------------------------------------
@pytest.mark.parametrize("protocol", [V5, V311], ids=["mqtt5", "mqtt311"])
@pytest.mark.parametrize("lean", [True, False], ids=["lean", "stock-paho-path"])
def test_publishes_split_across_reads_decode_and_are_acknowledged_in_order(
    unix_path: str, protocol: MQTTProtocolVersion, lean: bool
) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(unix_path)
    listener.listen(1)
    fast: list[Message] = []
    stock: list[Message] = []

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        stock.append((msg.topic, bytes(msg.payload), msg.mid, msg.qos))

    client = LeanClient(
        CallbackAPIVersion.VERSION2,
        client_id="shelterwatch-decoder",
        protocol=protocol,
        transport="unix",
        on_publish=lambda *m: fast.append(m),
    )
    client.lean = lean
    client.on_message = on_message
    reads: list[bool] = []
    client.on_read = reads.append
    peer: socket.socket | None = None
    try:
        client.connect(unix_path)
        peer, _ = listener.accept()
        peer.settimeout(5)
        first, _body = _read_packet(peer)
        assert first == 0x10  # CONNECT
        peer.sendall(_connack(protocol))
        assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
        assert client.is_connected()

        messages = _messages()
        for piece in _pieces(_stream(messages, protocol)):
            peer.sendall(piece)
            _read_all(client)

        assert (fast, stock) == ((messages, []) if lean else ([], messages))
        acks = b"".join(_puback(mid) for _t, _p, mid, qos in messages if qos == 1)
        assert _written(peer) == acks
        assert reads[:2] == [True, False]  # on_read brackets every loop_read
    finally:
        if peer is not None:
            peer.close()
        client.disconnect()
        listener.close()


def test_a_publish_whose_property_length_overruns_goes_to_paho(unix_path: str) -> None:
    """A packet the lean decoder cannot make sense of is left to paho's own handling."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(unix_path)
    listener.listen(1)
    fast: list[Message] = []
    client = LeanClient(
        CallbackAPIVersion.VERSION2,
        client_id="shelterwatch-decoder",
        protocol=V5,
        transport="unix",
        on_publish=lambda *m: fast.append(m),
    )
    disconnected = threading.Event()
    client.on_disconnect = lambda *_a: disconnected.set()
    peer: socket.socket | None = None
    try:
        client.connect(unix_path)
        peer, _ = listener.accept()
        peer.settimeout(5)
        _read_packet(peer)
        peer.sendall(_connack(V5))
        client.loop_read()
        body = _utf8("shelters/S-1/T1/telemetry") + b"\x00\x07" + _varint(200) + b"{}"
        peer.sendall(b"\x32" + _varint(len(body)) + body)
        client.loop_read()
        assert fast == []
    finally:
        if peer is not None:
            peer.close()
        client.disconnect()
        listener.close()


# -- the subscriber's PUBACK batches, through paho's network thread ----------------------------
def test_the_pubacks_of_a_batch_leave_in_one_write_in_the_given_order() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    got: list[Delivery] = []
    lock = threading.Lock()

    def on_deliveries(deliveries: Sequence[Delivery]) -> None:
        with lock:
            got.extend(deliveries)

    sub = MqttSubscriber(
        BrokerAddress("127.0.0.1", port),
        client_id="shelterwatch-decoder-acks",
        on_deliveries=on_deliveries,
    )
    sub.start()
    peer: socket.socket | None = None
    try:
        listener.settimeout(10)
        peer, _ = listener.accept()
        peer.settimeout(5)
        assert _read_packet(peer)[0] == 0x10  # CONNECT
        peer.sendall(_connack(V5))
        first, body = _read_packet(peer)
        assert first == 0x82  # SUBSCRIBE
        peer.sendall(b"\x90\x04" + body[:2] + b"\x00\x01")  # SUBACK, granted QoS 1
        messages = [(f"shelters/S-1/T{i}/telemetry", b"{}", i + 1, 1) for i in range(6)]
        peer.sendall(_stream(messages, V5))
        deadline = time.monotonic() + 10
        while len(got) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [(d.topic, d.payload, d.mid, d.qos) for d in got] == messages
        assert _written(peer) == b""  # manual acknowledgement: nothing before ack()

        refs = ack_refs(got)
        sub.ack(refs[:4])
        assert _written(peer) == b"".join(_puback(mid) for mid in (1, 2, 3, 4))
        sub.ack([refs[5], refs[4]])
        assert _written(peer) == _puback(6) + _puback(5)
    finally:
        if peer is not None:
            peer.close()
        sub.stop()
        listener.close()
