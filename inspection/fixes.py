"""Closing findings: the manager reports a fix with evidence, and a different person (district
officer, inspector or the city office) verifies or rejects it. Verifying the last open finding
of a follow-up closes it and the shelter's class is recomputed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, notify
from inspection.access import Actor, shelter_scope
from inspection.attachments import AttachmentLimits, StoredFile, check_room, record
from inspection.catalogue import load_catalogue
from inspection.errors import Conflict, Forbidden, InvalidInput, NotFound
from inspection.followups import close_settled, recompute_class
from inspection.models import Finding, FindingStatus, Role, Shelter, User

VERIFIER_ROLES = (Role.ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR)
FIX_REPORTER_ROLES = (Role.ADMIN, Role.MANAGER)
PURPOSE = "fix"


def finding_in_scope(session: Session, finding_id: int, actor: Actor) -> tuple[Finding, Shelter]:
    row = session.execute(
        select(Finding, Shelter)
        .join(Shelter, Finding.shelter_id == Shelter.id)
        .where(Finding.id == finding_id, shelter_scope(actor), Finding.draft.is_(False))
    ).first()
    if row is None:
        raise NotFound(f"no finding {finding_id}", code="finding_not_found")
    return row[0], row[1]


def _check_fix(session: Session, finding_id: int, actor: Actor) -> tuple[Finding, Shelter]:
    finding, shelter = finding_in_scope(session, finding_id, actor)
    if actor.role not in FIX_REPORTER_ROLES:
        raise Forbidden("only the shelter's manager reports a fix", code="role_forbidden")
    if finding.status != FindingStatus.OPEN:
        raise Conflict(f"finding {finding_id} is {finding.status}, not open", code="bad_state")
    return finding, shelter


def plan_fix(
    session: Session, finding_id: int, files: int, *, actor: Actor, limits: AttachmentLimits
) -> None:
    """Check that ``actor`` may report a fix of the finding with ``files`` files of evidence,
    before they are accepted into the file store; :func:`report_fix` checks again."""
    _check_fix(session, finding_id, actor)
    if not files:
        raise InvalidInput(
            "a fix needs evidence: attach at least one photo or file", code="evidence_required"
        )
    check_room(session, adding=files, limits=limits, purpose=PURPOSE, finding_id=finding_id)


def report_fix(
    session: Session,
    finding_id: int,
    note: str,
    evidence: list[StoredFile],
    *,
    actor: Actor,
    now: datetime,
    limits: AttachmentLimits,
) -> Finding:
    """The manager (or the city office) reports a fix, with at least one file as evidence
    (accepted into the file store already)."""
    session.execute(select(Finding.id).where(Finding.id == finding_id).with_for_update())
    finding, shelter = _check_fix(session, finding_id, actor)
    if not evidence:
        raise InvalidInput(
            "a fix needs evidence: attach at least one photo or file", code="evidence_required"
        )
    check_room(session, adding=len(evidence), limits=limits, purpose=PURPOSE, finding_id=finding.id)
    before = audit.snapshot(finding)
    for stored in evidence:
        record(session, stored, purpose=PURPOSE, actor=actor, now=now, finding_id=finding.id)
    finding.status = FindingStatus.FIX_REPORTED.value
    finding.fix_reported_by = actor.id
    finding.fix_reported_at = now
    finding.fix_note = note
    session.flush()
    audit.record(
        session,
        actor,
        "finding.fix_reported",
        "finding",
        finding.id,
        at=now,
        before=before,
        after=audit.snapshot(finding),
    )
    title = load_catalogue().title(finding.item_code)
    notify.queue(
        session,
        dedupe_key=f"finding:{finding.id}:fix:{now.isoformat()}",
        kind="fix_reported",
        recipients=notify.district_officers(session, shelter.district),
        shelter=shelter,
        subject=f"整改完成待核验：{shelter.name} {title}",
        body=f"{shelter.name}（{shelter.code}）报告已整改：{title}，请核验。",
        now=now,
        payload={"finding": finding.id, "shelter": shelter.code},
    )
    return finding


def _check_verifier(finding: Finding, actor: Actor) -> None:
    if actor.role not in VERIFIER_ROLES:
        raise Forbidden(
            "only a district officer, an inspector or the city office verifies",
            code="role_forbidden",
        )
    if finding.status != FindingStatus.FIX_REPORTED:
        raise Conflict(
            f"finding {finding.id} is {finding.status}, no fix is reported", code="bad_state"
        )
    if finding.fix_reported_by == actor.id:
        raise Forbidden(
            "the verifier must be someone other than who reported the fix", code="same_person"
        )


def verify(session: Session, finding_id: int, note: str, *, actor: Actor, now: datetime) -> Finding:
    """Close a finding whose fix was reported; closes follow-ups left with nothing open."""
    finding, shelter = finding_in_scope(session, finding_id, actor)
    _check_verifier(finding, actor)
    close_verified(session, finding, shelter, note, actor=actor, now=now)
    close_settled(session, shelter, actor=actor, now=now)
    recompute_class(
        session, shelter, reason="verification", ref=f"finding:{finding.id}", actor=actor, now=now
    )
    return finding


def close_verified(
    session: Session,
    finding: Finding,
    shelter: Shelter,
    note: str,
    *,
    actor: Actor,
    now: datetime,
    by_inspection: int | None = None,
) -> None:
    """Close ``finding`` as verified by ``actor`` (audited ``finding.verified``; a re-inspection
    names itself in ``by_inspection``) and tell the 工程长. The caller has checked the verifier
    and closes the settled follow-ups and recomputes the class."""
    before = audit.snapshot(finding)
    finding.status = FindingStatus.CLOSED.value
    finding.verified_by = actor.id
    finding.verified_at = now
    finding.verify_note = note
    finding.closed_at = now
    session.flush()
    after = audit.snapshot(finding)
    if by_inspection is not None:
        after["by_inspection"] = by_inspection
    audit.record(
        session,
        actor,
        "finding.verified",
        "finding",
        finding.id,
        at=now,
        before=before,
        after=after,
    )
    title = load_catalogue().title(finding.item_code)
    notify.queue(
        session,
        dedupe_key=f"finding:{finding.id}:verified",
        kind="fix_verified",
        recipients=[_manager(session, shelter)],
        shelter=shelter,
        subject=f"整改已核验：{shelter.name} {title}",
        body=f"{shelter.name}（{shelter.code}）{title}：整改已核验通过。",
        now=now,
    )


def reject(session: Session, finding_id: int, note: str, *, actor: Actor, now: datetime) -> Finding:
    """Send a reported fix back: the finding is open again and the note says why."""
    finding, shelter = finding_in_scope(session, finding_id, actor)
    _check_verifier(finding, actor)
    if not note.strip():
        raise InvalidInput("say why the fix is rejected (note)", code="note_required")
    reopen(session, finding, shelter, note, actor=actor, now=now)
    return finding


def reopen(
    session: Session,
    finding: Finding,
    shelter: Shelter,
    note: str,
    *,
    actor: Actor,
    now: datetime,
    by_inspection: int | None = None,
) -> None:
    """Open ``finding`` again after a reported fix was found wanting (audited
    ``finding.rejected``; a re-inspection names itself in ``by_inspection``) and tell the
    工程长 why. No deadline moves."""
    before = audit.snapshot(finding)
    finding.status = FindingStatus.OPEN.value
    finding.verify_note = note
    session.flush()
    after = audit.snapshot(finding)
    if by_inspection is not None:
        after["by_inspection"] = by_inspection
    audit.record(
        session,
        actor,
        "finding.rejected",
        "finding",
        finding.id,
        at=now,
        before=before,
        after=after,
    )
    title = load_catalogue().title(finding.item_code)
    notify.queue(
        session,
        dedupe_key=f"finding:{finding.id}:rejected:{now.isoformat()}",
        kind="fix_rejected",
        recipients=[_manager(session, shelter)],
        shelter=shelter,
        subject=f"整改未通过核验：{shelter.name} {title}",
        body=f"{shelter.name}（{shelter.code}）{title}：整改未通过：{note}",
        now=now,
    )


def _manager(session: Session, shelter: Shelter) -> User | None:
    return session.get(User, shelter.manager_id) if shelter.manager_id else None
