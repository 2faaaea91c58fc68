"""Monitoring views and the alert workflow: my shelters, a shelter's overview, the alert list,
acknowledging and resolving (logged in, or through a signed link without logging in); the
alert rules and the platform feeds are included from :mod:`api.http.routes.alert_rules` and
:mod:`api.http.routes.platform`.

Scope: everyone sees the alerts and summaries of the shelters they may see
(:mod:`inspection.access`): a manager their own shelters, a district officer their district,
an inspector their assigned shelters and district, the city office and the platform all.
Anything outside is answered as not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alerting.sink import alert_json
from api.http import ack_page
from api.http.deps import (
    PEOPLE,
    ActorDep,
    BodiesDep,
    NowDep,
    PageDep,
    PersonDep,
    SessionDep,
    StateDep,
    TransitionsDep,
    require,
)
from api.http.errors import ApiError, DocumentedRoute
from api.http.routes import alert_rules, platform
from api.http.schemas import Page, json_response
from api.http.view_version import NOT_MODIFIED, etag_matches, tag
from api.http.views import AlertOut, ShelterRow, ShelterSummary, shelter_summaries, summary_page
from api.notify.ack_links import InvalidAckToken, read_ack_token
from api.state import AppState
from inspection import registry
from inspection.access import Actor, can_see, shelter_scope
from inspection.models import Role, Shelter, User
from inspection.schemas import RowId, check_text
from telemetry import alert_store
from telemetry.alert_store import AlertFilter, AlertView
from telemetry.errors import NotFound

router = APIRouter(route_class=DocumentedRoute)
"""Every route of this module and of the two it includes (registered by ``api.app``)."""

_alerts = APIRouter(prefix="/api/v1", tags=["alerts"], route_class=DocumentedRoute)
Resolver = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.MANAGER))]
Token = Annotated[str, Query(max_length=200, description="the token of the link")]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: Annotated[str, AfterValidator(check_text)] = Field(
        min_length=1, max_length=4000, description="what was done (required)"
    )


def _sees(session: Session, actor: Actor, shelter_code: str) -> bool:
    return (
        session.scalar(select(Shelter.id).where(Shelter.code == shelter_code, shelter_scope(actor)))
        is not None
    )


def _visible_alert(session: Session, alert_id: int, actor: Actor) -> AlertView:
    view = alert_store.get(session, alert_id)
    if not _sees(session, actor, view.shelter_code):
        raise ApiError(404, "alert_not_found", f"no alert {alert_id}")
    return view


@_alerts.get("/me/shelters", response_model=Page[ShelterSummary], responses=NOT_MODIFIED)
def my_shelters(
    session: SessionDep,
    actor: PersonDep,
    page: PageDep,
    now: NowDep,
    bodies: BodiesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The caller's shelters with their summary, ordered by code: a manager's own shelters;
    for the other people roles, the shelters in their scope (a district officer's district,
    an inspector's assigned shelters and district, everything for the city office). The
    platform reads ``/api/v1/platform/shelters`` instead. With a strong ``ETag``: an
    ``If-None-Match`` naming it answers ``304`` without building the page."""
    return summary_page(
        session,
        shelter_scope(actor),
        limit=page.limit,
        offset=page.offset,
        now=now,
        model=ShelterSummary,
        build=shelter_summaries,
        if_none_match=if_none_match,
        bodies=bodies,
    )


@_alerts.get("/shelters/{code}/overview", response_model=ShelterSummary)
def overview(code: str, session: SessionDep, actor: ActorDep, now: NowDep) -> Response:
    """One shelter's summary (class, open findings with deadlines, live values per sensor,
    open alerts, readiness); 404 when the caller may not see it."""
    shelter = registry.get_shelter(session, code, actor=actor)
    return json_response(shelter_summaries(session, [ShelterRow.of(shelter)], now=now)[0])


