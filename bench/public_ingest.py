"""``shelterwatch ingest`` with its MQTT client layer on paho's public API only, tuned as
Home Assistant tunes its paho client (``homeassistant/components/mqtt/client.py``).

Everything but the client layer is the real ingester: the same settings, intake, batch sizes,
validation, reading store, writers and in-order acknowledgement after durable storage. Two
things are swapped in before the command runs:

* ``telemetry.mqtt.LeanClient`` becomes :class:`PublicClient`, a ``paho.mqtt.client.Client``
  that overrides nothing of paho's and runs its own network thread the way Home Assistant's
  event loop drives paho: a selector on ``client.socket()``; on readable, ``loop_read(500)``;
  on writable (registered through ``on_socket_register_write`` while paho wants to write),
  ``loop_write()``; ``loop_misc()`` once a second; in ``on_socket_open`` a 2 MiB socket
  receive buffer (halved on refusal down to 128 KiB), in ``on_socket_close`` the socket
  dropped from the selector;
* ``MqttSubscriber._send_pubacks`` sends each PUBACK with the public ``client.ack(mid, 1)``
  (``manual_ack=True``), instead of one write of the batch's PUBACKs through paho's packet
  queue.

paho 2.x's ``loop_read(max_packets)`` reads one packet whatever ``max_packets`` says (it
recomputes the count from its in-flight QoS 2 state), so Home Assistant's ``loop_read(500)``
reads one packet per readable event. ``--burst`` calls ``loop_read`` again while the socket
still holds data, up to 500 packets, which is what "many packets per call" can mean on the
public API; without it the client is Home Assistant's literal loop. Deliveries are handed to
the intake once per readable event (``on_read``) and reading waits while the intake is full
(``before_read``), as in the ingester.

Run by bench_ingest.py: ``python bench/public_ingest.py [--burst] ingest --port P``.
"""

from __future__ import annotations

import contextlib
import select
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

import telemetry.mqtt
from api.processes.cli import main as cli_main
from telemetry.mqtt import MqttSubscriber
from telemetry.mqtt_client import PAUSE_S

MAX_PACKETS_TO_READ: Final = 500
PREFERRED_BUFFER_SIZE: Final = 2 * 1024 * 1024
MIN_BUFFER_SIZE: Final = 128 * 1024
MISC_INTERVAL_S: Final = 1.0
RECONNECT_MIN_S: Final = 1.0
RECONNECT_MAX_S: Final = 30.0
_SUCCESS: Final = MQTTErrorCode.MQTT_ERR_SUCCESS

BURST = False
"""Set by ``--burst``: read on while the socket holds data (see the module docstring)."""


class PublicClient(mqtt.Client):
    """paho's client driven from outside through its public socket hooks; ``loop_start`` and
    ``loop_stop`` run and stop that driving thread instead of paho's own."""

    def __init__(
        self,
        *args: Any,
        on_publish: Callable[[str, bytes, int, int], None] | None = None,
        on_read: Callable[[bool], None] | None = None,
        before_read: Callable[[float], bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        del on_publish  # messages come through on_message, paho's public path
        self.read_hook = on_read
        self.before_read = before_read
        self.on_socket_open = self._socket_open
        self.on_socket_close = self._socket_close
        self.on_socket_register_write = self._wake
        self.on_socket_unregister_write = self._wake
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._registered: Any = None
        self._driver: threading.Thread | None = None
        self._stop_loop = threading.Event()
        self._leaving = False

    # -- socket hooks (Home Assistant's on_socket_open / on_socket_close) -------------------
    def _socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        size = PREFERRED_BUFFER_SIZE
        while True:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            except OSError:
                if size <= MIN_BUFFER_SIZE:
                    break
                size //= 2
            else:
                break
        self._watch(sock)

    def _socket_close(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        self._watch(None)

    def _wake(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_w.send(b"\0")

    def _watch(self, sock: Any) -> None:
        if self._registered is not None:
            self._selector.unregister(self._registered)
        self._registered = sock
        if sock is not None:
            self._selector.register(sock, selectors.EVENT_READ)

    # -- the driving thread -----------------------------------------------------------------
    def loop_start(self) -> MQTTErrorCode:
        self._stop_loop.clear()
        self._driver = threading.Thread(target=self._run, name="mqtt-public", daemon=True)
        self._driver.start()
        return _SUCCESS

    def loop_stop(self) -> MQTTErrorCode:
        self._stop_loop.set()
        self._wake(self, None, None)
        if self._driver is not None and self._driver is not threading.current_thread():
            self._driver.join(10)
        self._driver = None
        return _SUCCESS

    def disconnect(self, *args: Any, **kwargs: Any) -> MQTTErrorCode:
        self._leaving = True
        return super().disconnect(*args, **kwargs)

    def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while not self._stop_loop.is_set():
            if self.socket() is None:
                if self._leaving:
                    return
                try:
                    rc = self.reconnect()
                except OSError:
                    rc = MQTTErrorCode.MQTT_ERR_CONN_REFUSED
                if rc != _SUCCESS:
                    self._stop_loop.wait(delay)
                    delay = min(delay * 2, RECONNECT_MAX_S)
                    continue
                delay = RECONNECT_MIN_S
            self._serve()

    def _serve(self) -> None:
        """Select and dispatch until the connection is gone or the loop is stopped."""
        next_misc = time.monotonic() + MISC_INTERVAL_S
        while not self._stop_loop.is_set() and self.socket() is not None:
            sock = self._registered
            if sock is not None:
                events = selectors.EVENT_READ
                if self.want_write():
                    events |= selectors.EVENT_WRITE
                self._selector.modify(sock, events)
            ready = self._selector.select(max(0.0, next_misc - time.monotonic()))
            for key, mask in ready:
                if key.fileobj is self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                    continue
                if mask & selectors.EVENT_WRITE and self.loop_write() != _SUCCESS:
                    break
                if mask & selectors.EVENT_READ and self._read() != _SUCCESS:
                    break
            if time.monotonic() >= next_misc:
                self.loop_misc()
                next_misc = time.monotonic() + MISC_INTERVAL_S

    def _read(self) -> MQTTErrorCode:
        before_read = self.before_read
        if before_read is not None and self.is_connected() and not before_read(PAUSE_S):
            return _SUCCESS
        hook = self.read_hook
        if hook is not None:
            hook(True)
        try:
            rc = self.loop_read(MAX_PACKETS_TO_READ)
            if BURST:
                for _ in range(MAX_PACKETS_TO_READ - 1):
                    sock = self.socket()
                    if rc != _SUCCESS or sock is None or not _readable(sock):
                        break
                    rc = self.loop_read(MAX_PACKETS_TO_READ)
            return rc
        finally:
            if hook is not None:
                hook(False)


def _readable(sock: Any) -> bool:
    pending = getattr(sock, "pending", None)
    if pending is not None and pending() > 0:
        return True
    return bool(select.select([sock], [], [], 0)[0])


def _public_pubacks(self: MqttSubscriber, mids: list[int]) -> None:
    for mid in mids:
        self.client.ack(mid, 1)


def main(argv: Sequence[str]) -> int:
    global BURST
    args = list(argv)
    if args[:1] == ["--burst"]:
        BURST = True
        args = args[1:]
    telemetry.mqtt.LeanClient = PublicClient  # type: ignore[attr-defined, assignment]
    MqttSubscriber._send_pubacks = _public_pubacks  # type: ignore[method-assign]
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
