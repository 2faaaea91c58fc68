"""The append-only audit log: who did what to which record, when, with before and after."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Session

from inspection.access import Actor
from inspection.models import AuditEntry

_SKIPPED = {"password_hash", "api_key_hash", "previous_api_key_hash", "data", "revision"}
"""Secrets, blobs, and the row revision (a change counter, raised in SQL at each UPDATE)."""


def snapshot(obj: DeclarativeBase) -> dict[str, Any]:
    """The column values of a row as JSON-ready data (secrets and blobs left out)."""
    out: dict[str, Any] = {}
    for column in sa_inspect(obj).mapper.column_attrs:
        if column.key in _SKIPPED:
            continue
        out[column.key] = _jsonable(getattr(obj, column.key))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    return value


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int,
    *,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry; only changed keys are kept when both sides are given."""
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    entry = AuditEntry(
        at=at,
        actor_id=actor.id or None,
        actor=actor.username,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def entries(
    session: Session, *, entity: str | None, entity_id: str | None, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """Newest first, optionally for one entity (kind, and id)."""
    query = select(AuditEntry)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total
