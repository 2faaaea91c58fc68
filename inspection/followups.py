"""Follow-up of graded inspections: notices, ledger entries, key supervision, referrals;
closing findings (fix reported → verified by someone else); a shelter's current class.

A shelter's current class is 1 + the highest severity among its open findings, never below
the class an overdue escalation raised it to; it is recomputed on every change and each
change is kept in ``class_history`` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from inspection import attachments, audit, manufacturers, notify, numbering
from inspection.access import Actor, shelter_scope
from inspection.catalogue import load_catalogue
from inspection.errors import NotFound
from inspection.grading import (
    Deadlines,
    FollowupPolicy,
    GradedFinding,
    Severity,
    class_for,
    deadlines_for,
)
from inspection.local_time import cn_date
from inspection.models import (
    ClassChange,
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupKind,
    FollowupStatus,
    Inspection,
    Milestone,
    MilestoneRecord,
    OutcomeRecord,
    PartyType,
    Shelter,
    User,
)
from inspection.schemas import AttachmentRead, FollowupRead, MilestoneRead, OutcomeRecordRead
from inspection.users import Named, names_by_id

_KIND_FOR_CLASS = {2: FollowupKind.NOTICE, 3: FollowupKind.LEDGER, 4: FollowupKind.KEY_SUPERVISION}
_LIVE = (FollowupStatus.OPEN.value, FollowupStatus.ESCALATED.value)


def new_followup(
    session: Session,
    *,
    kind: FollowupKind,
    shelter: Shelter,
    class_level: int,
    issued_at: datetime,
    deadlines: Deadlines,
    findings: list[Finding],
    inspection_id: int | None,
    parent_id: int | None = None,
    finding_id: int | None = None,
    tracker_id: int | None = None,
    tz: str,
) -> Followup:
    """Insert a follow-up numbered in its kind's sequence of the year of issue in ``tz``
    (e.g. ZG2026-0012; see :mod:`inspection.numbering`)."""
    followup = Followup(
        number=numbering.next_number(session, kind, issued_at, tz=tz),
        kind=kind.value,
        shelter_id=shelter.id,
        inspection_id=inspection_id,
        parent_id=parent_id,
        finding_id=finding_id,
        class_level=class_level,
        status=FollowupStatus.OPEN.value,
        issued_at=issued_at,
        due_at=deadlines.due_at,
        checkpoint_at=deadlines.checkpoint_at,
        containment_due_at=deadlines.containment_due_at,
        plan_due_at=deadlines.plan_due_at,
        tracker_id=tracker_id,
    )
    session.add(followup)
    session.flush()
    session.add_all(FollowupFinding(followup_id=followup.id, finding_id=f.id) for f in findings)
    session.flush()
    return followup


def create_for_inspection(
    session: Session,
    inspection: Inspection,
    shelter: Shelter,
    findings: list[Finding],
    *,
    policy: FollowupPolicy,
    tracker: User | None,
    manager: User | None,
    actor: Actor,
    now: datetime,
    tz: str,
) -> list[Followup]:
    """The follow-up the class of the inspection's own open ``findings`` prescribes (its graded
    class, unless a re-inspection also found earlier findings still open: those stay with
    their own follow-up), plus a referral draft per illegal act.

    The notice is served on the spot: each follow-up is issued at the inspection's
    ``inspected_at`` and its deadlines count from then, however late the record reaches
    the server (``now``, when messages are queued and the audit entry is written)."""
    created: list[Followup] = []
    open_findings = [f for f in findings if f.status != FindingStatus.CLOSED]
    level = class_for(GradedFinding(Severity(f.severity), True) for f in open_findings)
    issued_at = inspection.inspected_at
    if level >= 2:
        followup = new_followup(
            session,
            kind=_KIND_FOR_CLASS[level],
            shelter=shelter,
            class_level=level,
            issued_at=issued_at,
            deadlines=deadlines_for(level, issued_at, policy),
            findings=open_findings,
            inspection_id=inspection.id,
            tracker_id=(tracker.id if tracker else actor.id) if level == 3 else None,
            tz=tz,
        )
        created.append(followup)
        announce(session, followup, shelter, manager=manager, tracker=tracker, now=now, tz=tz)
    for finding in findings:
        if finding.illegal_act:
            referral = new_followup(
                session,
                kind=FollowupKind.REFERRAL,
                shelter=shelter,
                class_level=4,
                issued_at=issued_at,
                deadlines=Deadlines(due_at=issued_at + _referral_window(policy)),
                findings=[finding],
                inspection_id=inspection.id,
                finding_id=finding.id,
                tz=tz,
            )
            created.append(referral)
            notify.queue(
                session,
                dedupe_key=f"followup:{referral.id}:drafted",
                kind="referral_drafted",
                recipients=notify.city_office(session),
                shelter=shelter,
                subject=f"执法移交草稿 {referral.number}：{shelter.name}",
                body=f"{shelter.name}（{shelter.code}）检查发现涉嫌违法行为（"
                f"{load_catalogue().title(finding.item_code)}），"
                f"已生成移交执法部门草稿 {referral.number}。",
                now=now,
                payload={"followup": referral.number, "shelter": shelter.code},
            )
    for followup in created:
        audit.record(
            session,
            actor,
            "followup.create",
            "followup",
            followup.number,
            at=now,
            after=audit.snapshot(followup),
        )
    return created


def _referral_window(policy: FollowupPolicy) -> timedelta:
    """A referral is handed to law enforcement within the containment window."""
    return timedelta(hours=policy.class4.containment_hours)


def announce(
    session: Session,
    followup: Followup,
    shelter: Shelter,
    *,
    manager: User | None,
    tracker: User | None,
    now: datetime,
    tz: str,
) -> None:
    """Queue the message that goes out when a follow-up is issued (the deadline as the city
    writes its dates, in its zone ``tz``)."""
    due = cn_date(followup.due_at, ZoneInfo(tz))
    if followup.kind == FollowupKind.NOTICE:
        recipients: list[User | None] = [manager]
        subject = f"整改通知书 {followup.number}：{shelter.name}"
        body = f"{shelter.name}（{shelter.code}）检查评为二类，请于 {due} 前完成整改。"
    elif followup.kind == FollowupKind.LEDGER:
        recipients = [manager, tracker]
        subject = f"问题台账 {followup.number}：{shelter.name}"
        body = f"{shelter.name}（{shelter.code}）评为三类，已列入问题台账，整改期限 {due}。"
    else:
        recipients = [
            manager,
            *notify.district_officers(session, shelter.district),
            *notify.city_office(session),
        ]
        subject = f"重点督导 {followup.number}：{shelter.name}"
        body = (
            f"{shelter.name}（{shelter.code}）评为四类，列为重点督导，"
            f"72小时内控制险情，整改完成期限 {due}。"
        )
    notify.queue(
        session,
        dedupe_key=f"followup:{followup.id}:issued",
        kind=f"{followup.kind}_issued",
        recipients=recipients,
        shelter=shelter,
        subject=subject,
        body=body,
        now=now,
        payload={"followup": followup.number, "shelter": shelter.code, "due_at": due},
    )


def recompute_class(
    session: Session,
    shelter: Shelter,
    *,
    reason: str,
    ref: str,
    actor: Actor,
    now: datetime,
) -> int | None:
    """Set the shelter's current class from its open findings and escalations."""
    session.flush()
    inspected = session.scalar(select(exists().where(Inspection.shelter_id == shelter.id)))
    new: int | None = None
    if inspected:
        highest = session.scalar(
            select(func.max(Finding.severity)).where(
                Finding.shelter_id == shelter.id,
                Finding.status != FindingStatus.CLOSED.value,
                Finding.draft.is_(False),
            )
        )
        floor = session.scalar(
            select(func.max(Followup.escalated_class)).where(
                Followup.shelter_id == shelter.id,
                Followup.status == FollowupStatus.ESCALATED.value,
            )
        )
        new = max(1 + (highest or 0), floor or 1)
    old = shelter.current_class
    if new != old:
        shelter.current_class = new
        shelter.class_changed_at = now
        session.add(
            ClassChange(
                shelter_id=shelter.id,
                from_class=old,
                to_class=new,
                reason=reason,
                ref=ref,
                actor_id=actor.id or None,
                at=now,
            )
        )
        audit.record(
            session,
            actor,
            f"shelter.class.{reason}",
            "shelter",
            shelter.code,
            at=now,
            before={"current_class": old},
            after={"current_class": new, "ref": ref},
        )
        session.flush()
    return new


