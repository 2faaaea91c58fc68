"""The outbox as the city office reads it: how many notifications and deliveries are pending,
failing, sent, dead or undeliverable, by channel and by recipient, and the notifications
behind each figure.

States (one word per figure, the same for notifications and deliveries):

- ``pending``: not tried yet (a notification: none of its deliveries has failed yet);
- ``failed``: tried, failed, waiting for its next attempt (backoff) (a notification: one of
  its deliveries has failed and it is not finished);
- ``sent``: a notification with at least one delivery delivered; a delivery delivered;
- ``dead``: given up after a refusal or the last attempt;
- ``undeliverable``: a notification no channel could carry (channel ``none``).

Delivery targets are never shown: webhook and robot URLs carry their keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from api.notify.metrics import NO_CHANNEL
from inspection.models import Delivery, Notification, OutboxStatus, User


class OutboxState(StrEnum):
    """What the office reads of a notification or delivery: its :class:`OutboxStatus`, with
    ``pending`` split into ``pending`` and ``failed`` and ``delivered`` read as ``sent``."""

    PENDING = "pending"
    FAILED = "failed"
    SENT = "sent"
    DEAD = "dead"
    UNDELIVERABLE = "undeliverable"


def _state(status: str, failed: bool) -> OutboxState:
    if status == OutboxStatus.PENDING:
        return OutboxState.FAILED if failed else OutboxState.PENDING
    if status in (OutboxStatus.SENT, OutboxStatus.DELIVERED):
        return OutboxState.SENT
    if status == OutboxStatus.UNDELIVERABLE:
        return OutboxState.UNDELIVERABLE
    return OutboxState.DEAD


@dataclass(slots=True)
class Counts:
    pending: int = 0
    failed: int = 0
    sent: int = 0
    dead: int = 0
    undeliverable: int = 0

    def add(self, state: OutboxState, n: int) -> None:
        setattr(self, state.value, getattr(self, state.value) + n)


@dataclass(slots=True)
class ChannelCounts(Counts):
    channel: str = ""


@dataclass(slots=True)
class RecipientCounts(Counts):
    recipient: str | None = None
    """The user's name; None for messages to systems (the platform's MQTT topic)."""


@dataclass(slots=True)
class OutboxSummary:
    notifications: Counts
    by_channel: list[ChannelCounts]
    by_recipient: list[RecipientCounts]


def summary(session: Session) -> OutboxSummary:
    """Every figure of the outbox in three grouped queries; channels and recipients with a
    problem (dead, undeliverable, failed) first."""
    total = Counts()
    people: dict[str | None, RecipientCounts] = {}
    failed = Notification.last_error != literal_column("''")  # no parameter: PostgreSQL
    # groups by the expression only when it is written the same in SELECT and GROUP BY
    rows = session.execute(
        select(User.username, Notification.status, failed, func.count())
        .select_from(Notification)
        .outerjoin(User, User.id == Notification.recipient_id)
        .group_by(User.username, Notification.status, failed)
    )
    for username, status, has_failed, n in rows:
        state = _state(status, bool(has_failed))
        total.add(state, n)
        people.setdefault(username, RecipientCounts(recipient=username)).add(state, n)
    channels: dict[str, ChannelCounts] = {}
    tried = Delivery.attempts > literal_column("0")
    for channel, status, has_tried, n in session.execute(
        select(Delivery.channel, Delivery.status, tried, func.count()).group_by(
            Delivery.channel, Delivery.status, tried
        )
    ):
        channels.setdefault(channel, ChannelCounts(channel=channel)).add(
            _state(status, bool(has_tried)), n
        )
    if total.undeliverable:
        channels[NO_CHANNEL] = ChannelCounts(channel=NO_CHANNEL, undeliverable=total.undeliverable)
    return OutboxSummary(
        total,
        sorted(channels.values(), key=lambda c: (_trouble(c), c.channel)),
        sorted(people.values(), key=lambda c: (_trouble(c), c.recipient or "")),
    )


def _trouble(c: Counts) -> tuple[int, int, int]:
    """Sorts the worst first: given up, then failing, then waiting."""
    return (-(c.dead + c.undeliverable), -c.failed, -c.pending)


@dataclass(frozen=True, slots=True)
class DeliveryItem:
    channel: str
    state: OutboxState
    attempts: int
    last_error: str
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    recipient: str | None
    subject: str
    state: OutboxState
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    deliveries: list[DeliveryItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OutboxFilter:
    state: OutboxState | None = None
    channel: str | None = None
    """A channel name, or ``none`` for undeliverable notifications."""
    recipient: str | None = None
    """A username."""


def _where(flt: OutboxFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.state is OutboxState.PENDING:
        conditions += [Notification.status == OutboxStatus.PENDING, Notification.last_error == ""]
    elif flt.state is OutboxState.FAILED:
        conditions += [Notification.status == OutboxStatus.PENDING, Notification.last_error != ""]
    elif flt.state is not None:
        conditions.append(Notification.status == OutboxStatus(flt.state.value))
    if flt.channel == NO_CHANNEL:
        conditions.append(Notification.status == OutboxStatus.UNDELIVERABLE)
    elif flt.channel is not None:
        conditions.append(
            exists().where(
                and_(Delivery.notification_id == Notification.id, Delivery.channel == flt.channel)
            )
        )
    if flt.recipient is not None:
        person = aliased(User)  # the listing joins User itself
        named = select(person.id).where(person.username == flt.recipient).scalar_subquery()
        conditions.append(Notification.recipient_id == named)
    return conditions


def items(
    session: Session, flt: OutboxFilter, *, limit: int, offset: int
) -> tuple[list[OutboxItem], int]:
    """The notifications matching ``flt``, newest first, each with its deliveries (three
    queries whatever the page size)."""
    conditions = _where(flt)
    total = session.scalar(select(func.count()).select_from(Notification).where(*conditions)) or 0
    rows = session.execute(
        select(Notification, User.username)
        .outerjoin(User, User.id == Notification.recipient_id)
        .where(*conditions)
        .order_by(Notification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [n.id for n, _name in rows]
    by_notification: dict[int, list[DeliveryItem]] = {}
    if ids:
        for d in session.scalars(
            select(Delivery).where(Delivery.notification_id.in_(ids)).order_by(Delivery.id)
        ):
            by_notification.setdefault(d.notification_id, []).append(
                DeliveryItem(
                    d.channel,
                    _state(d.status, d.attempts > 0),
                    d.attempts,
                    d.last_error,
                    d.delivered_at,
                )
            )
    return [
        OutboxItem(
            id=n.id,
            kind=n.kind,
            recipient=name,
            subject=n.subject,
            state=_state(n.status, n.last_error != ""),
            attempts=n.attempts,
            last_error=n.last_error,
            created_at=n.created_at,
            sent_at=n.sent_at,
            deliveries=by_notification.get(n.id, []),
        )
        for n, name in rows
    ], total
