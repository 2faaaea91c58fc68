"""Recording the milestones of key supervision (重点督导, class 4) as done: containment of the
danger (控制险情) and the rectification plan handed in (报送整改方案). Completion is not
recorded here: it is the follow-up closing when its last finding's fix is verified
(:mod:`inspection.fixes`).

Who records: the shelter's 工程长 (role ``manager``, their own shelters), an officer of the
shelter's district or the city office, in one step. Accountability is the record itself (who
recorded it, when, the time it says the milestone was done, the note and at least one file of
evidence, all kept unchanged), its audit entry (``followup.milestone_recorded``), and the
district officers being told when a 工程长 records one, so that an officer sees every report
without having to confirm it. Once recorded the tick no longer reports the milestone missed.

Refusals: ``NotFound`` ``followup_not_found`` (none in the caller's scope); ``Forbidden``
``role_forbidden``; ``Conflict`` ``no_milestones`` (not key supervision), ``bad_state`` (the
follow-up is no longer open), ``milestone_recorded`` (recorded already); ``InvalidInput``
``future_time`` (``done_at`` later than the server's clock allows, as for inspections),
``before_issue`` (before the follow-up was issued), ``evidence_required``, and the file codes
of :mod:`inspection.attachments`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, notify
from inspection.access import Actor
from inspection.attachments import AttachmentLimits, StoredFile, check_room, record
from inspection.errors import Conflict, Forbidden, InvalidInput
from inspection.followups import get_followup
from inspection.inspections import MAX_CLOCK_SKEW
from inspection.models import (
    Followup,
    FollowupKind,
    FollowupStatus,
    Milestone,
    MilestoneRecord,
    Role,
    Shelter,
)

RECORDER_ROLES = (Role.ADMIN, Role.DISTRICT_OFFICER, Role.MANAGER)
LABELS = {Milestone.CONTAINMENT: "险情控制", Milestone.PLAN: "整改方案"}


def _check(
    session: Session, followup_id: int, milestone: Milestone, actor: Actor
) -> tuple[Followup, Shelter]:
    followup, shelter = get_followup(session, followup_id, actor=actor)
    if actor.role not in RECORDER_ROLES:
        raise Forbidden(
            "only the shelter's manager, a district officer or the city office records a milestone",
            code="role_forbidden",
        )
    if followup.kind != FollowupKind.KEY_SUPERVISION:
        raise Conflict(
            f"{followup.number} is not key supervision and has no milestones", code="no_milestones"
        )
    if followup.status != FollowupStatus.OPEN:
        raise Conflict(f"{followup.number} is {followup.status}, not open", code="bad_state")
    recorded = session.scalar(
        select(MilestoneRecord.id).where(
            MilestoneRecord.followup_id == followup.id,
            MilestoneRecord.milestone == milestone.value,
        )
    )
    if recorded is not None:
        raise Conflict(
            f"the {milestone.value} of {followup.number} is recorded already",
            code="milestone_recorded",
        )
    return followup, shelter


def _check_evidence(
    session: Session, followup_id: int, milestone: Milestone, files: int, limits: AttachmentLimits
) -> None:
    if not files:
        raise InvalidInput(
            "a milestone needs evidence: attach at least one photo or file",
            code="evidence_required",
        )
    check_room(
        session, adding=files, limits=limits, purpose=milestone.value, followup_id=followup_id
    )


def _check_done_at(done_at: datetime, followup: Followup, now: datetime) -> None:
    if done_at > now + MAX_CLOCK_SKEW:
        raise InvalidInput("done_at is in the future", code="future_time")
    if done_at < followup.issued_at:
        raise InvalidInput(
            f"done_at is before {followup.number} was issued ({followup.issued_at.isoformat()})",
            code="before_issue",
        )


def plan_record(
    session: Session,
    followup_id: int,
    milestone: Milestone,
    files: int,
    *,
    done_at: datetime | None,
    actor: Actor,
    now: datetime,
    limits: AttachmentLimits,
) -> None:
    """Check that ``actor`` may record the milestone with ``files`` files of evidence, before
    they are accepted into the file store; :func:`record_milestone` checks again."""
    followup, _ = _check(session, followup_id, milestone, actor)
    _check_done_at(done_at or now, followup, now)
    _check_evidence(session, followup.id, milestone, files, limits)


def record_milestone(
    session: Session,
    followup_id: int,
    milestone: Milestone,
    *,
    done_at: datetime | None,
    note: str,
    evidence: list[StoredFile],
    actor: Actor,
    now: datetime,
    limits: AttachmentLimits,
) -> MilestoneRecord:
    """Record the milestone as done at ``done_at`` (default: now) with its evidence (accepted
    into the file store already); audited, and the district officers are told when the
    shelter's manager records it."""
    session.execute(select(Followup.id).where(Followup.id == followup_id).with_for_update())
    followup, shelter = _check(session, followup_id, milestone, actor)
    when = done_at or now
    _check_done_at(when, followup, now)
    _check_evidence(session, followup.id, milestone, len(evidence), limits)
    for stored in evidence:
        record(
            session, stored, purpose=milestone.value, actor=actor, now=now, followup_id=followup.id
        )
    row = MilestoneRecord(
        followup_id=followup.id,
        milestone=milestone.value,
        done_at=when,
        note=note,
        recorded_by=actor.id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "followup.milestone_recorded",
        "followup",
        followup.number,
        at=now,
        after={**audit.snapshot(row), "evidence": len(evidence)},
    )
    if actor.role == Role.MANAGER:
        label = LABELS[milestone]
        notify.queue(
            session,
            dedupe_key=f"followup:{followup.id}:milestone:{milestone.value}",
            kind="milestone_recorded",
            recipients=notify.district_officers(session, shelter.district),
            shelter=shelter,
            subject=f"{label}已报告 {followup.number}：{shelter.name}",
            body=f"{shelter.name}（{shelter.code}）重点督导 {followup.number} 的{label}已由工程长"
            f"报告完成（{when.isoformat()}），请核查。",
            now=now,
            payload={"followup": followup.number, "milestone": milestone.value},
        )
    return row
