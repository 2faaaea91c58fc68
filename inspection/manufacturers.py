"""The office's directory of protective-equipment manufacturers (防护设备厂家), and the help a
class 3 ledger entry gets in reaching one (协助联系防护设备厂家): the entry names the
manufacturer for its equipment, and each contact made with it is recorded (who, when, what
came of it), appended and never changed.

Only the city office adds to the directory and changes its entries; everyone who works on
shelters reads it. Naming a manufacturer and recording contacts is for ledger entries only
(``422 not_a_ledger``); a contact needs a manufacturer named first (``422 no_manufacturer``).
Each write is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import Actor
from inspection.errors import Conflict, InvalidInput, NotFound
from inspection.models import Followup, FollowupKind, Manufacturer, ManufacturerContact
from inspection.schemas import (
    ManufacturerContactCreate,
    ManufacturerContactRead,
    ManufacturerCreate,
    ManufacturerRead,
    ManufacturerUpdate,
)
from inspection.users import names_by_id


def create_manufacturer(
    session: Session, data: ManufacturerCreate, *, actor: Actor, now: datetime
) -> Manufacturer:
    """Add a manufacturer to the directory (``409 manufacturer_exists`` for a name taken)."""
    if session.scalar(select(Manufacturer.id).where(Manufacturer.name == data.name)):
        raise Conflict(f"manufacturer {data.name!r} exists", code="manufacturer_exists")
    row = Manufacturer(**data.model_dump(), created_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "manufacturer.create", "manufacturer", row.id, at=now,
        after=audit.snapshot(row),
    )  # fmt: skip
    return row


def update_manufacturer(
    session: Session,
    manufacturer_id: int,
    data: ManufacturerUpdate,
    *,
    actor: Actor,
    now: datetime,
) -> Manufacturer:
    """Change the fields ``data`` sets (``404 manufacturer_not_found``; ``409
    manufacturer_exists`` for a name another entry has; ``422 null_field``)."""
    row = session.get(Manufacturer, manufacturer_id)
    if row is None:
        raise NotFound(f"no manufacturer {manufacturer_id}", code="manufacturer_not_found")
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise InvalidInput(f"{key} cannot be null", code="null_field")
    name = changes.get("name")
    if name is not None and name != row.name:
        taken = session.scalar(select(Manufacturer.id).where(Manufacturer.name == name))
        if taken is not None:
            raise Conflict(f"manufacturer {name!r} exists", code="manufacturer_exists")
    before = audit.snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    audit.record(
        session, actor, "manufacturer.update", "manufacturer", row.id, at=now,
        before=before, after=audit.snapshot(row),
    )  # fmt: skip
    return row


def list_manufacturers(
    session: Session, *, q: str | None, region: str | None, limit: int, offset: int
) -> tuple[list[Manufacturer], int]:
    """The directory by name; ``q`` matches name or products as literal text."""
    query = select(Manufacturer)
    if q:
        query = query.where(
            Manufacturer.name.contains(q, autoescape=True)
            | Manufacturer.products.contains(q, autoescape=True)
        )
    if region:
        query = query.where(Manufacturer.region == region)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Manufacturer.name).limit(limit).offset(offset)).all()
    return list(rows), total


def _ledger(followup: Followup) -> None:
    if followup.kind != FollowupKind.LEDGER:
        raise InvalidInput(f"{followup.number} is not a problem ledger entry", code="not_a_ledger")


def name_manufacturer(
    session: Session,
    followup: Followup,
    manufacturer_id: int | None,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Name the manufacturer of a ledger entry's equipment (None: none)."""
    _ledger(followup)
    if manufacturer_id is not None and session.get(Manufacturer, manufacturer_id) is None:
        raise NotFound(f"no manufacturer {manufacturer_id}", code="manufacturer_not_found")
    before = {"manufacturer_id": followup.manufacturer_id}
    followup.manufacturer_id = manufacturer_id
    session.flush()
    audit.record(
        session, actor, "followup.manufacturer", "followup", followup.number, at=now,
        before=before, after={"manufacturer_id": manufacturer_id},
    )  # fmt: skip


def record_contact(
    session: Session,
    followup: Followup,
    data: ManufacturerContactCreate,
    *,
    actor: Actor,
    now: datetime,
) -> ManufacturerContact:
    """Record a contact made with the ledger entry's manufacturer."""
    _ledger(followup)
    if followup.manufacturer_id is None:
        raise InvalidInput(f"{followup.number} names no manufacturer yet", code="no_manufacturer")
    row = ManufacturerContact(
        followup_id=followup.id,
        manufacturer_id=followup.manufacturer_id,
        contacted_at=data.contacted_at,
        outcome=data.outcome,
        recorded_by=actor.id or None,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, actor, "followup.manufacturer_contact", "followup", followup.number, at=now,
        after=audit.snapshot(row),
    )  # fmt: skip
    return row


def for_followups(
    session: Session, followups: Sequence[Followup]
) -> tuple[dict[int, ManufacturerRead], dict[int, list[ManufacturerContactRead]]]:
    """Per follow-up id: its manufacturer and its contacts (oldest first), in three queries."""
    ids = [f.id for f in followups if f.kind == FollowupKind.LEDGER]
    if not ids:
        return {}, {}
    contacts = session.scalars(
        select(ManufacturerContact)
        .where(ManufacturerContact.followup_id.in_(ids))
        .order_by(ManufacturerContact.contacted_at, ManufacturerContact.id)
    ).all()
    wanted = {f.manufacturer_id for f in followups if f.manufacturer_id}
    wanted |= {c.manufacturer_id for c in contacts}
    makers = {
        m.id: m
        for m in (
            session.scalars(select(Manufacturer).where(Manufacturer.id.in_(wanted)))
            if wanted
            else []
        )
    }
    names = names_by_id(session, (c.recorded_by for c in contacts))
    named = {
        f.id: ManufacturerRead.model_validate(makers[f.manufacturer_id])
        for f in followups
        if f.manufacturer_id in makers
    }
    made: dict[int, list[ManufacturerContactRead]] = {}
    for c in contacts:
        who = names.get(c.recorded_by or 0)
        made.setdefault(c.followup_id, []).append(
            ManufacturerContactRead(
                id=c.id,
                manufacturer=makers[c.manufacturer_id].name,
                contacted_at=c.contacted_at,
                outcome=c.outcome,
                recorded_by=who.username if who else None,
                recorded_by_name=who.name if who else None,
                recorded_at=c.recorded_at,
            )
        )
    return named, made
