"""Queueing of notifications to people in the outbox; delivery channels read the outbox.

Every producer passes a ``dedupe_key`` so that running it twice queues one message. A batch
(:func:`queue_many`, an alert storm's messages) is queued in two statements whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
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


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox message to queue: to a person (``recipient_id``), or to a system channel
    named in its payload (``recipient_id`` None, e.g. the platform's MQTT topic)."""

    dedupe_key: str
    kind: str
    recipient_id: int | None
    shelter_id: int | None
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)


NOTIFICATIONS = cast(Table, Notification.__table__)
"""The outbox table: a batch is inserted as plain rows (the ORM would split it by the
columns each row leaves empty)."""
DEDUPE_CHUNK = 5000
"""Dedupe keys looked up per query (well under the databases' parameter limits)."""


def queue_many(session: Session, messages: Sequence[Message], *, now: datetime) -> list[int | None]:
    """Queue ``messages`` in their order, those whose ``dedupe_key`` is queued already (or
    earlier in ``messages``) left out: the existing keys in one query, the new rows in one
    INSERT, their ids in one more. Per message its notification's id, None where it was left
    out."""
    session.flush()  # what the caller added first (its producers read the outbox after)
    keys = list(dict.fromkeys(m.dedupe_key for m in messages))
    existing: set[str] = set()
    for k in range(0, len(keys), DEDUPE_CHUNK):
        existing.update(
            session.scalars(
                select(Notification.dedupe_key).where(
                    Notification.dedupe_key.in_(keys[k : k + DEDUPE_CHUNK])
                )
            )
        )
    new: list[int] = []
    for i, m in enumerate(messages):
        if m.dedupe_key not in existing:
            existing.add(m.dedupe_key)
            new.append(i)
    ids: list[int | None] = [None] * len(messages)
    if not new:
        return ids
    rows = [
        {
            "dedupe_key": messages[i].dedupe_key,
            "kind": messages[i].kind,
            "recipient_id": messages[i].recipient_id,
            "shelter_id": messages[i].shelter_id,
            "subject": messages[i].subject,
            "body": messages[i].body,
            "payload": messages[i].payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "last_error": "",
        }
        for i in new
    ]
    session.execute(insert(NOTIFICATIONS), rows)
    # Ids read back by key: a multi-row INSERT … RETURNING costs the PostgreSQL driver more
    # to build than the rows cost to write.
    created: dict[str, int] = {}
    new_keys = [messages[i].dedupe_key for i in new]
    for k in range(0, len(new_keys), DEDUPE_CHUNK):
        created.update(
            (key, notification_id)
            for notification_id, key in session.execute(
                select(Notification.id, Notification.dedupe_key).where(
                    Notification.dedupe_key.in_(new_keys[k : k + DEDUPE_CHUNK])
                )
            )
        )
    for i in new:
        ids[i] = created[messages[i].dedupe_key]
    return ids


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
    """Queue one message per recipient (key ``{dedupe_key}:u{user id}``); returns how many
    were new (0 when all existed)."""
    people = {user.id: user for user in recipients if user is not None}
    ids = queue_many(
        session,
        [
            Message(
                dedupe_key=f"{dedupe_key}:u{user_id}",
                kind=kind,
                recipient_id=user_id,
                shelter_id=shelter.id if shelter else None,
                subject=subject,
                body=body,
                payload=payload or {},
            )
            for user_id in people
        ],
        now=now,
    )
    return sum(i is not None for i in ids)
