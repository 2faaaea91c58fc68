"""Read-only feeds of the smart-city platform (API key of role platform; the city office may
read them too). Part of the alert routes (included by :mod:`api.http.routes.alerts`).

``GET /api/v1/platform/shelters`` answers with a strong ``ETag`` (SHA-256 of the exact body);
a request whose ``If-None-Match`` names it gets ``304 Not Modified`` with no body. The body
carries no clock value of its own, so it changes only when the data (or a deadline or
silence judged against the clock) does.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from api.http import platform_view
from api.http.deps import NowDep, PageDep, SessionDep, require
from api.http.platform_view import CitySummary
from api.http.schemas import Page
from api.http.views import PlatformShelter, platform_summaries
from inspection.access import Actor, shelter_scope
from inspection.models import Role, Shelter
from telemetry.query import aware_utc

router = APIRouter(prefix="/api/v1/platform", tags=["platform"])
PlatformReader = Annotated[Actor, Depends(require(Role.PLATFORM, Role.ADMIN))]


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` semantics (RFC 9110 §13.1.2): ``*`` or any listed tag, compared
    weakly."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


@router.get(
    "/shelters",
    response_model=Page[PlatformShelter],
    responses={304: {"description": "``If-None-Match`` names the current ETag; no body."}},
)
def shelters(
    session: SessionDep,
    actor: PlatformReader,
    page: PageDep,
    now: NowDep,
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
    query = select(Shelter).where(shelter_scope(actor))
    if changed_since is not None:
        since = aware_utc(changed_since, name="changed_since")
        query = query.where(platform_view.changed_since(since))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(joinedload(Shelter.manager))
        .order_by(Shelter.code)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    body = (
        Page[PlatformShelter](
            items=platform_summaries(session, rows, now=now),
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
        .model_dump_json()
        .encode()
    )
    etag = strong_etag(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/summary", response_model=CitySummary)
def summary(session: SessionDep, actor: PlatformReader, now: NowDep) -> CitySummary:
    """City-wide figures: active shelters by class (and ungraded), compliance rate per
    district, open alerts by severity, sensors online and offline, and an estimate of data
    completeness over the last hour (defined in :mod:`api.http.platform_view`)."""
    return platform_view.city_summary(session, actor=actor, now=now)
