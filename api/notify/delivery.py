"""The outbox worker: plans the deliveries of pending notifications and sends the due ones
through the channels, retrying with backoff.

Lifecycle: a ``pending`` notification gets one :class:`Delivery` per target of its
recipient's channel profile (and one ``mqtt`` delivery to ``payload["mqtt_topic"]`` when
set); with no target this server can use it is ``undeliverable``, its ``last_error`` saying
why (no channel on the recipient's profile, none configured here, an inactive recipient), and
admins see it in the outbox view. A delivery is ``pending`` until ``delivered`` or ``dead``
(a refusal, or ``max_attempts`` failures); failures wait :data:`BACKOFF`. When no delivery of
a notification is pending any more, the notification is ``sent`` (at least one delivered) or
``dead``.

Concurrency: a delivery is claimed in a short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so workers never share one; SQLite runs a single worker) that moves its
``next_attempt_at`` forward by :data:`LEASE`. The send happens outside any transaction and
each attempt is recorded in a transaction of its own, so a worker that dies mid-send leaves
the delivery due again once the lease ends (at-least-once: receivers dedupe on the
notification id, which is in every channel's message).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from api.db import unit_of_work
from api.notify.ack_links import AckLinks
from api.notify.addresses import Resolver, system_resolver
from api.notify.channels import (
    Channel,
    ChannelError,
    ChannelProfile,
    DingTalkChannel,
    EmailChannel,
    MqttChannel,
    OutgoingMessage,
    WebhookChannel,
    WeComChannel,
    close_channels,
)
from api.notify.metrics import NO_CHANNEL, NotifyMetrics
from api.settings import Settings
from api.state import AppState
from inspection.models import Delivery, DeliveryAttempt, Notification, OutboxStatus, User
from inspection.redact import mask_text
from telemetry.mqtt import BrokerAddress

log = logging.getLogger(__name__)

BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
LEASE = timedelta(minutes=1)


def backoff(failures: int) -> timedelta:
    """The wait after the ``failures``-th failed attempt: 30 s, 2 min, 10 min, 30 min, 2 h,
    then 6 h for every later one."""
    return BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]


def _targets(session: Session, notification: Notification) -> tuple[list[tuple[str, str]], str]:
    """The (channel, target) pairs of a notification, and why there are none when so."""
    found: list[tuple[str, str]] = []
    why = "no recipient and no topic"
    if notification.recipient_id is not None:
        user = session.get(User, notification.recipient_id)
        if user is None or not user.active:
            why = "recipient is inactive"
        else:
            try:
                found += ChannelProfile.parse(user.channels).targets(user.email)
                why = "recipient has no channel"
            except ValidationError:
                log.warning("user %s has an invalid channel profile; not delivered", user.id)
                why = "recipient's channel profile is invalid"
    topic = notification.payload.get("mqtt_topic")
    if isinstance(topic, str) and topic:
        found.append(("mqtt", topic))
    return found, why


@dataclass(frozen=True, slots=True)
class Planned:
    """One :func:`plan` run: deliveries created, notifications found undeliverable."""

    deliveries: int = 0
    undeliverable: int = 0


def plan(
    session: Session,
    now: datetime,
    *,
    available: Collection[str] | None = None,
    system_only: bool = False,
) -> Planned:
    """Create the deliveries of every pending notification that has none yet. ``available``
    limits planning to the channels this server has configured (default: all); a notification
    left with no channel is ``undeliverable``; ``system_only`` plans only messages for system
    channels (no person recipient), as the ingester's fast path does. Idempotent: planned
    notifications are skipped and the ``(notification, channel, target)`` constraint
    ignores a row another worker added."""
    has_delivery = exists().where(Delivery.notification_id == Notification.id)
    query = (
        select(Notification)
        .where(Notification.status == OutboxStatus.PENDING, ~has_delivery)
        .order_by(Notification.id)
        .with_for_update(skip_locked=True, of=Notification)
    )
    if system_only:
        query = query.where(Notification.recipient_id.is_(None))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    created = undeliverable = 0
    for notification in session.scalars(query).all():
        found, why = _targets(session, notification)
        targets = [(c, t) for c, t in found if available is None or c in available]
        if not targets:
            if found:
                why = "no channel of the recipient is configured here: " + ", ".join(
                    sorted({c for c, _t in found})
                )
            notification.status = OutboxStatus.UNDELIVERABLE
            notification.last_error = why
            undeliverable += 1
            continue
        rows = [
            {
                "notification_id": notification.id,
                "channel": channel,
                "target": target,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
            }
            for channel, target in dict.fromkeys(targets)
        ]
        result = session.execute(
            insert(Delivery).values(rows).on_conflict_do_nothing().returning(Delivery.id)
        )
        created += len(result.all())
    session.flush()
    return Planned(created, undeliverable)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One :func:`deliver_due` run: attempts made and where they ended."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: int
    channel: str
    target: str
    message: OutgoingMessage
    secret: str | None
    refusal: str | None


def _recipient_check(
    session: Session, delivery: Delivery, recipient_id: int
) -> tuple[str | None, str | None]:
    """``(secret, refusal)``: the target's secret, or why it may no longer be sent to."""
    user = session.get(User, recipient_id)
    if user is None or not user.active:
        return None, "recipient is inactive"
    try:
        profile = ChannelProfile.parse(user.channels)
    except ValidationError:
        return None, "recipient's channel profile is invalid"
    if (delivery.channel, delivery.target) not in profile.targets(user.email):
        return None, "target is no longer in the recipient's channel profile"
    return profile.secret_for(delivery.channel, delivery.target), None


