"""Inspections by id, attaching their photos, the follow-up list, class 4 milestones, referral
outcomes and their corrections, closing findings with evidence, notices and referral letters
as PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.db import unit_of_work
from api.http.deps import (
    ActorDep,
    NowDep,
    OfficerDep,
    PageDep,
    SessionDep,
    StateDep,
    followup_in_scope,
)
from api.http.errors import DocumentedRoute
from api.http.pdf import PDF_RESPONSES, PdfResponse, pdf_response
from api.http.schemas import Page
from api.http.uploads import (
    UPLOAD_ERRORS,
    UploadFormDep,
    accept_files,
    limits_of,
    multipart_body,
)
from inspection import attachments, fixes, followups, inspections, milestones, photos, referrals
from inspection.access import Actor
from inspection.documents.fonts import load_font
from inspection.documents.notice import notice_document, render_notice_pdf
from inspection.documents.referral import referral_document, render_referral_pdf
from inspection.followups import FollowupFilter
from inspection.grading import FinePolicy
from inspection.models import Followup, FollowupKind, FollowupStatus, Milestone
from inspection.schemas import (
    AttachmentRead,
    FindingRead,
    FollowupRead,
    InspectionRead,
    OutcomeCorrection,
    ReferralOutcome,
    RowId,
    Verification,
)

router = APIRouter(prefix="/api/v1", tags=["inspections"], route_class=DocumentedRoute)


@router.get("/inspections/{inspection_id}", response_model=InspectionRead)
def get_inspection(
    inspection_id: RowId, session: SessionDep, actor: ActorDep, now: NowDep
) -> InspectionRead:
    inspection = inspections.get_inspection(session, inspection_id, actor=actor)
    return inspections.inspection_read(session, inspection, now=now)


@router.post(
    "/inspections/{inspection_id}/photos",
    response_model=list[AttachmentRead],
    status_code=201,
    openapi_extra=multipart_body(
        finding_id={"type": "integer", "description": "the finding the photos show"}
    ),
    responses=UPLOAD_ERRORS,
)
def add_photos(
    inspection_id: RowId,
    actor: ActorDep,
    form: UploadFormDep,
    session: SessionDep,
    now: NowDep,
    state: StateDep,
) -> list[AttachmentRead]:
    """Attach photos (JPEG, PNG, WebP; PDF files too) to a submitted inspection, optionally
    to one of its findings. Images are decoded and re-encoded without their metadata (EXIF
    GPS position included), upright; the file name is kept for display only. At most
    `SHELTERWATCH_UPLOAD_MAX_FILES_PER_REQUEST` files per request, per inspection and per
    finding as configured. Sending a file again (a retry) answers with the attachment
    already stored for those bytes."""
    limits = limits_of(state)
    finding_id = form.int_field("finding_id")
    shas = [u.sha256 for u in form.uploads]
    with unit_of_work(state.sessions, read_only=True) as check:
        new = photos.plan_photos(
            check, inspection_id, shas, finding_id=finding_id, actor=actor, limits=limits
        )
    firsts = {u.sha256: u for u in reversed(form.uploads)}
    stored = accept_files(state, [firsts[sha] for sha in new])
    rows = photos.add_photos(
        session,
        inspection_id,
        shas,
        {s.upload_sha256: s for s in stored},
        finding_id=finding_id,
        actor=actor,
        now=now,
        limits=limits,
    )
    return [attachments.read(r) for r in rows]


@router.get("/followups", response_model=Page[FollowupRead], tags=["followups"])
def list_followups(
    session: SessionDep,
    actor: ActorDep,
    now: NowDep,
    page: PageDep,
    status: FollowupStatus | None = None,
    class_level: Annotated[int | None, Query(alias="class", ge=2, le=4)] = None,
    district: str | None = None,
    overdue: bool | None = None,
    kind: FollowupKind | None = None,
    shelter: str | None = None,
    with_findings: Annotated[
        bool, Query(description="include each follow-up's findings (``findings``)")
    ] = False,
) -> Page[FollowupRead]:
    """Notices, ledger entries, key supervision and referrals the caller may see, by deadline;
    with ``with_findings`` each with its findings (status, deadline, the reported fix)."""
    flt = FollowupFilter(
        status=status,
        class_level=class_level,
        district=district,
        overdue=overdue,
        kind=kind,
        shelter=shelter,
    )
    rows, total = followups.list_followups(
        session, flt, actor=actor, now=now, limit=page.limit, offset=page.offset
    )
    if with_findings:
        found = inspections.findings_by_id(
            session, [i for row in rows for i in row.finding_ids], now=now
        )
        rows = [
            row.model_copy(update={"findings": [found[i] for i in row.finding_ids if i in found]})
            for row in rows
        ]
    return Page[FollowupRead](items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/followups/{followup_id}/milestones/{milestone}",
    response_model=FollowupRead,
    status_code=201,
    tags=["followups"],
    openapi_extra=multipart_body(
        note={"type": "string", "maxLength": 4000, "description": "what was done"},
        done_at={
            "type": "string",
            "format": "date-time",
            "description": "when it was done, with its offset (default: now); not in the "
            "future, not before the follow-up was issued",
        },
    ),
    responses={
        **UPLOAD_ERRORS,
        409: {
            "description": "`milestone_recorded` (recorded already), `no_milestones` (not key "
            "supervision), `bad_state` (the follow-up is not open)"
        },
    },
)
def record_milestone(
    followup_id: RowId,
    milestone: Milestone,
    actor: ActorDep,
    form: UploadFormDep,
    session: SessionDep,
    now: NowDep,
    state: StateDep,
) -> FollowupRead:
    """Record a milestone of key supervision as done: `containment` (险情控制) or `plan`
    (整改方案), with a note and at least one photo or file of evidence (as for fixes), by the
    shelter's manager, an officer of its district or the city office. Once recorded the tick
    no longer reports it missed; it is never changed (a second record answers 409). Completion
    is the follow-up closing when its last finding's fix is verified."""
    limits = limits_of(state)
    note = form.text_field("note", max_length=4000)
    done_at = form.time_field("done_at")
    with unit_of_work(state.sessions, read_only=True) as check:
        milestones.plan_record(
            check,
            followup_id,
            milestone,
            len(form.uploads),
            done_at=done_at,
            actor=actor,
            now=now,
            limits=limits,
        )
    stored = accept_files(state, form.uploads)
    milestones.record_milestone(
        session,
        followup_id,
        milestone,
        done_at=done_at,
        note=note,
        evidence=stored,
        actor=actor,
        now=now,
        limits=limits,
    )
    return followup_in_scope(session, followup_id, actor).read(session, now=now)