def close_settled(session: Session, shelter: Shelter, *, actor: Actor, now: datetime) -> int:
    """Close every live follow-up of the shelter whose findings are all closed."""
    unsettled = exists().where(
        FollowupFinding.followup_id == Followup.id,
        FollowupFinding.finding_id == Finding.id,
        Finding.status != FindingStatus.CLOSED.value,
    )
    settled = session.scalars(
        select(Followup).where(
            Followup.shelter_id == shelter.id,
            Followup.status.in_(_LIVE),
            Followup.kind != FollowupKind.REFERRAL.value,
            ~unsettled,
        )
    ).all()
    for followup in settled:
        followup.status = FollowupStatus.CLOSED.value
        followup.closed_at = now
        audit.record(
            session,
            actor,
            "followup.closed",
            "followup",
            followup.number,
            at=now,
            after={"status": followup.status},
        )
    session.flush()
    return len(settled)


@dataclass(frozen=True, slots=True)
class FollowupFilter:
    status: FollowupStatus | None = None
    class_level: int | None = None
    district: str | None = None
    overdue: bool | None = None
    kind: FollowupKind | None = None
    shelter: str | None = None


def _filtered(flt: FollowupFilter, actor: Actor, now: datetime) -> Select[Followup, Shelter]:
    query = (
        select(Followup, Shelter)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(shelter_scope(actor))
    )
    if flt.status is not None:
        query = query.where(Followup.status == flt.status.value)
    if flt.class_level is not None:
        query = query.where(Followup.class_level == flt.class_level)
    if flt.district is not None:
        query = query.where(Shelter.district == flt.district)
    if flt.kind is not None:
        query = query.where(Followup.kind == flt.kind.value)
    if flt.shelter is not None:
        query = query.where(Shelter.code == flt.shelter)
    if flt.overdue is not None:
        overdue = and_(Followup.status == FollowupStatus.OPEN.value, Followup.due_at < now)
        query = query.where(overdue if flt.overdue else ~overdue)
    return query


