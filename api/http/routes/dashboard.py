"""The office dashboard of district and city officers (and the platform): its figures and its
grid of shelters (:mod:`api.http.dashboard`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from api.http import dashboard
from api.http.dashboard import Dashboard, ShelterGrid
from api.http.deps import BodiesDep, NowDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.view_version import GRID, NOT_MODIFIED, page_etag, versioned
from inspection.access import Actor
from inspection.models import Role, Shelter

router = APIRouter(prefix="/api/v1/dashboard", tags=["dashboard"], route_class=DocumentedRoute)
Reader = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.PLATFORM))]
District = Annotated[
    str | None, Query(max_length=64, description="only this district (the city office)")
]


@router.get("", response_model=Dashboard)
def figures(
    session: SessionDep, actor: Reader, now: NowDep, state: StateDep, district: District = None
) -> Dashboard:
    """维护管理达标率 by district with its monthly history, shelters by class, the most
    overdue follow-ups, referrals by outcome, open alerts by severity, fixes waiting for a
    verifier, and whether a map tile server is configured."""
    return dashboard.dashboard(
        session, actor=actor, district=district, now=now, settings=state.settings
    )


@router.get("/shelters", response_model=ShelterGrid, responses=NOT_MODIFIED)
def shelters(
    session: SessionDep,
    actor: Reader,
    now: NowDep,
    bodies: BodiesDep,
    district: District = None,
    coordinates: Annotated[bool, Query(description="with latitudes and longitudes")] = False,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every active shelter in scope with its class, its worst open alert and whether a
    follow-up is overdue, for the grid by district (and with ``coordinates`` the map).
    With a strong ``ETag``: ``304`` until one of those changes."""
    where = dashboard.scope(actor, district) & Shelter.active.is_(True)
    etag = page_etag(session, where, limit=None, offset=0, now=now, model=ShelterGrid, parts=GRID)
    return versioned(
        etag,
        if_none_match=if_none_match,
        bodies=bodies,
        variant=f"grid:{coordinates}",
        build=lambda: dashboard.grid(session, where, now=now, coordinates=coordinates),
    )