_OUTCOME_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`not_a_referral`, `outcome_recorded` (POST /outcome on a closed "
        "referral: correct it instead), `no_outcome` (nothing to correct)"
    },
    422: {
        "description": "`fine_required`, `fine_out_of_range` (details: the party type and "
        "its range), `validation_error`"
    },
}


Recorded_contra = TypeVar("Recorded_contra", bound=ReferralOutcome, contravariant=True)
Recorded = TypeVar("Recorded", bound=ReferralOutcome)


class _Appends(Protocol[Recorded_contra]):
    """A service appending a record to a referral's outcome history
    (:mod:`inspection.referrals`)."""

    def __call__(
        self,
        session: Session,
        followup_id: int,
        outcome: Recorded_contra,
        /,
        *,
        actor: Actor,
        now: datetime,
        fines: FinePolicy,
    ) -> Followup: ...


@dataclass(frozen=True, slots=True)
class _OutcomeHistory:
    """What both outcome routes need: an officer's request, the clock, the city's fines."""

    session: Session
    actor: Actor
    now: datetime
    fines: FinePolicy

    def append(self, service: _Appends[Recorded], followup_id: int, data: Recorded) -> FollowupRead:
        """Append with ``service`` (which checks scope, role and state, holding the follow-up's
        row), then read the follow-up back."""
        service(self.session, followup_id, data, actor=self.actor, now=self.now, fines=self.fines)
        return followup_in_scope(self.session, followup_id, self.actor).read(
            self.session, now=self.now
        )


def _outcome_history(
    session: SessionDep, actor: OfficerDep, now: NowDep, state: StateDep
) -> _OutcomeHistory:
    return _OutcomeHistory(session, actor, now, state.policy.fines)


OutcomeHistoryDep = Annotated[_OutcomeHistory, Depends(_outcome_history)]


@router.post(
    "/followups/{followup_id}/outcome",
    response_model=FollowupRead,
    tags=["followups"],
    responses=_OUTCOME_ERRORS,
)
def referral_outcome(
    followup_id: RowId, data: ReferralOutcome, history: OutcomeHistoryDep
) -> FollowupRead:
    """Record the outcome of an enforcement referral (warning, fine, dismissed, …). `referred`
    keeps it open; any other outcome closes it and is never overwritten: a second outcome
    answers 409 `outcome_recorded`, a correction goes to `/outcome/corrections`."""
    return history.append(referrals.record_outcome, followup_id, data)


