"""paho's MQTT client with a receive path sized for a backlog of small messages.

Stock paho reads a packet in three ``recv`` calls (type byte, length bytes, body) after a
``select``, builds a ``Properties`` object and an ``MQTTMessage`` for every PUBLISH, and then
matches the topic against its per-filter callbacks. Each system call releases the GIL, and in
a process whose other threads are busy, getting it back is where most of the time goes. Here:

* the socket is read in large chunks into a buffer (``BufferedSocket``), which paho drains
  with its usual small reads; ``pending()`` tells paho's loop that buffered bytes are ready;
* one ``loop_read`` handles every packet already buffered, not only the first;
* a QoS 0 or 1 PUBLISH is decoded straight into ``on_publish(topic, payload, mid, qos)``;
  its properties are skipped (the ingester uses none). QoS 2 and everything that is not a
  PUBLISH take paho's own path, and so does everything when paho's internals are not the
  ones this was written against (the client then behaves exactly as paho does);
* ``on_read(start)`` brackets each read: the time of receipt is taken once per read and the
  messages of one read are handed on together;
* ``before_read(timeout)`` can hold reading back, once connected, while the application's
  intake is full: the socket is then left unread (TCP pushes back to the broker) while
  paho's loop goes on sending acknowledgements and keep-alive pings. The broker's ping
  answers wait unread behind the messages, so while reads are held a missing answer is
  not taken for a dead connection. A broker does not always bound what it sends by the
  Receive Maximum (Mosquitto 2.0 with ``max_queued_messages 0`` does not; a 3.1.1 broker
  has no such limit), so this is what bounds the ingester's memory.

The bytes on the wire, the session, acknowledgement and reconnection are paho's.

Why paho's internals: against a client on paho's public API only, tuned as Home Assistant
tunes paho (``bench/public_ingest.py``: a selector loop calling ``loop_read(500)`` when the
socket is readable, ``loop_write`` when paho wants to write and ``loop_misc`` each second, a
2 MiB ``SO_RCVBUF`` set in ``on_socket_open``, and one ``client.ack(mid, 1)`` per message),
run inside the same ingester (intake, batches, store, in-order acknowledgement after storage),
``bench/bench_ingest.py --readings 100000 --repeat 3`` drained a backlog at 0.43 and 0.58 of
this client's rate in two runs (rounds 0.38 to 0.64), at 3.2 and 3.35 times its CPU per
reading (85 and 94 µs against 27 and 28 µs). Reading on while the socket holds data did not
close the gap (0.37 and 0.51; 2.5 and 2.6 times the CPU). The public API was to be used if it
came within 20 %; it did not, so the overrides stay. paho 2.2's ``loop_read`` ignores its
``max_packets`` (it reads one packet per call), so the public API has no way to read a
backlog in bulk. The price: paho-mqtt is pinned to the minor release these internals were
checked against (2.2, ``pyproject.toml``), and ``tests/telemetry/test_mqtt_decoder.py`` feeds
raw packets to this path and checks the PUBACK bytes with no broker. The internals used:
``Client._create_socket``, ``_handle_publish`` and ``_check_keepalive`` (overridden),
``_send_puback`` (called), ``_in_packet``, ``_sock``, ``_transport``, ``_protocol``,
``_manual_ack`` and ``_ping_t`` (read or set); ``telemetry.mqtt`` writes a batch's PUBACKs
through ``_packet_queue``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion

log = logging.getLogger(__name__)

READ_CHUNK: Final = 256 * 1024
"""Bytes asked of the socket at once: about 2,000 small telemetry messages."""
BURST_PACKETS: Final = 2000
BURST_BYTES: Final = 4 * READ_CHUNK
"""Buffered packets, and bytes, handled per ``loop_read`` before paho's loop gets a turn
(writes, pings) and ``before_read`` is asked again."""
PAUSE_S: Final = 0.05
"""How long one ``loop_read`` waits for room in the intake before paho's loop runs again."""
_SUCCESS: Final = MQTTErrorCode.MQTT_ERR_SUCCESS

OnPublish = Callable[[str, bytes, int, int], None]