def list_followups(
    session: Session, flt: FollowupFilter, *, actor: Actor, now: datetime, limit: int, offset: int
) -> tuple[list[FollowupRead], int]:
    query = _filtered(flt, actor, now)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Followup.due_at, Followup.id).limit(limit).offset(offset)
    ).all()
    return reads(session, [(f, s) for f, s in rows], now=now), total


def reads(
    session: Session, rows: list[tuple[Followup, Shelter]], *, now: datetime
) -> list[FollowupRead]:
    """Read views of follow-ups with their finding ids, tracker names, class 4 milestones
    and referral outcome histories, in a fixed number of queries."""
    ids = [f.id for f, _ in rows]
    links: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for fid, finding_id in session.execute(
            select(FollowupFinding.followup_id, FollowupFinding.finding_id)
            .where(FollowupFinding.followup_id.in_(ids))
            .order_by(FollowupFinding.finding_id)
        ):
            links[fid].append(finding_id)
    key_ids = [f.id for f, _ in rows if f.kind == FollowupKind.KEY_SUPERVISION]
    referral_ids = [f.id for f, _ in rows if f.kind == FollowupKind.REFERRAL]
    done: dict[tuple[int, str], MilestoneRecord] = {}
    if key_ids:
        for m in session.scalars(
            select(MilestoneRecord).where(MilestoneRecord.followup_id.in_(key_ids))
        ):
            done[(m.followup_id, m.milestone)] = m
    history: dict[int, list[OutcomeRecord]] = {i: [] for i in referral_ids}
    if referral_ids:
        for r in session.scalars(
            select(OutcomeRecord)
            .where(OutcomeRecord.followup_id.in_(referral_ids))
            .order_by(OutcomeRecord.id)
        ):
            history[r.followup_id].append(r)
    evidence = attachments.reads_by_followup(session, key_ids)
    makers, contacts = manufacturers.for_followups(session, [f for f, _ in rows])
    user_ids = {f.tracker_id for f, _ in rows if f.tracker_id}
    user_ids |= {m.recorded_by for m in done.values()}
    user_ids |= {r.recorded_by for rs in history.values() for r in rs if r.recorded_by}
    names = names_by_id(session, user_ids)
    return [
        FollowupRead(
            id=f.id,
            number=f.number,
            kind=FollowupKind(f.kind),
            shelter_code=s.code,
            shelter_name=s.name,
            district=s.district,
            class_level=f.class_level,
            status=FollowupStatus(f.status),
            issued_at=f.issued_at,
            due_at=f.due_at,
            checkpoint_at=f.checkpoint_at,
            containment_due_at=f.containment_due_at,
            plan_due_at=f.plan_due_at,
            tracker=_username(names, f.tracker_id),
            tracker_name=_name(names, f.tracker_id),
            escalated_class=f.escalated_class,
            closed_at=f.closed_at,
            overdue=f.status == FollowupStatus.OPEN and now > f.due_at,
            finding_ids=links[f.id],
            outcome=_in_force(f.outcome, history.get(f.id, []), names),
            milestones=_milestones(f, done, evidence, names, now)
            if f.kind == FollowupKind.KEY_SUPERVISION
            else [],
            manufacturer=makers.get(f.id),
            manufacturer_contacts=contacts.get(f.id, []),
            outcome_history=[
                OutcomeRecordRead(
                    id=r.id,
                    kind=r.kind,
                    status=r.status,
                    party_type=PartyType(r.party_type) if r.party_type else None,
                    fine_yuan=r.fine_yuan,
                    note=r.note,
                    reason=r.reason,
                    recorded_by=_username(names, r.recorded_by),
                    recorded_by_name=_name(names, r.recorded_by),
                    recorded_at=r.recorded_at,
                )
                for r in history.get(f.id, [])
            ],
        )
        for f, s in rows
    ]