@_alerts.get("/alerts", response_model=Page[AlertOut], responses=NOT_MODIFIED)
def list_alerts(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    status: Annotated[
        Literal["active", "acknowledged", "cleared", "resolved", "open"] | None,
        Query(description="open = active or acknowledged"),
    ] = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    district: str | None = None,
    shelter: str | None = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Alerts of the shelters the caller may see, newest first. With a strong ``ETag`` from
    the matching alerts' states, so a screen that polls (``status=open``) gets ``304`` until
    an alert is raised or changes."""
    scope = None
    if actor.role not in (Role.ADMIN, Role.PLATFORM):
        scope = select(Shelter.code).where(shelter_scope(actor))
    flt = AlertFilter(
        status=status, severity=severity, district=district, shelter=shelter, shelters=scope
    )
    etag = tag(Page[AlertOut], (alert_store.fingerprint(session, flt), page.limit, page.offset))
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    views, total = alert_store.list_alerts(session, flt, limit=page.limit, offset=page.offset)
    return json_response(
        Page[AlertOut](items=views, total=total, limit=page.limit, offset=page.offset),
        headers=headers,
    )


@_alerts.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge(
    alert_id: RowId,
    session: SessionDep,
    actor: PersonDep,
    transitions: TransitionsDep,
    now: NowDep,
) -> AlertOut:
    """active → acknowledged, by anyone (not the platform) who may see the shelter; 409 when
    the alert is not active. Stops escalation; the platform hears of it."""
    _visible_alert(session, alert_id, actor)
    view = transitions.acknowledge(session, alert_id, by=actor.username, at=now)
    if view is None:
        raise ApiError(409, "alert_not_active", f"alert {alert_id} is not active")
    return view


@_alerts.post("/alerts/{alert_id}/resolve", response_model=AlertOut)
def resolve(
    alert_id: RowId,
    data: ResolveIn,
    session: SessionDep,
    actor: Resolver,
    transitions: TransitionsDep,
    now: NowDep,
) -> AlertOut:
    """Close an open alert by hand with a note (city office, district officer, the
    shelter's manager); 409 when it is no longer open. Everyone told of it hears."""
    _visible_alert(session, alert_id, actor)
    view = transitions.resolve(session, alert_id, by=actor.username, note=data.note, at=now)
    if view is None:
        raise ApiError(409, "alert_not_open", f"alert {alert_id} is not open")
    return view


_LINK_REFUSALS = {
    "ack_link_expired": "确认链接已过期，请登录系统确认。",
    "ack_link_invalid": "确认链接无效。",
    "alert_not_found": "告警不存在。",
    "ack_forbidden": "你已无权确认此告警。",
}
"""What the page of a refused acknowledgement link says, by the refusal's code."""


def _from_link(
    session: Session, state: AppState, token: str, now: datetime
) -> tuple[AlertView, Actor, Shelter]:
    """The alert, the user the link was made for and the shelter; :class:`ApiError` when the
    link is bad (400), expired (410), its user may no longer see the shelter (403) or the
    alert is gone (404)."""
    try:
        alert_id, user_id = read_ack_token(token, key=state.signing_key, now=now)
    except InvalidAckToken as exc:
        if exc.reason == "expired":
            raise ApiError(410, "ack_link_expired", exc.message) from exc
        raise ApiError(400, "ack_link_invalid", exc.message) from exc
    user = session.get(User, user_id)
    try:
        view: AlertView | None = alert_store.get(session, alert_id)
    except NotFound:
        view = None
    shelter = (
        session.scalar(select(Shelter).where(Shelter.code == view.shelter_code))
        if view is not None
        else None
    )
    if view is None or shelter is None:
        raise ApiError(404, "alert_not_found", f"no alert {alert_id}")
    actor = (
        Actor(id=user.id, username=user.username, role=Role(user.role), district=user.district)
        if user is not None and user.active
        else None
    )
    if actor is None or actor.role not in PEOPLE or not can_see(actor, shelter):
        raise ApiError(403, "ack_forbidden", "this link's user may not acknowledge the alert")
    return view, actor, shelter


@_alerts.get("/alerts/ack", response_class=HTMLResponse)
def ack_link_page(
    request: Request, session: SessionDep, state: StateDep, now: NowDep, token: Token
) -> Response:
    """No login: the alert named by a signed link, with a button that acknowledges it
    (a GET never changes anything, so mail scanners that follow links do no harm)."""
    try:
        view, _actor, shelter = _from_link(session, state, token, now)
    except ApiError as exc:
        text = _LINK_REFUSALS[exc.code]
        return ack_page.refusal(request, exc.status, exc.code, exc.message, text)
    if ack_page.wants_json(request):
        return JSONResponse(alert_json(view), headers=ack_page.HEADERS)
    active = view.status == alert_store.AlertStatus.ACTIVE
    return ack_page.alert_page(
        view,
        shelter.name,
        tz=state.settings.timezone,
        action=str(request.url.path) + "?" + str(request.url.query) if active else None,
        note="" if active else "此告警无需再确认。",
    )


@_alerts.post("/alerts/ack", response_class=HTMLResponse)
def ack_link(
    request: Request,
    session: SessionDep,
    state: StateDep,
    transitions: TransitionsDep,
    now: NowDep,
    token: Token,
) -> Response:
    """No login: acknowledge as the user the link was made for (who must still be able to see
    the shelter); 409 when the alert is no longer active."""
    try:
        view, actor, shelter = _from_link(session, state, token, now)
    except ApiError as exc:
        text = _LINK_REFUSALS[exc.code]
        return ack_page.refusal(request, exc.status, exc.code, exc.message, text)
    acked = transitions.acknowledge(session, view.id, by=actor.username, at=now)
    if acked is None:
        current = alert_store.get(session, view.id)
        if ack_page.wants_json(request):
            return ack_page.refusal(
                request, 409, "alert_not_active", f"alert {view.id} is not active", ""
            )
        return ack_page.alert_page(
            current,
            shelter.name,
            tz=state.settings.timezone,
            action=None,
            note="此告警已被确认或已解除。",
            status=409,
        )
    if ack_page.wants_json(request):
        return JSONResponse(alert_json(acked), headers=ack_page.HEADERS)
    return ack_page.alert_page(
        acked, shelter.name, tz=state.settings.timezone, action=None, note="已确认，谢谢。"
    )


for _sub in (_alerts, alert_rules.router, platform.router):
    router.include_router(_sub)
