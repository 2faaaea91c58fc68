"""Corrections of submitted inspections: who may correct, what waits for a second officer,
and the approval or rejection that ends the wait.

Inspections are immutable; a mistake is put right by a correction, a new inspection naming
the one it corrects. Its author is the corrected inspection's own inspector, an officer of
the shelter's district, or the city office.

A correction that removes or lowers a finding in force (one of the corrected inspection's
findings not closed yet; see :func:`inspection.grading.weakenings`) would close findings
without the evidence and second person that closing a finding needs (docs/domain.md,
section 7). It therefore needs a reason and is held ``pending``: its findings are kept only
as proposed, nothing is superseded, no follow-up starts and the shelter's class stays. An
officer of the district or the city office, other than its author, approves it (it then
takes effect as a submission would, :func:`inspection.effect.take_effect`) or rejects it
with a note (it never takes effect). A correction that restates, adds or raises only takes
effect at once (``applied``).

One correction of an inspection at a time: while one is pending no other is accepted, and
once one has taken effect the chain continues from it (correct the correction). Every step
is in the audit log with who and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspection import audit, notify
from inspection.access import Actor, shelter_scope
from inspection.catalogue import load_catalogue
from inspection.effect import FindingSpec, in_force, take_effect
from inspection.errors import Conflict, Forbidden, InvalidInput, NotFound
from inspection.grading import FollowupPolicy, Severity, Weakening, weakenings
from inspection.models import (
    Correction,
    CorrectionStatus,
    Inspection,
    Role,
    Shelter,
    User,
)
from inspection.schemas import CorrectionRead, ProposedFindingRead, WeakeningRead
from inspection.users import names_by_id

DECIDER_ROLES = (Role.ADMIN, Role.DISTRICT_OFFICER)
_IN_EFFECT = (CorrectionStatus.APPLIED.value, CorrectionStatus.APPROVED.value)


@dataclass(frozen=True, slots=True)
class Review:
    """A correction checked against the inspection it corrects."""

    corrected: Inspection
    changes: list[Weakening]

    @property
    def needs_approval(self) -> bool:
        return bool(self.changes)


def may_author(actor: Actor, corrected: Inspection, shelter: Shelter) -> bool:
    """The corrected inspection's inspector, an officer of the shelter's district, or the
    city office."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.DISTRICT_OFFICER:
        return actor.district is not None and actor.district == shelter.district
    return actor.role == Role.INSPECTOR and actor.id == corrected.inspector_id


def _change_details(changes: list[Weakening]) -> list[dict[str, object]]:
    return [
        {
            "finding_id": c.finding_id,
            "item": c.item,
            "before": c.before.label,
            "after": c.after.label if c.after is not None else None,
        }
        for c in changes
    ]


def review(
    session: Session,
    corrects_id: int,
    shelter: Shelter,
    specs: list[FindingSpec],
    reason: str,
    *,
    actor: Actor,
) -> Review:
    """Check that ``actor`` may correct inspection ``corrects_id`` of ``shelter`` now, and
    what the correction takes away; one that takes something away needs a ``reason``."""
    corrected = session.get(Inspection, corrects_id)
    if corrected is None or corrected.shelter_id != shelter.id:
        raise InvalidInput(
            f"inspection {corrects_id} is not of this shelter", code="bad_correction"
        )
    if not may_author(actor, corrected, shelter):
        raise Forbidden(
            "only the inspection's own inspector or an officer of the district corrects it",
            code="not_your_inspection",
        )
    own = session.get(Correction, corrected.id)
    if own is not None and own.status not in _IN_EFFECT:
        raise Conflict(
            f"inspection {corrected.id} is a correction that is {own.status}, not in effect",
            code="correction_not_in_effect",
        )
    later = session.scalars(
        select(Correction.status).where(
            Correction.corrects_id == corrected.id,
            Correction.status != CorrectionStatus.REJECTED.value,
        )
    ).all()
    if CorrectionStatus.PENDING.value in later:
        raise Conflict(
            f"a correction of inspection {corrected.id} waits for approval",
            code="correction_pending",
        )
    if later:
        raise Conflict(
            f"inspection {corrected.id} was corrected already: correct its correction",
            code="already_corrected",
        )
    changes = weakenings(
        ((f.id, f.item_code, Severity(f.severity)) for f in in_force(session, corrected.id)),
        ((s.item_code, s.severity) for s in specs if s.open),
    )
    if changes and not reason.strip():
        raise InvalidInput(
            "this correction removes or lowers findings in force: give the reason "
            "(correction_reason); an officer of the district then approves it",
            code="reason_required",
            details=_change_details(changes),
        )
    return Review(corrected, changes)