def _in_force(
    outcome: dict[str, Any] | None, records: list[OutcomeRecord], names: dict[int, Named]
) -> dict[str, Any] | None:
    """A referral's outcome in force with who recorded it by name (``recorded_by_name``, from
    its latest record) beside their username (``recorded_by``)."""
    if outcome is None or not records:
        return outcome
    return {**outcome, "recorded_by_name": _name(names, records[-1].recorded_by)}


def _username(names: dict[int, Named], user_id: int | None) -> str | None:
    named = names.get(user_id) if user_id else None
    return named.username if named else None


def _name(names: dict[int, Named], user_id: int | None) -> str | None:
    named = names.get(user_id) if user_id else None
    return named.name if named else None


def _milestones(
    f: Followup,
    done: dict[tuple[int, str], MilestoneRecord],
    evidence: dict[tuple[int, str], list[AttachmentRead]],
    names: dict[int, Named],
    now: datetime,
) -> list[MilestoneRead]:
    """Containment and plan (done once recorded), then completion (done when closed)."""
    is_open = f.status == FollowupStatus.OPEN
    out: list[MilestoneRead] = []
    for milestone, due in (
        (Milestone.CONTAINMENT, f.containment_due_at),
        (Milestone.PLAN, f.plan_due_at),
    ):
        if due is None:
            continue
        record = done.get((f.id, milestone.value))
        out.append(
            MilestoneRead(
                milestone=milestone.value,
                due_at=due,
                done_at=record.done_at if record else None,
                overdue=record is None and is_open and now > due,
                note=record.note if record else "",
                recorded_by=_username(names, record.recorded_by) if record else None,
                recorded_by_name=_name(names, record.recorded_by) if record else None,
                recorded_at=record.recorded_at if record else None,
                evidence=evidence.get((f.id, milestone.value), []),
            )
        )
    closed = f.status == FollowupStatus.CLOSED
    out.append(
        MilestoneRead(
            milestone="completion",
            due_at=f.due_at,
            done_at=f.closed_at if closed else None,
            overdue=is_open and now > f.due_at,
        )
    )
    return out


def get_followup(session: Session, followup_id: int, *, actor: Actor) -> tuple[Followup, Shelter]:
    row = session.execute(
        select(Followup, Shelter)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(Followup.id == followup_id, shelter_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    return row[0], row[1]
