"""An in-process MQTT broker (amqtt) for demos, tests and benchmarks without Mosquitto.

`EmbeddedBroker` runs an amqtt `Broker` on its own asyncio event loop in a background thread,
so synchronous code (paho clients, the simulator, pytest) can use it like an external broker.
It is not meant for production: the city's deployment uses Mosquitto.

Access: no anonymous client. Every client logs in with an account of an
`telemetry.broker_access.AccessTable` and may publish, subscribe and receive only as
`telemetry.access` allows its role, as on Mosquitto with the dynamic-security plugin. An
account that changes or goes has its connection dropped within ``ACCESS_POLL_S``; its next
packet is judged by the new rules in any case.

What amqtt is (measured with amqtt 0.12.1, paho-mqtt 2.2, Python 3.11, on a loaded 2-core VM)
    - MQTT 3.1.1 only. A client must connect with protocol "3.1.1"; an MQTT 5 CONNECT is
      refused ("Unsupported protocol version"). `telemetry.mqtt.MqttSubscriber` and
      `telemetry.simulate.Simulator` both take ``protocol="3.1.1"``.
    - Persistent sessions (clean_session=False) keep their subscriptions and queue QoS 1/2
      messages while the client is away, but only sessions amqtt does not mark "anonymous":
      its stock ``AnonymousAuthPlugin`` marks *every* session it admits (even one with a
      user name), and amqtt drops such a session within a second of its disconnect and
      queues nothing for it. This broker admits clients through
      `telemetry.broker_guard.AccountAuth`, which does not.
    - It admits anonymous clients, authenticates only after it has looked up (and possibly
      wiped or taken over) the session a CONNECT names, and broadcasts wills unchecked:
      `telemetry.broker_guard` makes it admit accounts only (and says what it overrides).
    - The offline queue is an in-memory ``asyncio.Queue`` per session, unbounded in amqtt
      and bounded here (`telemetry.broker_limits`, as Mosquitto's ``max_queued_messages``,
      1,000 by default), lost on restart. Packets are bounded here too. On
      reconnect all of it is sent at once, without flow control, each message with the
      RETAIN flag set. Its code fails messages beyond 65,535 unacknowledged (packet ids).
      A backlog of 20,000 small messages arrived complete in 2.7–6.3 s (3,200–7,400 msgs/s).
    - At-least-once delivery is weaker than MQTT 3.1.1 requires: amqtt waits 5 s for a
      PUBACK and then forgets the message (logging "Timeout waiting for PUBACK", and later
      "Received PUBACK for unknown pending message Id"), and a message delivered but not yet
      acknowledged when the client disconnects is not resent on reconnect (Mosquitto resends
      it flagged DUP). So an ingester that acknowledges only after storage can lose, on a
      crash, what amqtt had delivered to it: fine for demos and tests, not for production.
    - Throughput, one QoS 1 publisher to one QoS 1 subscriber, 20,000 small messages, at most
      100 in flight: 1,100–1,600 msgs/s against Mosquitto's 2,800–4,800 (2.4–3.3×), with the
      broker sharing the clients' Python process as it does in use (``bench/bench_broker.py``).
    - Configured with the ``plugins`` dictionary, which loads no deprecated entry points and
      so raises no DeprecationWarning. The ``$SYS`` plugin is left out: it warns about its
      ``psutil`` dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from telemetry.broker_access import AccessTable
from telemetry.broker_guard import AccountAuth, GuardedBroker
from telemetry.broker_limits import BrokerLimits
from telemetry.metrics import BrokerMetrics

log = logging.getLogger(__name__)

STOP_TIMEOUT_S: Final = 10.0
ACCESS_POLL_S: Final = 0.5
"""How often the broker looks for changed accounts to drop their connections."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A client session as the broker holds it."""

    client_id: str
    connected: bool
    queued: int
    """QoS 1/2 messages held for the client while it is disconnected."""
    subscriptions: tuple[str, ...]
    """Topic filters the session is subscribed to."""