def _ack_url(notification: Notification, recipient: int, links: AckLinks | None) -> str | None:
    """The producer's link (payload ``ack_url``, even None), else one made for payload
    ``alert_id``; issued at the notification's creation so every retry sends the same text."""
    payload = notification.payload
    if "ack_url" in payload:
        given = payload["ack_url"]
        return given if isinstance(given, str) else None
    alert_id = payload.get("alert_id")
    if links is None or type(alert_id) is not int:
        return None
    return links.url(alert_id, recipient, issued_at=notification.created_at)


def _claim(
    sessions: sessionmaker[Session],
    now: datetime,
    links: AckLinks | None,
    channels: Collection[str] | None = None,
) -> Job | None:
    with unit_of_work(sessions) as session:
        query = select(Delivery).where(
            Delivery.status == OutboxStatus.PENDING, Delivery.next_attempt_at <= now
        )
        if channels is not None:
            query = query.where(Delivery.channel.in_(list(channels)))
        delivery = session.scalars(
            query.order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if delivery is None:
            return None
        delivery.next_attempt_at = now + LEASE
        notification = session.get_one(Notification, delivery.notification_id)
        secret: str | None = None
        refusal: str | None = None
        ack: str | None = None
        recipient = notification.recipient_id
        if recipient is not None and delivery.channel != "mqtt":
            secret, refusal = _recipient_check(session, delivery, recipient)
            ack = _ack_url(notification, recipient, links)
        message = OutgoingMessage(
            notification_id=notification.id,
            kind=notification.kind,
            subject=notification.subject,
            body=notification.body,
            payload=dict(notification.payload),
            created_at=notification.created_at,
            ack_url=ack,
        )
        return Job(delivery.id, delivery.channel, delivery.target, message, secret, refusal)


def _send(job: Job, channels: Mapping[str, Channel]) -> tuple[bool, str, bool]:
    """``(ok, detail, retryable)`` of one try."""
    if job.refusal is not None:
        return False, job.refusal, False
    channel = channels.get(job.channel)
    if channel is None:
        return False, f"channel {job.channel!r} is not configured on this server", False
    try:
        channel.send(job.target, job.message, secret=job.secret)
    except ChannelError as exc:
        return False, mask_text(exc.message), exc.retryable
    except Exception as exc:
        log.exception("channel %s failed unexpectedly on delivery %s", job.channel, job.delivery_id)
        return False, mask_text(f"unexpected {type(exc).__name__}: {exc}"), True
    return True, "delivered", False


def _settle(session: Session, notification: Notification, now: datetime) -> None:
    """Finish the notification once none of its deliveries is pending."""
    query = (
        select(Delivery.status, func.count())
        .where(Delivery.notification_id == notification.id)
        .group_by(Delivery.status)
    )
    counts = {status: count for status, count in session.execute(query)}
    if counts.get(OutboxStatus.PENDING, 0) or notification.status != OutboxStatus.PENDING:
        return
    if counts.get(OutboxStatus.DELIVERED, 0):
        notification.status = OutboxStatus.SENT
        notification.sent_at = now
    else:
        notification.status = OutboxStatus.DEAD


def record_outcome(
    sessions: sessionmaker[Session],
    job: Job,
    outcome: tuple[bool, str, bool],
    *,
    duration_ms: int,
    now: datetime,
    max_attempts: int,
) -> str:
    """Store the attempt and the delivery's new state; returns delivered, retrying, dead, or
    stale when the delivery was already finished."""
    ok, detail, retryable = outcome
    with unit_of_work(sessions) as session:
        notification = session.scalars(
            select(Notification)
            .where(Notification.id == job.message.notification_id)
            .with_for_update()
        ).one()
        delivery = session.get_one(Delivery, job.delivery_id, with_for_update=True)
        if delivery.status != OutboxStatus.PENDING:
            return "stale"  # finished by another worker after this one's lease ran out
        session.add(
            DeliveryAttempt(
                delivery_id=delivery.id,
                at=now,
                ok=ok,
                detail=detail[:2000],
                duration_ms=duration_ms,
            )
        )
        delivery.attempts += 1
        notification.attempts += 1
        if ok:
            delivery.status = OutboxStatus.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
        else:
            delivery.last_error = detail
            notification.last_error = f"{job.channel}: {detail}"
            if not retryable or delivery.attempts >= max_attempts:
                delivery.status = OutboxStatus.DEAD
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
        session.flush()
        _settle(session, notification, now)
        return "retrying" if delivery.status == OutboxStatus.PENDING else str(delivery.status)


def deliver_due(
    sessions: sessionmaker[Session],
    channels: Mapping[str, Channel],
    *,
    now: datetime,
    max_attempts: int,
    limit: int = 50,
    links: AckLinks | None = None,
    only_these_channels: bool = False,
    metrics: NotifyMetrics | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` deliveries due at ``now``, one claim, send and record at a time;
    ``links`` adds an acknowledgement link to person-bound messages of an alert (payload
    ``alert_id``); ``metrics`` counts each attempt by channel and outcome. Safe to run in
    several workers at once on PostgreSQL."""
    counts = {"delivered": 0, "retrying": 0, "dead": 0}
    attempted = 0
    for _ in range(limit):
        job = _claim(sessions, now, links, channels.keys() if only_these_channels else None)
        if job is None:
            break
        started = time.monotonic()
        outcome = _send(job, channels)
        duration_ms = int((time.monotonic() - started) * 1000)
        state = record_outcome(
            sessions, job, outcome, duration_ms=duration_ms, now=now, max_attempts=max_attempts
        )
        attempted += 1
        if state in counts:
            counts[state] += 1
            if metrics is not None:
                metrics.count(job.channel, state)
        if not outcome[0]:
            log.warning(
                "delivery %s via %s: %s (%s)", job.delivery_id, job.channel, outcome[1], state
            )
    return DeliveryReport(attempted=attempted, **counts)


class DeliveryWorker(threading.Thread):
    """Runs :func:`plan` and :func:`deliver_due` every ``interval_s`` seconds (at once again
    while a run used its whole batch) until stopped; an error in one run is logged and the
    next runs as usual. Owns ``channels``: they are closed when the worker stops."""

    batch = 50

    def __init__(
        self,
        state: AppState,
        channels: Mapping[str, Channel],
        interval_s: float,
        *,
        system_only: bool = False,
        metrics: NotifyMetrics | None = None,
    ) -> None:
        super().__init__(name="shelterwatch-delivery", daemon=True)
        self.state = state
        self.channels = dict(channels)
        self.interval_s = interval_s
        self.system_only = system_only
        self.metrics = metrics
        settings = state.settings
        self.links = AckLinks(settings.public_base_url, state.signing_key, settings.ack_link_hours)
        self._stop_event = threading.Event()

    def run_once(self) -> DeliveryReport:
        with unit_of_work(self.state.sessions) as session:
            planned = plan(
                session,
                self.state.clock(),
                available=self.channels.keys(),
                system_only=self.system_only,
            )
        if self.metrics is not None:
            self.metrics.count(NO_CHANNEL, OutboxStatus.UNDELIVERABLE, planned.undeliverable)
        if planned.undeliverable:
            log.warning("%d notifications are undeliverable (no channel)", planned.undeliverable)
        return deliver_due(
            self.state.sessions,
            self.channels,
            now=self.state.clock(),
            max_attempts=self.state.settings.delivery_max_attempts,
            limit=self.batch,
            links=self.links,
            only_these_channels=self.system_only,
            metrics=self.metrics,
        )

    def run(self) -> None:
        wait = self.interval_s
        while not self._stop_event.wait(wait):
            wait = self.interval_s
            try:
                if self.run_once().attempted >= self.batch:
                    wait = 0
            except Exception:
                log.exception("delivery run failed; retrying at the next interval")

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)
        close_channels(self.channels.values())


def build_channels(
    settings: Settings, mqtt_url: str | None, resolver: Resolver = system_resolver
) -> dict[str, Channel]:
    """The channels this process can deliver through: the HTTP ones always, email when
    ``smtp_host`` is set, MQTT when a broker URL is given. The HTTP channels reach only
    public addresses or ``SHELTERWATCH_WEBHOOK_ALLOWED_HOSTS``, resolved by ``resolver``."""
    # here, not at the top: the ingester imports this module and never needs httpx
    from api.notify.guarded_http import guarded_client

    timeout = settings.webhook_timeout_seconds
    client = guarded_client(settings.address_guard(resolver), timeout)
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(timeout, client),
        "wecom": WeComChannel(timeout, client),
        "dingtalk": DingTalkChannel(timeout, client),
    }
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        channels["email"] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            timeout=max(timeout, 10.0),
        )
    if mqtt_url:
        channels["mqtt"] = MqttChannel(
            BrokerAddress.parse(mqtt_url),
            client_id=f"{settings.mqtt_client_id}-notify-{uuid.uuid4().hex[:8]}",
            protocol=settings.mqtt_protocol,
        )
    return channels
