"""Queueing of notifications to people in the outbox; delivery channels read the outbox.

Every producer passes a ``dedupe_key`` so that running it twice queues one message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Notification, OutboxStatus, Role, Shelter, User


def district_officers(session: Session, district: str) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.role == Role.DISTRICT_OFFICER, User.district == district, User.active.is_(True)
            )
        )
    )


def city_office(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))))


def queue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    recipients: Iterable[User | None],
    shelter: Shelter | None,
    subject: str,
    body: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> int:
    """Queue one message per recipient; returns how many were new (0 when all existed)."""
    created = 0
    seen: set[int] = set()
    for user in recipients:
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        key = f"{dedupe_key}:u{user.id}"
        if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
            continue
        session.add(
            Notification(
                dedupe_key=key,
                kind=kind,
                recipient_id=user.id,
                shelter_id=shelter.id if shelter else None,
                subject=subject,
                body=body,
                payload=payload or {},
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        created += 1
    session.flush()
    return created


def queue_unaddressed(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    shelter: Shelter | None,
    subject: str,
    body: str,
    now: datetime,
    payload: dict[str, Any],
) -> Notification | None:
    """Queue a message for a system channel (e.g. the platform's MQTT topic named in the
    payload) rather than a person; None when it was queued before."""
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)):
        return None
    notification = Notification(
        dedupe_key=dedupe_key,
        kind=kind,
        recipient_id=None,
        shelter_id=shelter.id if shelter else None,
        subject=subject,
        body=body,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    return notification