class EmbeddedBroker:
    """amqtt broker in a background thread, admitting the accounts of ``access``; loopback
    by default.

    ``port=0`` binds a free port chosen by the OS; `port` then gives the real one once
    started. Use as a context manager, or call `start` and `stop`. ``limits`` bounds packets
    and offline queues; ``metrics`` counts what they refuse.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        access: AccessTable,
        limits: BrokerLimits | None = None,
        metrics: BrokerMetrics | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.access = access
        self.limits = limits if limits is not None else BrokerLimits()
        self.metrics = metrics if metrics is not None else BrokerMetrics()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start the broker; returns once its port accepts TCP connections.

        Raises:
            RuntimeError: already started, the port cannot be bound (e.g. in use), or the
                broker did not accept connections within ``timeout`` seconds.
        """
        if self._thread is not None:
            raise RuntimeError("embedded MQTT broker already started")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        # amqtt's start returns after listen(): from then on the kernel accepts connections.
        if not self._ready.wait(timeout):
            self._abort()
            raise RuntimeError(
                f"embedded MQTT broker on {self.host}:{self.port} did not start within {timeout}s"
            )
        if self._error is not None:
            error = self._error
            self._abort()
            raise RuntimeError(
                f"embedded MQTT broker could not listen on {self.host}:{self.port} "
                f"(port in use?): {error}"
            ) from error

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Disconnect all clients, close the listener, end the loop and join its thread."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and self._broker is not None and not loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), loop)
            try:
                future.result(timeout)
            except Exception:
                log.exception("amqtt broker shutdown failed")
        self._abort(timeout)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- inspection -------------------------------------------------------------------------
    def session(self, client_id: str, timeout: float = 5.0) -> SessionInfo | None:
        """The broker's session for ``client_id``, or None if it holds none."""
        loop = self._loop
        if loop is None or self._broker is None:
            raise RuntimeError("embedded MQTT broker is not running")

        async def look() -> SessionInfo | None:
            entry = self._broker.sessions.get(client_id)
            if entry is None:
                return None
            session = entry[0]
            filters = tuple(
                topic_filter
                for topic_filter, subscribers in self._broker.subscriptions.items()
                if any(s.client_id == client_id for s, _qos in subscribers)
            )
            return SessionInfo(
                client_id,
                session.transitions.state == "connected",
                session.retained_messages.qsize(),
                filters,
            )

        return asyncio.run_coroutine_threadsafe(look(), loop).result(timeout)

    # -- the loop thread --------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {
                "default": {
                    "type": "tcp",
                    "bind": f"{self.host}:{self.port}",
                    # amqtt's default (0) is read as "no limit".
                    "max_connections": 0,
                },
            },
            "plugins": {
                f"{plugin.__module__}.{plugin.__qualname__}": {"access": self.access}
                for plugin in (AccountAuth,)
            },
        }

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            try:
                loop.run_until_complete(self._boot())
            except Exception as exc:  # noqa: BLE001 - reported to start() and re-raised there
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            loop.run_forever()
        finally:
            _cancel_all(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _boot(self) -> None:
        broker = GuardedBroker(
            self._config(), self.access, limits=self.limits, metrics=self.metrics
        )
        await broker.start()
        self._broker = broker
        if self.port == 0:
            # amqtt has no public accessor for the bound socket.
            server = broker._servers["default"].instance
            self.port = server.sockets[0].getsockname()[1]
        self.access.drain_changed()
        asyncio.get_running_loop().create_task(self._drop_changed(broker))

    async def _drop_changed(self, broker: GuardedBroker) -> None:
        """Drop the connections of accounts that changed or went (cancelled at stop)."""
        while True:
            await asyncio.sleep(ACCESS_POLL_S)
            for username in self.access.drain_changed():
                if await broker.disconnect_user(username):
                    log.info("dropped the connection of %s: its account changed", username)

    def _abort(self, timeout: float = STOP_TIMEOUT_S) -> None:
        thread, loop = self._thread, self._loop
        if loop is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("amqtt broker thread did not end within %.1fs", timeout)
        self._thread = None
        self._loop = None
        self._broker = None


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