@router.post(
    "/followups/{followup_id}/outcome/corrections",
    response_model=FollowupRead,
    status_code=201,
    tags=["followups"],
    responses=_OUTCOME_ERRORS,
)
def correct_referral_outcome(
    followup_id: RowId, data: OutcomeCorrection, history: OutcomeHistoryDep
) -> FollowupRead:
    """Correct a referral's recorded outcome, with a reason: a new record in the outcome
    history that is in force from now; the records before it are kept."""
    return history.append(referrals.correct_outcome, followup_id, data)


def _finding_read(
    session: SessionDep, finding_id: RowId, actor: ActorDep, now: NowDep
) -> FindingRead:
    finding, _ = fixes.finding_in_scope(session, finding_id, actor)
    return inspections.finding_view(session, finding, now=now)


@router.post(
    "/findings/{finding_id}/fix",
    response_model=FindingRead,
    tags=["findings"],
    openapi_extra=multipart_body(
        note={"type": "string", "maxLength": 4000, "description": "what was done"}
    ),
    responses=UPLOAD_ERRORS,
)
def report_fix(
    finding_id: RowId,
    actor: ActorDep,
    form: UploadFormDep,
    session: SessionDep,
    now: NowDep,
    state: StateDep,
) -> FindingRead:
    """The manager reports a fix with evidence (photos as for inspections, or PDF files);
    someone else verifies or rejects it."""
    limits = limits_of(state)
    note = form.text_field("note", max_length=4000)
    with unit_of_work(state.sessions, read_only=True) as check:
        fixes.plan_fix(check, finding_id, len(form.uploads), actor=actor, limits=limits)
    stored = accept_files(state, form.uploads)
    fixes.report_fix(session, finding_id, note, stored, actor=actor, now=now, limits=limits)
    return _finding_read(session, finding_id, actor, now)


@router.post("/findings/{finding_id}/verify", response_model=FindingRead, tags=["findings"])
def verify(
    finding_id: RowId,
    session: SessionDep,
    actor: ActorDep,
    now: NowDep,
    data: Verification | None = None,
) -> FindingRead:
    """Close the finding; the shelter's class is recomputed."""
    fixes.verify(session, finding_id, data.note if data else "", actor=actor, now=now)
    return _finding_read(session, finding_id, actor, now)


@router.post("/findings/{finding_id}/reject", response_model=FindingRead, tags=["findings"])
def reject(
    finding_id: RowId, data: Verification, session: SessionDep, actor: ActorDep, now: NowDep
) -> FindingRead:
    """Send the fix back with a note; the finding is open again."""
    fixes.reject(session, finding_id, data.note, actor=actor, now=now)
    return _finding_read(session, finding_id, actor, now)


@router.get(
    "/notices/{followup_id}.pdf",
    tags=["followups"],
    response_class=PdfResponse,
    responses={
        **PDF_RESPONSES,
        422: {"description": "a referral has no notice (`not_a_notice`)"},
    },
)
def notice_pdf(
    followup_id: RowId, session: SessionDep, actor: ActorDep, now: NowDep, state: StateDep
) -> PdfResponse:
    """The printable rectification notice (整改通知书) of a notice, ledger entry or key
    supervision: dated the day of the inspection, with its deadlines (class 4: the
    containment, plan and completion milestones), in the city's time zone."""
    settings = state.settings
    doc = notice_document(session, followup_id, actor=actor, now=now, tz=settings.timezone)
    pdf = render_notice_pdf(doc, font=load_font(settings.pdf_font))
    return pdf_response(pdf, f"{doc.number}.pdf")


@router.get(
    "/referrals/{followup_id}.pdf",
    tags=["followups"],
    response_class=PdfResponse,
    responses={
        **PDF_RESPONSES,
        422: {"description": "the follow-up is not a referral (`not_a_referral`)"},
    },
)
def referral_pdf(
    followup_id: RowId, session: SessionDep, actor: ActorDep, now: NowDep, state: StateDep
) -> PdfResponse:
    """The referral letter (移送函) of an enforcement referral, addressed to the configured
    law-enforcement unit (`SHELTERWATCH_REFERRAL_AUTHORITY`): the shelter, the illegal acts
    (人民防空法 art. 49) with up to three photos each, the inspection date, the notices and
    supervision of the same findings and what was done, the legal basis and the city's fine
    range, dated the day of the referral in the city's time zone."""
    settings = state.settings
    letter = referral_document(
        session,
        followup_id,
        actor=actor,
        now=now,
        tz=settings.timezone,
        files=state.files,
        limits=limits_of(state),
        authority=settings.referral_authority,
        local_rules=settings.local_rules,
        fines=state.policy.fines,
    )
    pdf = render_referral_pdf(letter, font=load_font(settings.pdf_font))
    return pdf_response(pdf, f"{letter.number}.pdf")
