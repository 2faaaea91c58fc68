"""The append-only audit log: who did what to which record, when, with before and after.

Snapshots leave out password and key hashes and blobs, and keep a user's channel profile
with its secrets masked (:mod:`inspection.redact`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Session

from inspection.access import Actor
from inspection.models import AuditEntry
from inspection.redact import mask_channels

_SKIPPED = {"password_hash", "api_key_hash", "previous_api_key_hash", "data", "revision"}
"""Secrets, blobs, and the row revision (a change counter, raised in SQL at each UPDATE)."""


def snapshot(obj: DeclarativeBase) -> dict[str, Any]:
    """The column values of a row as JSON-ready data (secrets and blobs left out)."""
    out: dict[str, Any] = {}
    for column in sa_inspect(obj).mapper.column_attrs:
        if column.key in _SKIPPED:
            continue
        out[column.key] = _shown(column.key, getattr(obj, column.key))
    return out


def _shown(key: str, value: Any) -> Any:
    if key == "channels" and isinstance(value, dict):
        return mask_channels(value)
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    return value


def values(row: dict[str, Any]) -> dict[str, Any]:
    """Column values about to be written, as :func:`snapshot` gives them for a row."""
    return {k: _shown(k, v) for k, v in row.items() if k not in _SKIPPED}


def _entry(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str | int,
    at: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    return {
        "at": at,
        "actor_id": actor.id or None,
        "actor": actor.username,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
    }


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
    entry = AuditEntry(**_entry(actor, action, entity, entity_id, at, before, after))
    session.add(entry)
    return entry


def record_many(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    changes: Iterable[tuple[str | int, dict[str, Any] | None, dict[str, Any] | None]],
    *,
    at: datetime,
) -> int:
    """Append one entry per (entity id, before, after) in one bulk INSERT, executed now (a
    bulk write audits itself without an object per row); returns how many."""
    rows = [_entry(actor, action, entity, i, at, before, after) for i, before, after in changes]
    if rows:
        session.execute(insert(AuditEntry), rows)
    return len(rows)


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
