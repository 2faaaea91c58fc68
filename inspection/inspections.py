"""Submitting inspections: validate findings against the catalogue, grade, start follow-up.

A submitted inspection is immutable; a correction is a new inspection that names the one
it corrects, whose findings still in force it supersedes, at once or, when it removes or
lowers findings, once an officer approves it (:mod:`inspection.corrections`). Photos attach
afterwards.

Submissions from phones are retried after a lost answer, so both steps are idempotent: a
submission under a key (:func:`inspection.resubmission.submit_once`) stores one inspection
however often it is sent, and a photo whose bytes are already attached to the same
inspection (and finding) is not stored again (:func:`inspection.photos.add_photos`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from inspection import attachments, audit, corrections, drafts, followups, registry, reinspection
from inspection.access import Actor, shelter_scope
from inspection.catalogue import Catalogue, load_catalogue
from inspection.effect import FindingSpec, take_effect
from inspection.errors import Forbidden, InvalidInput, NotFound
from inspection.grading import (
    FollowupPolicy,
    GradedFinding,
    Severity,
    class_for,
    effective_severity,
    finding_is_open_at_grading,
)
from inspection.models import (
    Attachment,
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupStatus,
    Inspection,
    Role,
    Sensor,
    Shelter,
    User,
)
from inspection.schemas import (
    AttachmentRead,
    FindingRead,
    InspectionCreate,
    InspectionRead,
    SensorRead,
    ShelterDetail,
)
from inspection.users import by_username

MAX_CLOCK_SKEW = timedelta(minutes=5)
INSPECTOR_ROLES = (Role.INSPECTOR, Role.ADMIN)
CORRECTOR_ROLES = (*INSPECTOR_ROLES, Role.DISTRICT_OFFICER)
"""A correction may also come from an officer of the district (:mod:`inspection.corrections`)."""
TRACKER_ROLES = (Role.INSPECTOR, Role.DISTRICT_OFFICER, Role.ADMIN)


def _validated_findings(data: InspectionCreate, catalogue: Catalogue) -> list[FindingSpec]:
    rows: list[FindingSpec] = []
    problems: list[dict[str, object]] = []
    for index, item in enumerate(data.findings):
        entry = catalogue.get(item.item)
        if entry is None:
            problems.append({"index": index, "item": item.item, "error": "unknown catalogue item"})
            continue
        try:
            requested = Severity.parse(item.severity) if item.severity else None
            severity = effective_severity(entry.default_severity, requested)
        except ValueError as exc:
            problems.append({"index": index, "item": item.item, "error": str(exc)})
            continue
        is_open = finding_is_open_at_grading(severity, item.fixed_on_spot)
        rows.append(FindingSpec(entry.code, severity, entry.illegal_act, item.note, is_open))
    if problems:
        raise InvalidInput("some findings are not valid", code="invalid_findings", details=problems)
    return rows


def submit(
    session: Session,
    code: str,
    data: InspectionCreate,
    *,
    actor: Actor,
    now: datetime,
    policy: FollowupPolicy,
    tz: str,
    records_start: datetime,
    idempotency: tuple[str, str] | None = None,
) -> Inspection:
    """Grade and store an inspection by ``actor``; creates its follow-up, issued at the
    visit and numbered in the year of the visit in ``tz``, and recomputes the shelter's
    class. The visit lies between ``records_start`` (the first moment of the records) and a
    few minutes after ``now``; one entered more than ``policy.late_entry_days`` after it needs
    a reason, which is kept with it. A correction (``data.corrects``) is checked and recorded
    by :mod:`inspection.corrections`: one that removes or lowers findings is stored pending
    and changes nothing until an officer approves it. ``idempotency`` (key, request hash) is
    kept with it for :func:`submit_once`."""
    shelter = registry.get_shelter(session, code, actor=actor)
    submitters = CORRECTOR_ROLES if data.corrects is not None else INSPECTOR_ROLES
    if actor.role not in submitters:
        raise Forbidden("only inspectors submit inspections", code="role_forbidden")
    if data.inspected_at > now + MAX_CLOCK_SKEW:
        raise InvalidInput("inspected_at is in the future", code="future_time")
    if data.inspected_at < records_start:
        raise InvalidInput(
            f"inspected_at is before the records begin ({records_start.isoformat()})",
            code="before_records_start",
        )
    late_after = timedelta(days=policy.late_entry_days)
    if now - data.inspected_at > late_after and not data.late_reason.strip():
        raise InvalidInput(
            f"the visit was more than {policy.late_entry_days} days ago: "
            "say why it is entered late (late_reason)",
            code="late_reason_required",
        )
    catalogue = load_catalogue()
    specs = _validated_findings(data, catalogue)
    tracker: User | None = None
    if data.tracker:
        tracker = by_username(session, data.tracker)
        if tracker is None or tracker.role not in TRACKER_ROLES:
            raise InvalidInput(f"{data.tracker!r} cannot track a ledger entry", code="bad_tracker")
    review: corrections.Review | None = None
    if data.corrects is not None:
        review = corrections.review(
            session, data.corrects, shelter, specs, data.correction_reason, actor=actor
        )
    judged = reinspection.review(
        session,
        shelter,
        data.verdicts,
        specs,
        actor=actor,
        corrected=review.corrected if review else None,
    )
    graded = class_for(
        [GradedFinding(s.severity, s.open) for s in specs] + reinspection.graded(judged)
    )
    inspection = Inspection(
        shelter_id=shelter.id,
        inspector_id=actor.id,
        inspected_at=data.inspected_at,
        submitted_at=now,
        graded_class=graded,
        catalogue_version=catalogue.version,
        note=data.note,
        late_reason=data.late_reason,
        corrects_id=review.corrected.id if review else None,
        idempotency_key=idempotency[0] if idempotency else None,
        request_hash=idempotency[1] if idempotency else None,
    )
    session.add(inspection)
    session.flush()
    audit.record(
        session,
        actor,
        "inspection.submit",
        "inspection",
        inspection.id,
        at=now,
        after={
            **audit.snapshot(inspection),
            "findings": [s.item_code for s in specs],
            **(
                {"verdicts": {str(j.finding.id): j.verdict.value for j in judged}} if judged else {}
            ),
        },
    )
    if review is not None:
        corrections.record(
            session,
            inspection,
            shelter,
            review,
            specs,
            reason=data.correction_reason,
            tracker=tracker,
            actor=actor,
            now=now,
        )
        if review.needs_approval:
            return inspection
    reinspection.apply(session, inspection, shelter, judged, actor=actor, now=now)
    recorded = take_effect(
        session,
        inspection,
        shelter,
        [*specs, *reinspection.replacements(judged)],
        corrected=review.corrected if review else None,
        tracker=tracker,
        actor=actor,
        now=now,
        policy=policy,
        tz=tz,
        confirmed=reinspection.confirmed_items(judged),
    )
    reinspection.record(session, inspection, judged, recorded, actor=actor, now=now)
    return inspection


def get_inspection(session: Session, inspection_id: int, *, actor: Actor) -> Inspection:
    row = session.scalar(
        select(Inspection)
        .join(Shelter, Inspection.shelter_id == Shelter.id)
        .where(Inspection.id == inspection_id, shelter_scope(actor))
    )
    if row is None:
        raise NotFound(f"no inspection {inspection_id}", code="inspection_not_found")
    return row


def list_inspections(
    session: Session, code: str, *, actor: Actor, limit: int, offset: int
) -> tuple[list[Inspection], int]:
    shelter = registry.get_shelter(session, code, actor=actor)
    where = Inspection.shelter_id == shelter.id
    total = session.scalar(select(func.count()).select_from(Inspection).where(where)) or 0
    rows = session.scalars(
        select(Inspection)
        .where(where)
        .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def _title(catalogue: Catalogue, code: str) -> str:
    item = catalogue.get(code) or load_catalogue().get(code)
    return item.title if item else code


def finding_read(
    finding: Finding,
    catalogue: Catalogue,
    *,
    now: datetime,
    due_at: datetime | None = None,
    attachments: list[AttachmentRead] | None = None,
) -> FindingRead:
    item = catalogue.get(finding.item_code) or load_catalogue().get(finding.item_code)
    is_open = finding.status != FindingStatus.CLOSED
    return FindingRead(
        id=finding.id,
        inspection_id=finding.inspection_id,
        item=finding.item_code,
        title=item.title if item else finding.item_code,
        severity=Severity(finding.severity).label,
        illegal_act=finding.illegal_act,
        note=finding.note,
        fixed_on_spot=finding.fixed_on_spot,
        status=FindingStatus(finding.status),
        draft=finding.draft,
        created_at=finding.created_at,
        fix_reported_at=finding.fix_reported_at,
        fix_note=finding.fix_note,
        verified_at=finding.verified_at,
        closed_at=finding.closed_at,
        due_at=due_at if is_open else None,
        overdue=bool(is_open and due_at is not None and now > due_at),
        attachments=attachments or [],
    )


def _due_dates(session: Session, finding_ids: list[int]) -> dict[int, datetime]:
    """For each finding, the deadline of the live follow-up that covers it."""
    if not finding_ids:
        return {}
    rows = session.execute(
        select(FollowupFinding.finding_id, func.min(Followup.due_at))
        .join(Followup, Followup.id == FollowupFinding.followup_id)
        .where(
            FollowupFinding.finding_id.in_(finding_ids),
            Followup.status == FollowupStatus.OPEN.value,
        )
        .group_by(FollowupFinding.finding_id)
    ).all()
    return dict(rows)


def inspection_read(session: Session, inspection: Inspection, *, now: datetime) -> InspectionRead:
    loaded = session.scalar(
        select(Inspection)
        .where(Inspection.id == inspection.id)
        .options(
            selectinload(Inspection.findings),
            selectinload(Inspection.shelter),
            selectinload(Inspection.inspector),
        )
    )
    if loaded is None:
        raise NotFound(f"no inspection {inspection.id}", code="inspection_not_found")
    catalogue = load_catalogue(loaded.catalogue_version)
    due = _due_dates(session, [f.id for f in loaded.findings])
    fus = session.scalars(
        select(Followup).where(Followup.inspection_id == loaded.id).order_by(Followup.id)
    ).all()
    photos = session.scalars(
        select(Attachment).where(Attachment.inspection_id == loaded.id).order_by(Attachment.id)
    ).all()
    files = attachments.reads_by_finding(session, [f.id for f in loaded.findings])
    return InspectionRead(
        id=loaded.id,
        shelter_code=loaded.shelter.code,
        inspector=loaded.inspector.username,
        inspected_at=loaded.inspected_at,
        submitted_at=loaded.submitted_at,
        graded_class=loaded.graded_class,
        catalogue_version=loaded.catalogue_version,
        note=loaded.note,
        late_reason=loaded.late_reason,
        corrects=loaded.corrects_id,
        correction=corrections.read_of(session, loaded, loaded.shelter),
        findings=[
            finding_read(f, catalogue, now=now, due_at=due.get(f.id), attachments=files[f.id])
            for f in loaded.findings
        ],
        verdicts=[
            v.model_copy(update={"title": _title(catalogue, v.item)})
            for v in reinspection.reads(session, loaded.id)
        ],
        followups=followups.reads(session, [(f, loaded.shelter) for f in fus], now=now),
        photos=[AttachmentRead.model_validate(p) for p in photos],
    )


def open_findings(session: Session, shelter: Shelter, *, now: datetime) -> list[FindingRead]:
    rows = session.scalars(
        select(Finding)
        .where(
            Finding.shelter_id == shelter.id,
            Finding.status != FindingStatus.CLOSED.value,
            Finding.draft.is_(False),
        )
        .order_by(Finding.severity.desc(), Finding.id)
    ).all()
    catalogue = load_catalogue()
    due = _due_dates(session, [f.id for f in rows])
    files = attachments.reads_by_finding(session, [f.id for f in rows])
    return [
        finding_read(f, catalogue, now=now, due_at=due.get(f.id), attachments=files[f.id])
        for f in rows
    ]


def shelter_detail(session: Session, shelter: Shelter, *, now: datetime) -> ShelterDetail:
    base = registry.to_read(shelter)
    sensors = session.scalars(
        select(Sensor).where(Sensor.shelter_id == shelter.id).order_by(Sensor.sensor_id)
    ).all()
    catalogue = load_catalogue()
    return ShelterDetail(
        **base.model_dump(),
        open_findings=open_findings(session, shelter, now=now),
        draft_findings=[
            finding_read(f, catalogue, now=now) for f in drafts.pending(session, shelter)
        ],
        sensors=[SensorRead.model_validate(s) for s in sensors],
    )


def findings_by_id(
    session: Session, finding_ids: list[int], *, now: datetime
) -> dict[int, FindingRead]:
    """The findings of ``finding_ids`` as read, each with the deadline of the live follow-up
    covering it and the evidence of its reported fixes, in three queries whatever their
    number."""
    if not finding_ids:
        return {}
    rows = session.scalars(select(Finding).where(Finding.id.in_(finding_ids))).all()
    due = _due_dates(session, [f.id for f in rows])
    files = attachments.reads_by_finding(session, [f.id for f in rows])
    catalogue = load_catalogue()
    return {
        f.id: finding_read(f, catalogue, now=now, due_at=due.get(f.id), attachments=files[f.id])
        for f in rows
    }


def finding_view(session: Session, finding: Finding, *, now: datetime) -> FindingRead:
    """One finding as read, with the deadline of the follow-up covering it."""
    due = _due_dates(session, [finding.id])
    files = attachments.reads_by_finding(session, [finding.id])
    return finding_read(
        finding,
        load_catalogue(),
        now=now,
        due_at=due.get(finding.id),
        attachments=files[finding.id],
    )
