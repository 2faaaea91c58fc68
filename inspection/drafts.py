"""Draft findings proposed by monitoring (e.g. a sustained humidity breach) for a shelter's
next inspection. A draft does not count toward the shelter's class until an inspector
confirms it in an inspection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import SYSTEM
from inspection.catalogue import load_catalogue
from inspection.models import Finding, FindingStatus, Shelter


def propose(
    session: Session, shelter: Shelter, item_code: str, note: str, *, now: datetime
) -> Finding | None:
    """Add a draft finding unless the shelter already has this item open or drafted."""
    item = load_catalogue().get(item_code)
    if item is None:
        raise ValueError(f"unknown catalogue item {item_code!r}")
    existing = session.scalar(
        select(Finding.id).where(
            Finding.shelter_id == shelter.id,
            Finding.item_code == item_code,
            Finding.status != FindingStatus.CLOSED.value,
        )
    )
    if existing is not None:
        return None
    finding = Finding(
        inspection_id=None,
        shelter_id=shelter.id,
        item_code=item_code,
        severity=int(item.default_severity),
        illegal_act=item.illegal_act,
        note=note,
        fixed_on_spot=False,
        status=FindingStatus.OPEN.value,
        draft=True,
        created_at=now,
    )
    session.add(finding)
    session.flush()
    audit.record(
        session,
        SYSTEM,
        "finding.draft",
        "finding",
        finding.id,
        at=now,
        after=audit.snapshot(finding),
    )
    return finding
