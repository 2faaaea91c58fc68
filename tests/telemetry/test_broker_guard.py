"""The embedded broker's overrides of amqtt, without a broker: they are written against one
amqtt version, and the CONNECT read for the login check is read again, byte for byte, by
amqtt itself."""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version

from amqtt.adapters import BufferReader
from amqtt.broker import Broker
from amqtt.mqtt.connect import ConnectPacket

from telemetry.broker_guard import _Recording, _Replay


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _connect(client_id: str, username: str, password: str) -> bytes:
    """An MQTT 3.1.1 CONNECT with user name and password, clean session, keep-alive 30 s."""
    variable = _string("MQTT") + bytes([4, 0b1100_0010]) + (30).to_bytes(2, "big")
    body = variable + _string(client_id) + _string(username) + _string(password)
    assert len(body) < 128  # one byte of remaining length
    return bytes([0x10, len(body)]) + body


def test_the_overridden_amqtt_methods_are_those_of_the_pinned_version() -> None:
    assert version("amqtt") == "0.12.1", "re-check telemetry/broker.py's overrides, then pin"
    expected = {
        "_initialize_client_session": ["self", "reader", "writer", "remote_address", "remote_port"],
        "_topic_filtering": ["self", "session", "topic", "action"],
        "stream_connected": ["self", "reader", "writer", "listener_name"],
        "_retain_broadcast_message": ["self", "broadcast", "qos", "target_session"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(Broker, name)).parameters) == parameters, name


def test_a_connect_read_for_the_check_is_read_again_whole() -> None:
    stream = _connect("S1", "S1", "secret") + b"\x30NEXT"

    async def read_twice() -> tuple[ConnectPacket, ConnectPacket, bytes]:
        connection = BufferReader(stream)
        recording = _Recording(connection)
        first = await ConnectPacket.from_stream(recording)
        replay = _Replay(bytes(recording.data), connection)
        second = await ConnectPacket.from_stream(replay)
        return first, second, await replay.read(5)

    first, second, after = asyncio.run(read_twice())
    for packet in (first, second):
        assert (packet.client_id, packet.username, packet.password) == ("S1", "S1", "secret")
        assert packet.proto_level == 4 and packet.clean_session_flag
    assert after == b"\x30NEXT"
