"""amqtt's broker made to admit accounts only, with `telemetry.access`'s rules.

What amqtt 0.12.1 does that this changes, and how:

- It looks up the session named by a CONNECT's client id, wiping it (clean session) or taking
  its connection over, *before* it authenticates the client: a client without any login
  could knock the ingester off, or empty its session, by connecting under its client id.
  `GuardedBroker` checks the login (and that the client id and any will topic are the
  account's to use) as soon as the CONNECT is read, and refuses with CONNACK 5 before amqtt
  touches a session; amqtt then reads the same bytes again (`_Recording`, `_Replay`).
- It broadcasts a last will without its publish check, so a will topic the account may not
  publish to is refused at CONNECT.
- It acknowledges a QoS 1 PUBLISH before it hands the message on, and forgets what it has not
  handed on yet when the publisher disconnects. Topic checks made through its plugin
  interface (a task per check, two checks per message) slowed the handing on enough that a
  publisher sending 19 messages and disconnecting lost 6 to 8 of them (none without the
  checks); `GuardedBroker` makes the checks itself, in ``_topic_filtering``, without a task:
  19 of 19 again.
- It leaves a connection's transport open when the connection's task is cancelled (at
  shutdown) or closing it fails half way; ``stream_connected`` closes it at the end.
- It bounds neither a packet's size nor a disconnected session's queue: ``stream_connected``
  reads the connection through `telemetry.broker_limits.LimitedStream`, and
  ``_retain_broadcast_message`` (amqtt's queueing of a message for an offline session) stops
  at `telemetry.broker_limits.BrokerLimits.max_queued_messages` (the module says why the
  newest message is the one dropped).

Those four overrides of amqtt's ``Broker`` (``_initialize_client_session``,
``_topic_filtering``, ``stream_connected``, ``_retain_broadcast_message``) are why amqtt is
pinned to one version
(``tests/telemetry/test_broker_guard.py`` fails on another). Authentication still goes
through amqtt's plugin interface (`AccountAuth`), which amqtt requires.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Final

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import MQTTError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.plugins.base import BaseAuthPlugin

from telemetry.access import Account
from telemetry.broker_access import AccessTable
from telemetry.broker_limits import BrokerLimits, LimitedStream, PacketTooLarge
from telemetry.metrics import BrokerMetrics

log = logging.getLogger(__name__)

_MQTT_311: Final = 4


def admitted(
    access: AccessTable,
    username: str | None,
    password: str | bytes | None,
    client_id: str | None,
    will_topic: str | None,
) -> Account | None:
    """The account a CONNECT logs in with, if the login is right, the client id is the
    account's to use and any will topic is one it may publish to."""
    if isinstance(password, bytes):
        try:
            password = password.decode()
        except UnicodeDecodeError:
            return None
    account = access.account(username)
    if account is None or not account.admits(password, client_id):
        return None
    if will_topic is not None and not account.may_publish(will_topic):
        return None
    return account


