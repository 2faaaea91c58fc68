"""Draft findings proposed by monitoring (e.g. a sustained humidity breach) for a shelter's
next inspection. A draft does not count toward the shelter's class until an inspector
confirms it in an inspection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import SYSTEM, Actor
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


def pending(session: Session, shelter: Shelter) -> list[Finding]:
    """The shelter's drafts that no inspection has settled yet, oldest first."""
    return list(
        session.scalars(
            select(Finding)
            .where(
                Finding.shelter_id == shelter.id,
                Finding.draft.is_(True),
                Finding.status != FindingStatus.CLOSED.value,
            )
            .order_by(Finding.id)
        )
    )


def settle(
    session: Session,
    shelter: Shelter,
    inspection_id: int,
    recorded_items: set[str],
    *,
    inspected_at: datetime,
    actor: Actor,
    now: datetime,
) -> None:
    """An inspection settles the shelter's drafts proposed before the visit: each is closed,
    as confirmed when the inspection records its item (that finding is the one followed up)
    and as dismissed when the inspector did not find it. Drafts proposed after the visit
    (an inspection entered late) wait for the next one."""
    for draft in pending(session, shelter):
        if draft.created_at > inspected_at:
            continue
        before = audit.snapshot(draft)
        confirmed = draft.item_code in recorded_items
        draft.status = FindingStatus.CLOSED.value
        draft.closed_at = now
        outcome = "confirmed" if confirmed else "dismissed"
        draft.fix_note = f"{outcome} by inspection {inspection_id}"
        session.flush()
        audit.record(
            session,
            actor,
            f"finding.draft_{outcome}",
            "finding",
            draft.id,
            at=now,
            before=before,
            after=audit.snapshot(draft),
        )
