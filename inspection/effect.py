"""What a graded inspection sets in motion when it takes effect.

Its findings become records (open, or closed when an S1 was fixed on the spot); a correction
supersedes the findings still in force of the inspection it corrects, while an ordinary
inspection settles the draft findings monitoring proposed; then the follow-up its class
prescribes starts and the shelter's class is recomputed.

An ordinary inspection, and a correction that takes nothing away, take effect on submission
(:mod:`inspection.inspections`); a correction that removes or lowers findings takes effect
when an officer approves it (:mod:`inspection.corrections`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, drafts, followups
from inspection.access import Actor
from inspection.grading import FollowupPolicy, Severity
from inspection.models import Finding, FindingStatus, Inspection, Shelter, User


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """A validated finding of a submission, before it is a record: the catalogue item, its
    effective severity, the item's illegal-act flag, the note, and whether it is left open
    at grading (an S1 fixed on the spot is not)."""

    item_code: str
    severity: Severity
    illegal_act: bool
    note: str
    open: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item_code,
            "severity": int(self.severity),
            "illegal_act": self.illegal_act,
            "note": self.note,
            "open": self.open,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FindingSpec:
        return cls(
            item_code=str(data["item"]),
            severity=Severity(int(data["severity"])),
            illegal_act=bool(data["illegal_act"]),
            note=str(data["note"]),
            open=bool(data["open"]),
        )


def take_effect(
    session: Session,
    inspection: Inspection,
    shelter: Shelter,
    specs: Sequence[FindingSpec],
    *,
    corrected: Inspection | None,
    tracker: User | None,
    actor: Actor,
    now: datetime,
    policy: FollowupPolicy,
    tz: str,
    reason: str = "inspection",
    confirmed: set[str] | None = None,
) -> list[Finding]:
    """Record the findings of ``inspection`` (returned in the order of ``specs``), supersede
    ``corrected`` (or settle the drafts: those of its items and of the ``confirmed`` items a
    re-inspection found still there are confirmed), start the follow-up of its own open
    findings (dated at the visit, numbered in the visit's year in ``tz``) and recompute the
    class; ``reason`` goes into the class history."""
    findings = [
        Finding(
            inspection_id=inspection.id,
            shelter_id=shelter.id,
            item_code=spec.item_code,
            severity=int(spec.severity),
            illegal_act=spec.illegal_act,
            note=spec.note,
            fixed_on_spot=not spec.open,
            status=FindingStatus.OPEN.value if spec.open else FindingStatus.CLOSED.value,
            draft=False,
            created_at=now,
            closed_at=None if spec.open else now,
        )
        for spec in specs
    ]
    session.add_all(findings)
    session.flush()
    if corrected is not None:
        _supersede(session, corrected, inspection, shelter, actor=actor, now=now)
    else:  # a correction restates a visit; the drafts were the visit's to settle
        drafts.settle(
            session,
            shelter,
            inspection.id,
            {f.item_code for f in findings} | (confirmed or set()),
            inspected_at=inspection.inspected_at,
            actor=actor,
            now=now,
        )
    manager = session.get(User, shelter.manager_id) if shelter.manager_id else None
    followups.create_for_inspection(
        session,
        inspection,
        shelter,
        findings,
        policy=policy,
        tracker=tracker,
        manager=manager,
        actor=actor,
        now=now,
        tz=tz,
    )
    followups.recompute_class(
        session, shelter, reason=reason, ref=f"inspection:{inspection.id}", actor=actor, now=now
    )
    return findings


def in_force(session: Session, inspection_id: int) -> list[Finding]:
    """The findings of an inspection not closed yet (open, or with a fix reported)."""
    return list(
        session.scalars(
            select(Finding)
            .where(
                Finding.inspection_id == inspection_id,
                Finding.status != FindingStatus.CLOSED.value,
            )
            .order_by(Finding.id)
        )
    )


def _supersede(
    session: Session,
    old: Inspection,
    new: Inspection,
    shelter: Shelter,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    for finding in in_force(session, old.id):
        finding.status = FindingStatus.CLOSED.value
        finding.closed_at = now
        finding.verify_note = f"superseded by corrected inspection {new.id}"
        audit.record(
            session,
            actor,
            "finding.superseded",
            "finding",
            finding.id,
            at=now,
            after={"status": finding.status, "by_inspection": new.id},
        )
    followups.close_settled(session, shelter, actor=actor, now=now)