class BufferedSocket:
    """A socket whose reads are served from a buffer refilled ``READ_CHUNK`` bytes at a time.

    Everything but ``recv`` and ``pending`` goes to the wrapped socket (plain or TLS)."""

    __slots__ = ("_buf", "_pos", "_sock", "served")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0
        self.served = 0
        """Bytes handed out by ``recv`` so far."""

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def recv(self, bufsize: int) -> bytes:
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            data: bytes = self._sock.recv(max(bufsize, READ_CHUNK))
            if len(data) <= bufsize:
                self.served += len(data)
                return data
            self._buf, self._pos = data, bufsize
            self.served += bufsize
            return data[:bufsize]
        end = min(pos + bufsize, len(buf))
        self._pos = end
        self.served += end - pos
        return buf[pos:end]

    def pending(self) -> int:
        """Bytes readable without waiting: buffered here, plus those inside a TLS layer."""
        inner = getattr(self._sock, "pending", None)
        return self.buffered + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _supported() -> bool:
    """Whether paho has the internals the fast path relies on."""
    return all(
        hasattr(mqtt.Client, name)
        for name in (
            "_create_socket",
            "_handle_publish",
            "_packet_read",
            "_send_puback",
            "_check_keepalive",
        )
    )


class LeanClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with the buffered, batched receive path described above."""

    def __init__(
        self,
        *args: Any,
        on_publish: OnPublish | None = None,
        on_read: Callable[[bool], None] | None = None,
        before_read: Callable[[float], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_publish_fast = on_publish
        self.on_read = on_read
        self.before_read = before_read
        self.holding = False
        """Reads are held back by ``before_read`` (see ``_check_keepalive``)."""
        self.lean = _supported() and isinstance(getattr(self, "_in_packet", None), dict)
        if not self.lean:
            log.warning("this paho-mqtt differs inside; using its stock receive path")

    # -- the socket -------------------------------------------------------------------------
    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if not self.lean or self._transport == "websockets":
            return sock
        return BufferedSocket(sock)

    # -- reads ------------------------------------------------------------------------------
    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        before_read = self.before_read
        # Not before the CONNACK: paho must read that to count as connected.
        if before_read is not None and self.is_connected() and not before_read(PAUSE_S):
            self.holding = True
            return _SUCCESS
        self.holding = False
        on_read = self.on_read
        if on_read is not None:
            on_read(True)
        try:
            sock = self._sock
            until = sock.served + BURST_BYTES if isinstance(sock, BufferedSocket) else 0
            rc = super().loop_read(max_packets)
            if isinstance(sock, BufferedSocket):
                budget = BURST_PACKETS
                while (
                    rc == _SUCCESS
                    and budget
                    and sock.buffered
                    and sock.served < until
                    and self._sock is sock
                ):
                    rc = super().loop_read(1)
                    budget -= 1
            return rc
        finally:
            if on_read is not None:
                on_read(False)

    def _check_keepalive(self) -> None:
        if self.holding and self.lean:
            # The PINGRESP sits unread behind held-back messages: ping again rather than
            # take the silence for a dead link (the broker sees the pings).
            self._ping_t = 0
        super()._check_keepalive()

    def _handle_publish(self) -> MQTTErrorCode:
        on_publish = self.on_publish_fast
        packet = self._in_packet
        header = packet["command"]
        qos = (header & 0x06) >> 1
        if on_publish is None or not self.lean or qos > 1:
            return super()._handle_publish()
        body: bytearray = packet["packet"]
        try:
            end = 2 + int.from_bytes(body[0:2], "big")
            topic = body[2:end].decode()
            mid = 0
            if qos:
                mid = int.from_bytes(body[end : end + 2], "big")
                end += 2
            if self._protocol == MQTTProtocolVersion.MQTTv5:
                end = _skip_properties(body, end)
            if end > len(body) or not topic or (qos and not mid):
                raise ValueError("truncated PUBLISH")
        except (ValueError, IndexError):
            return super()._handle_publish()  # paho's own error handling for a bad packet
        on_publish(topic, bytes(body[end:]), mid, qos)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return _SUCCESS


def _skip_properties(body: bytearray, pos: int) -> int:
    """The position after an MQTT 5 property block (a variable byte integer, then that many
    bytes) that starts at ``pos``."""
    length = 0
    shift = 0
    for _ in range(4):
        byte = body[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return pos + length
        shift += 7
    raise ValueError("malformed property length")