def record(
    session: Session,
    inspection: Inspection,
    shelter: Shelter,
    checked: Review,
    specs: list[FindingSpec],
    *,
    reason: str,
    tracker: User | None,
    actor: Actor,
    now: datetime,
) -> Correction:
    """Keep the review state of a stored correcting inspection: ``pending`` when it needs
    approval (the district's officers are told), else ``applied``. The caller puts an
    applied correction into effect."""
    status = CorrectionStatus.PENDING if checked.needs_approval else CorrectionStatus.APPLIED
    row = Correction(
        inspection_id=inspection.id,
        corrects_id=checked.corrected.id,
        status=status.value,
        reason=reason,
        changes=_change_details(checked.changes),
        proposed=[s.to_json() for s in specs],
        tracker_id=tracker.id if tracker else None,
        created_at=now,
        decision_note="",
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # another pending correction of it won the race
        raise Conflict(
            f"a correction of inspection {checked.corrected.id} waits for approval",
            code="correction_pending",
        ) from exc
    audit.record(
        session,
        actor,
        f"correction.{status.value}",
        "inspection",
        inspection.id,
        at=now,
        after={
            "corrects": checked.corrected.id,
            "status": status.value,
            "reason": reason,
            "changes": row.changes,
        },
    )
    if status == CorrectionStatus.PENDING:
        officers = [
            u for u in notify.district_officers(session, shelter.district) if u.id != actor.id
        ]
        notify.queue(
            session,
            dedupe_key=f"correction:{inspection.id}:pending",
            kind="correction_pending",
            recipients=officers or notify.city_office(session),
            shelter=shelter,
            subject=f"更正待审批：{shelter.name}",
            body=f"{shelter.name}（{shelter.code}）检查记录 {checked.corrected.id} 的更正"
            f"（{inspection.id}）删除或降低了问题，理由：{reason}。请审批。",
            now=now,
            payload={"inspection": inspection.id, "shelter": shelter.code},
        )
    return row


def _in_scope(
    session: Session, inspection_id: int, actor: Actor
) -> tuple[Inspection, Shelter, Correction | None]:
    row = session.execute(
        select(Inspection, Shelter, Correction)
        .join(Shelter, Inspection.shelter_id == Shelter.id)
        .outerjoin(Correction, Correction.inspection_id == Inspection.id)
        .where(Inspection.id == inspection_id, shelter_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no inspection {inspection_id}", code="inspection_not_found")
    return row[0], row[1], row[2]


def _decidable(
    session: Session, inspection_id: int, actor: Actor
) -> tuple[Inspection, Shelter, Correction]:
    inspection, shelter, row = _in_scope(session, inspection_id, actor)
    if actor.role not in DECIDER_ROLES:
        raise Forbidden("only an officer decides on a correction", code="role_forbidden")
    if row is None:
        raise Conflict(f"inspection {inspection_id} is not a correction", code="not_a_correction")
    if row.status != CorrectionStatus.PENDING:
        raise Conflict(f"correction {inspection_id} is {row.status}", code="bad_state")
    if inspection.inspector_id == actor.id:
        raise Forbidden(
            "a correction is approved or rejected by someone other than its author",
            code="same_person",
        )
    return inspection, shelter, row


def _decide(
    session: Session,
    row: Correction,
    status: CorrectionStatus,
    note: str,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """Move a pending correction to ``status``; two officers deciding at once: one wins, the
    other finds it decided (:class:`Conflict` ``bad_state``)."""
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(Correction)
            .where(
                Correction.inspection_id == row.inspection_id,
                Correction.status == CorrectionStatus.PENDING.value,
            )
            .values(status=status.value, decided_by=actor.id, decided_at=now, decision_note=note)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1:
        raise Conflict(f"correction {row.inspection_id} is decided already", code="bad_state")
    session.refresh(row)


def _tell_author(
    session: Session, inspection: Inspection, shelter: Shelter, row: Correction, now: datetime
) -> None:
    verdict = "已批准" if row.status == CorrectionStatus.APPROVED else "未获批准"
    notify.queue(
        session,
        dedupe_key=f"correction:{inspection.id}:decided",
        kind="correction_decided",
        recipients=[session.get(User, inspection.inspector_id)],
        shelter=shelter,
        subject=f"更正{verdict}：{shelter.name}",
        body=f"{shelter.name}（{shelter.code}）检查记录更正（{inspection.id}）{verdict}。"
        + (f"说明：{row.decision_note}" if row.decision_note else ""),
        now=now,
        payload={"inspection": inspection.id, "status": row.status},
    )


def approve(
    session: Session,
    inspection_id: int,
    note: str,
    *,
    actor: Actor,
    now: datetime,
    policy: FollowupPolicy,
    tz: str,
) -> Inspection:
    """Approve a pending correction: it takes effect now (its findings recorded, the
    corrected inspection's findings in force superseded, follow-up started, class
    recomputed with the reason ``correction``)."""
    inspection, shelter, row = _decidable(session, inspection_id, actor)
    _decide(session, row, CorrectionStatus.APPROVED, note, actor=actor, now=now)
    audit.record(
        session,
        actor,
        "correction.approved",
        "inspection",
        inspection.id,
        at=now,
        before={"status": CorrectionStatus.PENDING.value},
        after={"status": row.status, "decision_note": note, "corrects": row.corrects_id},
    )
    corrected = session.get(Inspection, row.corrects_id)
    tracker = session.get(User, row.tracker_id or inspection.inspector_id)
    take_effect(
        session,
        inspection,
        shelter,
        [FindingSpec.from_json(item) for item in row.proposed],
        corrected=corrected,
        tracker=tracker,
        actor=actor,
        now=now,
        policy=policy,
        tz=tz,
        reason="correction",
    )
    _tell_author(session, inspection, shelter, row, now)
    return inspection


def reject(
    session: Session, inspection_id: int, note: str, *, actor: Actor, now: datetime
) -> Inspection:
    """Reject a pending correction with a note: it never takes effect; the corrected
    inspection stays in force and may be corrected again."""
    inspection, shelter, row = _decidable(session, inspection_id, actor)
    if not note.strip():
        raise InvalidInput("say why the correction is rejected (note)", code="note_required")
    _decide(session, row, CorrectionStatus.REJECTED, note, actor=actor, now=now)
    audit.record(
        session,
        actor,
        "correction.rejected",
        "inspection",
        inspection.id,
        at=now,
        before={"status": CorrectionStatus.PENDING.value},
        after={"status": row.status, "decision_note": note, "corrects": row.corrects_id},
    )
    _tell_author(session, inspection, shelter, row, now)
    return inspection


def list_corrections(
    session: Session,
    status: CorrectionStatus | None,
    *,
    actor: Actor,
    limit: int,
    offset: int,
) -> tuple[list[CorrectionRead], int]:
    """Corrections of shelters ``actor`` may see, oldest first (the order to decide them)."""
    query = (
        select(Correction, Inspection, Shelter)
        .join(Inspection, Correction.inspection_id == Inspection.id)
        .join(Shelter, Inspection.shelter_id == Shelter.id)
        .where(shelter_scope(actor))
    )
    if status is not None:
        query = query.where(Correction.status == status.value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Correction.created_at, Correction.inspection_id).limit(limit).offset(offset)
    ).all()
    return reads(session, [(c, i, s) for c, i, s in rows]), total


def read_of(session: Session, inspection: Inspection, shelter: Shelter) -> CorrectionRead | None:
    """The review state of ``inspection`` if it corrects another."""
    row = session.get(Correction, inspection.id)
    return reads(session, [(row, inspection, shelter)])[0] if row is not None else None


def reads(
    session: Session, rows: list[tuple[Correction, Inspection, Shelter]]
) -> list[CorrectionRead]:
    """Read views with the names of authors and deciders, in one query for the names."""
    ids = {i.inspector_id for _, i, _ in rows} | {c.decided_by for c, _, _ in rows if c.decided_by}
    names = names_by_id(session, ids)
    out = []
    for row, inspection, shelter in rows:
        catalogue = load_catalogue(inspection.catalogue_version)
        proposed = [FindingSpec.from_json(item) for item in row.proposed]
        out.append(
            CorrectionRead(
                inspection_id=inspection.id,
                corrects=row.corrects_id,
                shelter_code=shelter.code,
                shelter_name=shelter.name,
                district=shelter.district,
                author=author.username if (author := names.get(inspection.inspector_id)) else "",
                author_name=author.name if author else "",
                submitted_at=inspection.submitted_at,
                graded_class=inspection.graded_class,
                status=CorrectionStatus(row.status),
                reason=row.reason,
                changes=[
                    WeakeningRead.model_validate({**c, "title": catalogue.title(c["item"])})
                    for c in row.changes
                ],
                proposed_findings=[
                    ProposedFindingRead(
                        item=spec.item_code,
                        title=catalogue.title(spec.item_code),
                        severity=spec.severity.label,
                        illegal_act=spec.illegal_act,
                        note=spec.note,
                        fixed_on_spot=not spec.open,
                    )
                    for spec in proposed
                ],
                decided_by=decider.username
                if (decider := names.get(row.decided_by or 0))
                else None,
                decided_by_name=decider.name if decider else None,
                decided_at=row.decided_at,
                decision_note=row.decision_note,
            )
        )
    return out
