"""Read-only feeds of the smart-city platform (API key of role platform; the city office may
read them too). Part of the alert routes (included by :mod:`api.http.routes.alerts`).

``GET /api/v1/platform/shelters`` answers with a strong ``ETag``: the version of the page's
data (:mod:`api.http.view_version`), computed in one aggregate query before the page is built. A
request whose ``If-None-Match`` names it gets ``304 Not Modified`` with no body, without the
page being built. The body carries no clock value of its own, so it changes only when the
data (or a deadline or silence judged against the clock) does, and so does the version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from api.http import platform_view
from api.http.deps import BodiesDep, NowDep, PageDep, SessionDep, require
from api.http.errors import DocumentedRoute
from api.http.platform_view import CitySummary
from api.http.schemas import Page
from api.http.view_version import NOT_MODIFIED
from api.http.views import PlatformShelter, platform_summaries, summary_page
from inspection.access import Actor, shelter_scope
from inspection.models import Role
from telemetry.query import aware_utc

router = APIRouter(prefix="/api/v1/platform", tags=["platform"], route_class=DocumentedRoute)
PlatformReader = Annotated[Actor, Depends(require(Role.PLATFORM, Role.ADMIN))]


@router.get(
    "/shelters",
    response_model=Page[PlatformShelter],
    responses=NOT_MODIFIED,
)
def shelters(
    session: SessionDep,
    actor: PlatformReader,
    page: PageDep,
    now: NowDep,
    bodies: BodiesDep,
    changed_since: Annotated[
        datetime | None,
        Query(
            description="RFC 3339 with offset: only shelters changed at or after it "
            "(register row, class, sensors, findings, alerts or live values)",
        ),
    ] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every shelter (active or not) with its summary and coordinates, ordered by code."""
    where = shelter_scope(actor)
    if changed_since is not None:
        since = aware_utc(changed_since, name="changed_since")
        where = where & platform_view.changed_since(since)
    return summary_page(
        session,
        where,
        limit=page.limit,
        offset=page.offset,
        now=now,
        model=PlatformShelter,
        build=platform_summaries,
        if_none_match=if_none_match,
        bodies=bodies,
    )


@router.get("/summary", response_model=CitySummary)
def summary(session: SessionDep, actor: PlatformReader, now: NowDep) -> CitySummary:
    """City-wide figures: active shelters by class (and ungraded), compliance rate per
    district, open alerts by severity, sensors online and offline, and an estimate of data
    completeness over the last hour (defined in :mod:`api.http.platform_view`)."""
    return platform_view.city_summary(session, actor=actor, now=now)
