"""Limits of the embedded broker: the size of one MQTT packet and the offline queue of a session.

amqtt 0.12.1 has neither. It reads a packet by its fixed header's remaining length with
``readexactly``, so a header announcing 100 MB makes it buffer 100 MB before anything looks at
the message; and it queues every QoS 1/2 message for a disconnected persistent session in an
unbounded ``asyncio.Queue``.

- Packet size: `LimitedStream` stands between the connection and amqtt and follows the MQTT
  framing of what amqtt reads through it. When a fixed header's remaining length is complete
  and exceeds the limit, it raises `PacketTooLarge` from that very read, before amqtt asks for
  the body: the connection is closed and nothing of the body is waited for or allocated
  (beyond the socket's own read buffer). The default leaves room for the largest payload the
  ingester parses (`telemetry.payload.MAX_BYTES`, 256 KiB) with its topic and headers, so a
  payload just over that still reaches the ingester and is recorded as ``payload_too_large``.
- Offline queue: at `BrokerLimits.max_queued_messages` a session's queue takes no more; the
  newest message is dropped, counted, and logged once per episode (an episode ends when the
  queue has room again). Newest rather than oldest, as Mosquitto's ``max_queued_messages``
  does: what the broker has taken into a session's queue stays there until delivered, so the
  subscriber receives a gap-free run of what was published from the moment it left, and the
  loss is decided (and counted) when a message arrives, never later behind a message that
  had been promised. Either way the publisher was acknowledged; MQTT 3.1.1 has no way to
  refuse a QoS 1 message after the fact.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_PACKET_BYTES: Final = 266_240
"""260 KiB of remaining length: a 256 KiB payload, its topic and its headers."""
DEFAULT_MAX_QUEUED_MESSAGES: Final = 1000
"""As Mosquitto's ``max_queued_messages`` default."""
_MAX_LENGTH_BYTES: Final = 4
_MALFORMED: Final = 128**4


@dataclass(frozen=True, slots=True)
class BrokerLimits:
    """Bounds of the embedded broker."""

    max_packet_bytes: int = DEFAULT_MAX_PACKET_BYTES
    """Largest remaining length (everything after the fixed header) of one packet."""
    max_queued_messages: int = DEFAULT_MAX_QUEUED_MESSAGES
    """QoS 1/2 messages held for one disconnected persistent session."""

    def __post_init__(self) -> None:
        if self.max_packet_bytes < 1 or self.max_queued_messages < 1:
            raise ValueError("broker limits must be positive")


class PacketTooLarge(Exception):
    """A fixed header announced more than the limit; the connection is to be closed."""

    def __init__(self, announced: int, limit: int) -> None:
        super().__init__(f"packet of {announced} bytes announced, limit {limit}")
        self.announced = announced
        self.limit = limit


class LimitedStream:
    """An ``asyncio.StreamReader`` stand-in that refuses a packet announcing more than
    ``limit`` bytes, from the read that completes its fixed header.

    It expects what is read through it to be MQTT packets back to back, as amqtt reads a
    connection; ``on_refused`` is called with the announced length before `PacketTooLarge`
    is raised.
    """

    def __init__(
        self, reader: asyncio.StreamReader, limit: int, on_refused: Callable[[int], None]
    ) -> None:
        self._reader = reader
        self._limit = limit
        self._on_refused = on_refused
        self._body_left = 0
        self._in_length = False
        self._length = 0
        self._length_bytes = 0

    async def readexactly(self, n: int) -> bytes:
        data = await self._reader.readexactly(n)
        self._follow(data)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await self._reader.read(n)
        self._follow(data)
        return data

    def feed_eof(self) -> None:
        self._reader.feed_eof()

    def _follow(self, data: bytes) -> None:
        i, end = 0, len(data)
        while i < end:
            if self._body_left:
                taken = min(self._body_left, end - i)
                self._body_left -= taken
                i += taken
                continue
            byte = data[i]
            i += 1
            if not self._in_length:  # the packet type byte
                self._in_length, self._length, self._length_bytes = True, 0, 0
                continue
            self._length += (byte & 0x7F) << (7 * self._length_bytes)
            self._length_bytes += 1
            if byte & 0x80:
                if self._length_bytes < _MAX_LENGTH_BYTES:
                    continue
                self._length = _MALFORMED  # a fifth length byte: a protocol violation
            self._in_length = False
            if self._length > self._limit:
                self._on_refused(self._length)
                raise PacketTooLarge(self._length, self._limit)
            self._body_left = self._length