class AccountAuth(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
    """amqtt auth plugin: the login must be an account of ``Config.access``.

    Unlike amqtt's ``AnonymousAuthPlugin`` it leaves ``session.is_anonymous`` False, so
    amqtt keeps a disconnected clean_session=False session and queues its messages.
    """

    @dataclass
    class Config:
        access: Any = None

    async def authenticate(self, *, session: Any) -> bool:
        will = session.will_topic if session.will_flag else None
        account = admitted(
            self.config.access, session.username, session.password, session.client_id, will
        )
        return account is not None


class _Recording(ReaderAdapter):  # type: ignore[misc]
    """Reads through to the connection and keeps what was read."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.data = bytearray()

    async def read(self, n: int = -1) -> bytes:
        chunk: bytes = await self._reader.read(n)
        self.data += chunk
        return chunk

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class _Replay(ReaderAdapter):  # type: ignore[misc]
    """Serves bytes already read from the connection first, then the connection's own."""

    def __init__(self, head: bytes, reader: Any) -> None:
        self._head = head
        self._reader = reader

    async def read(self, n: int = -1) -> bytes:
        if not self._head:
            data: bytes = await self._reader.read(n)
            return data
        if n < 0:
            head, self._head = self._head, b""
            rest: bytes = await self._reader.read(n)
            return head + rest
        chunk, self._head = self._head[:n], self._head[n:]
        if len(chunk) < n:
            chunk += await self._reader.read(n - len(chunk))
        return chunk

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class GuardedBroker(Broker):  # type: ignore[misc]
    """amqtt's broker, refusing a CONNECT whose login fails before any session is touched,
    and keeping to ``limits``."""

    def __init__(
        self,
        config: dict[str, Any],
        access: AccessTable,
        *,
        limits: BrokerLimits,
        metrics: BrokerMetrics,
    ) -> None:
        super().__init__(config)
        self.access = access
        self.limits = limits
        self.metrics = metrics
        self._overflowing: set[str] = set()
        """Client ids whose offline queue is full (logged once per episode)."""

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> Any:
        recording = _Recording(reader)
        try:
            connect = await ConnectPacket.from_stream(recording)
        except PacketTooLarge as exc:
            await writer.close()
            peer = f"{remote_address}:{remote_port}"
            raise MQTTError(f"refused a CONNECT from {peer}: {exc}") from exc
        if connect.proto_level == _MQTT_311:  # anything else amqtt refuses itself
            will = connect.will_topic if connect.will_flag else None
            login = (connect.username, connect.password, connect.client_id, will)
            if admitted(self.access, *login) is None:
                connack = ConnackPacket.build(0, NOT_AUTHORIZED)
                await connack.to_stream(writer)
                await writer.close()
                raise MQTTError(
                    f"refused {connect.username or 'a client without login'} "
                    f"as {connect.client_id!r} from {remote_address}:{remote_port}"
                )
        return await super()._initialize_client_session(
            _Replay(bytes(recording.data), reader), writer, remote_address, remote_port
        )

    async def _topic_filtering(self, session: Any, topic: str, action: Any) -> bool:
        """Publish, subscribe and receive as the session's account may (amqtt calls this for
        every PUBLISH, SUBSCRIBE and delivery)."""
        account = None if session is None else self.access.account(session.username, fresh=False)
        if account is None:
            return False
        if action == Action.PUBLISH:
            return account.may_publish(topic)
        if action == Action.SUBSCRIBE:
            return account.may_subscribe(topic)
        if action == Action.RECEIVE:
            return account.may_receive(topic)
        return False

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        """amqtt's handling of one TCP connection, after which its transport is closed
        however the handling ended (amqtt leaves it open when a connection's task is
        cancelled at shutdown, or when closing it failed half way), read within the packet
        size limit."""

        def refused(announced: int) -> None:
            self.metrics.packets_refused.inc()
            peer = writer.get_extra_info("peername")
            log.warning(
                "closed the connection from %s: a packet of %d bytes announced, limit %d",
                peer,
                announced,
                self.limits.max_packet_bytes,
            )

        limited = LimitedStream(reader, self.limits.max_packet_bytes, refused)
        try:
            await super().stream_connected(limited, writer, listener_name)
        finally:
            writer.close()

    async def _retain_broadcast_message(
        self, broadcast: dict[str, Any], qos: int, target_session: Any
    ) -> None:
        """Queue a message for a disconnected session unless its queue is full (then the
        message is dropped and counted)."""
        client_id: str = target_session.client_id
        if target_session.retained_messages.qsize() >= self.limits.max_queued_messages:
            self.metrics.queue_dropped.inc()
            if client_id not in self._overflowing:
                self._overflowing.add(client_id)
                log.warning(
                    "the offline queue of %s is full (%d messages): newer messages are dropped "
                    "until it has room again",
                    client_id,
                    self.limits.max_queued_messages,
                )
            return
        if client_id in self._overflowing:
            self._overflowing.discard(client_id)
            log.info("the offline queue of %s has room again", client_id)
        await super()._retain_broadcast_message(broadcast, qos, target_session)

    async def disconnect_user(self, username: str) -> int:
        """Close the connections logged in as ``username``; returns how many."""
        closed = 0
        for session, handler in list(self.sessions.values()):
            writer = handler.writer
            if session.username == username and writer is not None:
                try:
                    await writer.close()
                except OSError as exc:  # the peer went first; stream_connected closes it
                    log.debug("closing %s's connection: %s", username, exc)
                closed += 1
        return closed
