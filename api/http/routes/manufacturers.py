"""The directory of protective-equipment manufacturers, and naming one on a class 3 ledger
entry with the contacts made (:mod:`inspection.manufacturers`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.http.deps import (
    AdminDep,
    FollowupDep,
    NowDep,
    PageDep,
    PersonDep,
    SessionDep,
    require,
)
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from inspection import manufacturers
from inspection.access import Actor
from inspection.models import Role
from inspection.schemas import (
    FollowupRead,
    ManufacturerChoice,
    ManufacturerContactCreate,
    ManufacturerCreate,
    ManufacturerRead,
    ManufacturerUpdate,
    RowId,
)

router = APIRouter(prefix="/api/v1", tags=["manufacturers"], route_class=DocumentedRoute)

TrackerDep = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR))]
"""Those who may track a ledger entry: inspectors, district officers, the city office."""

_LEDGER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "`followup_not_found`, `manufacturer_not_found`"},
    422: {"description": "`not_a_ledger`, `no_manufacturer`, `validation_error`"},
}


@router.post("/manufacturers", response_model=ManufacturerRead, status_code=201)
def create(
    data: ManufacturerCreate, session: SessionDep, actor: AdminDep, now: NowDep
) -> ManufacturerRead:
    """Add a manufacturer to the directory (`409 manufacturer_exists` for a name taken)."""
    row = manufacturers.create_manufacturer(session, data, actor=actor, now=now)
    return ManufacturerRead.model_validate(row)


@router.patch(
    "/manufacturers/{manufacturer_id}",
    response_model=ManufacturerRead,
    responses={
        404: {"description": "`manufacturer_not_found`"},
        409: {"description": "`manufacturer_exists` (the new name is another's)"},
    },
)
def update(
    manufacturer_id: RowId,
    data: ManufacturerUpdate,
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
) -> ManufacturerRead:
    """Change a manufacturer's entry: the fields sent (its name stays unique)."""
    row = manufacturers.update_manufacturer(session, manufacturer_id, data, actor=actor, now=now)
    return ManufacturerRead.model_validate(row)


@router.get("/manufacturers", response_model=Page[ManufacturerRead])
def index(
    session: SessionDep,
    _actor: PersonDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="in name or products")] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ManufacturerRead]:
    """The directory, by name."""
    rows, total = manufacturers.list_manufacturers(
        session, q=q, region=region, limit=page.limit, offset=page.offset
    )
    return Page[ManufacturerRead](
        items=[ManufacturerRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.put(
    "/followups/{followup_id}/manufacturer",
    response_model=FollowupRead,
    tags=["followups"],
    responses=_LEDGER_ERRORS,
)
def name_manufacturer(
    data: ManufacturerChoice,
    session: SessionDep,
    actor: TrackerDep,
    scoped: FollowupDep,
    now: NowDep,
) -> FollowupRead:
    """Name the manufacturer of a ledger entry's equipment (`manufacturer_id` null: none)."""
    manufacturers.name_manufacturer(
        session, scoped.followup, data.manufacturer_id, actor=actor, now=now
    )
    return scoped.read(session, now=now)


@router.post(
    "/followups/{followup_id}/manufacturer-contacts",
    response_model=FollowupRead,
    status_code=201,
    tags=["followups"],
    responses=_LEDGER_ERRORS,
)
def record_contact(
    data: ManufacturerContactCreate,
    session: SessionDep,
    actor: TrackerDep,
    scoped: FollowupDep,
    now: NowDep,
) -> FollowupRead:
    """Record a contact made with the ledger entry's manufacturer: when, and what came of it
    (who: the caller)."""
    manufacturers.record_contact(session, scoped.followup, data, actor=actor, now=now)
    return scoped.read(session, now=now)
