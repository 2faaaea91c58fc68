"""Real receivers for the delivery tests, and helpers that arrange and read the outbox.

:class:`Receiver` is an HTTP server on a free local port that records every request and
answers from a script; :class:`SmtpSink` is an in-process aiosmtpd server;
:class:`TopicSubscriber` listens on the real Mosquitto. All are plain classes (fixtures
wrapping them live in ``test_delivery.py``).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.notify.ack_links import AckLinks
from api.notify.channels import Channel
from api.notify.delivery import DeliveryReport, deliver_due, plan
from inspection.models import Delivery, DeliveryAttempt, Notification, OutboxStatus, Role, User
from tests.conftest import FakeClock

T = TypeVar("T")
HOOK_SECRET = "hook-secret-0123456789"
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
ROBOT_OK = b'{"errcode":0,"errmsg":"ok"}'


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every POST; answers the scripted ``(status, body)`` pairs in order, then
    ``default``. ``delay`` seconds pass before each answer."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes]] = []
        self.default: tuple[int, bytes] = (200, ROBOT_OK)
        self.delay = 0.0
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, received: Received) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(received)
            return self.script.pop(0) if self.script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = receiver._answer(Received(self.path, dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


class SmtpSink:
    """An SMTP server on a free local port that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def mails(self) -> list[tuple[list[str], EmailMessage, str]]:
        """``(recipients, message, plain text body)`` of every accepted envelope."""
        found = []
        for envelope in self.envelopes:
            assert isinstance(envelope.content, bytes)
            mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(mail, EmailMessage)
            body = mail.get_body()
            assert body is not None
            found.append((list(envelope.rcpt_tos), mail, str(body.get_content())))
        return found

    def stop(self) -> None:
        self._controller.stop()


class TopicSubscriber:
    """A QoS 1 subscriber on the real Mosquitto that keeps every payload of one topic."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.payloads: list[bytes] = []
        self.arrived = threading.Event()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"t-sub-{uuid.uuid4().hex[:8]}"
        )
        self._client.on_subscribe = lambda *_args: self._subscribed.set()
        self._client.on_message = self._on_message

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.payloads.append(bytes(message.payload))
        self.arrived.set()

    def start(self) -> None:
        self._client.connect(MQTT_HOST, MQTT_PORT)
        self._client.loop_start()
        self._client.subscribe(self.topic, qos=1)
        if not self._subscribed.wait(10):
            raise AssertionError(f"no SUBACK for {self.topic}")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def plan_all(sessions: sessionmaker[Session], clock: FakeClock) -> int:
    with sessions() as session:
        created = plan(session, clock()).deliveries
        session.commit()
    return created


def run_due(
    sessions: sessionmaker[Session],
    clock: FakeClock,
    channels: Mapping[str, Channel],
    *,
    max_attempts: int = 6,
    links: AckLinks | None = None,
) -> DeliveryReport:
    """One :func:`deliver_due` run at the clock's time."""
    return deliver_due(sessions, channels, now=clock(), max_attempts=max_attempts, links=links)


def hook_user(sessions: sessionmaker[Session], receiver: Receiver, clock: FakeClock) -> int:
    """A manager whose only channel is a webhook on ``receiver`` signed with HOOK_SECRET."""
    profile = {"email": False, "webhook": {"url": f"{receiver.url}/hook", "secret": HOOK_SECRET}}
    return add_person(sessions, "mgr-hook", now=clock(), channels=profile)


def add_person(
    sessions: sessionmaker[Session],
    name: str,
    *,
    now: datetime,
    email: str | None = None,
    channels: dict[str, Any] | None = None,
) -> int:
    with sessions() as session:
        user = User(
            username=name,
            role=Role.MANAGER,
            email=email,
            channels=channels or {},
            created_at=now,
        )
        session.add(user)
        session.commit()
        return user.id


def add_notification(
    sessions: sessionmaker[Session],
    key: str,
    *,
    now: datetime,
    recipient_id: int | None,
    subject: str = "湿度告警：测试工程 滤毒室",
    body: str = "滤毒室相对湿度 86%，已持续 72 小时。",
    payload: dict[str, Any] | None = None,
) -> int:
    with sessions() as session:
        notification = Notification(
            dedupe_key=key,
            kind="alert_raised",
            recipient_id=recipient_id,
            subject=subject,
            body=body,
            payload=payload or {},
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(notification)
        session.commit()
        return notification.id


def with_session(sessions: sessionmaker[Session], read: Callable[[Session], T]) -> T:
    with sessions() as session:
        return read(session)


def deliveries(sessions: sessionmaker[Session]) -> list[Delivery]:
    return with_session(sessions, lambda s: list(s.scalars(select(Delivery).order_by(Delivery.id))))


def attempts(sessions: sessionmaker[Session]) -> list[DeliveryAttempt]:
    return with_session(
        sessions, lambda s: list(s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))
    )


def notification(sessions: sessionmaker[Session], notification_id: int) -> Notification:
    return with_session(sessions, lambda s: s.get_one(Notification, notification_id))
