"""Sweeps: the city office plans a round of inspections over districts or shelters, the
city office and district officers assign its shelters to inspectors, and everyone concerned
follows its progress (:mod:`inspection.sweeps`). The city office renames a sweep, changes
its period, adds shelters to a planned or running one and takes out those not yet
inspected; an assignment tells the inspector through the notification outbox.

Scope: a sweep's name and period are read by the city office, district officers and
inspectors; what it holds is counted within the caller's reach: a district officer's
district, an inspector's own assignments. Managers and the platform are refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.http.deps import AdminDep, NowDep, OfficerDep, PageDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from inspection import sweeps
from inspection.access import Actor
from inspection.models import Role
from inspection.schemas import (
    RowId,
    SweepAddShelters,
    SweepAssign,
    SweepCreate,
    SweepProgress,
    SweepRead,
    SweepRemoveShelters,
    SweepShelterRead,
    SweepUnassign,
    SweepUpdate,
)

router = APIRouter(prefix="/api/v1/sweeps", tags=["sweeps"], route_class=DocumentedRoute)
Follower = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR))]


class AssignResult(BaseModel):
    changed: int
    """How many shelters were assigned (or unassigned, added, taken out)."""


@router.post("", response_model=SweepRead, status_code=201)
def create(
    data: SweepCreate, session: SessionDep, actor: AdminDep, now: NowDep, state: StateDep
) -> SweepRead:
    """Plan a sweep (city office): its shelters are the active shelters of ``districts`` and
    those named in ``shelters`` now; a shelter registered later does not join. Refusals:
    ``invalid_period``, ``unknown_shelters`` (the codes in ``details``), ``empty_sweep``."""
    sweep = sweeps.create_sweep(session, data, actor=actor, now=now, tz=state.settings.timezone)
    [read] = sweeps.reads(session, [sweep], actor=actor, now=now)
    return read


@router.get("", response_model=Page[SweepRead])
def index(session: SessionDep, actor: Follower, page: PageDep, now: NowDep) -> Page[SweepRead]:
    """Sweeps, the latest period first, each with its progress within the caller's reach."""
    rows, total = sweeps.list_sweeps(session, limit=page.limit, offset=page.offset)
    return Page[SweepRead](
        items=sweeps.reads(session, rows, actor=actor, now=now),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{sweep_id}", response_model=SweepProgress)
def detail(sweep_id: RowId, session: SessionDep, actor: Follower, now: NowDep) -> SweepProgress:
    """The sweep and its progress within the caller's reach, in total, by district and by
    inspector: inspected, not yet, overdue (period ended) and due soon (ending within 7
    days)."""
    return sweeps.progress(session, sweeps.get_sweep(session, sweep_id), actor=actor, now=now)


@router.get("/{sweep_id}/shelters", response_model=Page[SweepShelterRead])
def sweep_shelters(
    sweep_id: RowId,
    session: SessionDep,
    actor: Follower,
    page: PageDep,
    district: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[SweepShelterRead]:
    """The sweep's shelters within the caller's reach, by district and code: each with its
    assigned inspector and whether it is inspected in the period."""
    sweep = sweeps.get_sweep(session, sweep_id)
    rows, total = sweeps.shelters(
        session, sweep, actor=actor, district=district, limit=page.limit, offset=page.offset
    )
    return Page[SweepShelterRead](items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("/{sweep_id}/assign", response_model=AssignResult)
def assign(
    sweep_id: RowId,
    data: SweepAssign,
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
) -> AssignResult:
    """Assign shelters of the sweep (by code) to one inspector, replacing earlier assignees:
    the city office any, a district officer those of their district. Refusals:
    ``unknown_shelters`` (not in the sweep, or out of reach), ``bad_assignee`` (not an
    active inspector of the shelters' district). The inspector is sent one message naming
    the sweep, the shelters newly theirs and the last day; a repeated request sends none."""
    changed = sweeps.assign(
        session, sweep_id, data, actor=actor, now=now, tz=state.settings.timezone
    )
    return AssignResult(changed=changed)


@router.post("/{sweep_id}/unassign", response_model=AssignResult)
def unassign(
    sweep_id: RowId, data: SweepUnassign, session: SessionDep, actor: OfficerDep, now: NowDep
) -> AssignResult:
    """Take shelters of the sweep off their inspector (``unknown_shelters`` as above)."""
    return AssignResult(changed=sweeps.unassign(session, sweep_id, data, actor=actor, now=now))


@router.patch("/{sweep_id}", response_model=SweepRead)
def update(
    sweep_id: RowId,
    data: SweepUpdate,
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
    state: StateDep,
) -> SweepRead:
    """Rename a sweep or change its period (city office). Refusals: ``invalid_period``
    (last day before the first, or too long), ``ends_in_past`` (last day moved before
    today), ``sweep_started`` (first day of a started sweep moved after today)."""
    sweep = sweeps.update_sweep(
        session, sweep_id, data, actor=actor, now=now, tz=state.settings.timezone
    )
    [read] = sweeps.reads(session, [sweep], actor=actor, now=now)
    return read


@router.post("/{sweep_id}/shelters", response_model=AssignResult)
def add_shelters(
    sweep_id: RowId, data: SweepAddShelters, session: SessionDep, actor: AdminDep, now: NowDep
) -> AssignResult:
    """Add active shelters, by district and/or code, to a planned or running sweep (city
    office); those in it already stay as they are. Refusals: 409 ``sweep_ended``; 422
    ``unknown_shelters`` (the codes in ``details``), ``nothing_named``."""
    return AssignResult(changed=sweeps.add_shelters(session, sweep_id, data, actor=actor, now=now))


@router.post("/{sweep_id}/shelters/remove", response_model=AssignResult)
def remove_shelters(
    sweep_id: RowId,
    data: SweepRemoveShelters,
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
) -> AssignResult:
    """Take shelters not yet inspected in the period out of a planned or running sweep
    (city office). Refusals: 409 ``sweep_ended``, ``already_inspected`` (the codes in
    ``details``), ``empty_sweep``; 422 ``unknown_shelters``."""
    return AssignResult(
        changed=sweeps.remove_shelters(session, sweep_id, data, actor=actor, now=now)
    )
