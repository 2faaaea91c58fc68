"""Corrections that wait for an officer: the list, approval and rejection.

A correction is submitted like any inspection (``POST /api/v1/shelters/{code}/inspections``
with ``corrects``); one that removes or lowers findings answers with its ``pending`` state
and is decided here by an officer of the district (or the city office) other than its author.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.http.deps import NowDep, OfficerDep, PageDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from inspection import corrections, inspections
from inspection.access import Actor
from inspection.models import CorrectionStatus, Role
from inspection.schemas import CorrectionDecision, CorrectionRead, InspectionRead, RowId

router = APIRouter(prefix="/api/v1", tags=["corrections"], route_class=DocumentedRoute)
Reviewer = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR))]


@router.get("/corrections", response_model=Page[CorrectionRead])
def list_corrections(
    session: SessionDep,
    actor: Reviewer,
    page: PageDep,
    status: CorrectionStatus | None = None,
) -> Page[CorrectionRead]:
    """Corrections of the shelters the caller may see, oldest first; ``status=pending`` is
    what waits for an officer's decision."""
    rows, total = corrections.list_corrections(
        session, status, actor=actor, limit=page.limit, offset=page.offset
    )
    return Page[CorrectionRead](items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("/inspections/{inspection_id}/approve", response_model=InspectionRead)
def approve(
    inspection_id: RowId,
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
    data: CorrectionDecision | None = None,
) -> InspectionRead:
    """Approve a pending correction (not one's own): it takes effect now, superseding the
    findings it replaces, and the shelter's class is recomputed."""
    inspection = corrections.approve(
        session,
        inspection_id,
        data.note if data else "",
        actor=actor,
        now=now,
        policy=state.policy,
        tz=state.settings.timezone,
    )
    return inspections.inspection_read(session, inspection, now=now)


@router.post("/inspections/{inspection_id}/reject", response_model=InspectionRead)
def reject(
    inspection_id: RowId,
    data: CorrectionDecision,
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
) -> InspectionRead:
    """Reject a pending correction with a note saying why; the corrected inspection stays
    in force."""
    inspection = corrections.reject(session, inspection_id, data.note, actor=actor, now=now)
    return inspections.inspection_read(session, inspection, now=now)
