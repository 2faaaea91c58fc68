"""FastAPI dependencies: the request's database session, the clock, the current actor, the
follow-up of a path in the caller's scope.

Those that only read what the app holds are ``async``: FastAPI runs a plain ``def``
dependency in its thread pool, and each such hop cost more than the work itself (a ``304``
went through seven). Those that query the database stay plain functions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.alerting.sink import transitions_for
from api.db import unit_of_work
from api.http.auth import LoginMetrics, not_authenticated, read_token, token_revoked
from api.http.errors import ApiError
from api.http.view_version import Bodies
from api.state import AppState
from inspection import followups
from inspection.access import Actor
from inspection.models import Followup, Role, Shelter, User
from inspection.schemas import MAX_DB_INT, FollowupRead, RowId
from inspection.users import by_api_key
from telemetry.alert_transitions import AlertTransitions

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.sw
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_bodies(request: Request) -> Bodies:
    bodies: Bodies = request.app.state.bodies
    return bodies


BodiesDep = Annotated[Bodies, Depends(get_bodies)]
"""The bodies of pages kept by version in this process (:class:`api.http.view_version.Bodies`)."""


async def get_transitions(state: StateDep) -> AlertTransitions:
    return transitions_for(state)


TransitionsDep = Annotated[AlertTransitions, Depends(get_transitions)]
"""Where a route acknowledges or resolves an alert: written and announced in one place."""


async def get_session(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the handler succeeds, rolled back when it
    fails. GET and HEAD read only: on SQLite in a deferred transaction, which does not take
    the write lock; on PostgreSQL outside a transaction.

    Only what talks to the database goes to the thread pool. Opening a session does no I/O (it
    connects at its first statement, in the handler's thread), nor does closing one whose
    transaction has ended, nor ending a read (nothing to send on PostgreSQL; on SQLite,
    releasing a read snapshot of a local file). So a read costs no thread hop of its own,
    and a write one, for its commit or rollback."""
    read_only = request.method in ("GET", "HEAD")
    session = state.sessions(bind=state.read_engine) if read_only else state.sessions()
    try:
        yield session
        if read_only:
            session.commit()
        else:
            await run_in_threadpool(session.commit)
    except BaseException:
        if read_only:
            session.rollback()
        else:
            await run_in_threadpool(session.rollback)
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""Committed when the handler returns and before the answer leaves (``scope="function"``):
with FastAPI's default the commit ran after the response was sent, so a write could be
answered 201 and then fail to commit, and a read right after it could miss it."""


async def get_now(state: StateDep) -> datetime:
    return state.clock()


NowDep = Annotated[datetime, Depends(get_now)]


async def client_address(request: Request) -> str:
    """The caller's address, as the server saw it (behind a proxy, uvicorn takes it from
    ``X-Forwarded-For`` when the proxy is in ``--forwarded-allow-ips``)."""
    return request.client.host if request.client is not None else "unknown"


ClientDep = Annotated[str, Depends(client_address)]


async def get_login_metrics(request: Request) -> LoginMetrics:
    metrics: LoginMetrics = request.app.state.login_metrics
    return metrics


LoginMetricsDep = Annotated[LoginMetrics, Depends(get_login_metrics)]


def get_actor(
    request: Request,
    state: StateDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Actor:
    """The caller. A read (GET, HEAD) finds it in the request's own read-only transaction;
    a write reads it in a short read-only transaction of its own, so that the request's
    session takes SQLite's write lock only when the handler writes, and a handler may first
    commit something on its own (a counted login attempt) without waiting on itself."""
    if request.method in ("GET", "HEAD"):
        return _actor(state, session, token, api_key)
    with unit_of_work(state.sessions, read_only=True) as own:
        return _actor(state, own, token, api_key)


def _actor(state: AppState, session: Session, token: str | None, api_key: str | None) -> Actor:
    user: User | None = None
    if api_key:
        user = by_api_key(session, api_key, now=state.clock())
        if user is None:
            raise ApiError(401, "invalid_api_key", "the API key is not valid")
    elif token:
        claims = read_token(token, key=state.signing_key, now=state.clock())
        user = session.get(User, claims.user_id)
        if user is None or not user.active:
            raise ApiError(401, "invalid_token", "the access token is not valid")
        if user.token_version != claims.version:
            raise token_revoked()
    else:
        raise not_authenticated()
    return Actor(id=user.id, username=user.username, role=Role(user.role), district=user.district)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    async def _check(actor: ActorDep) -> Actor:
        if actor.role not in roles:
            raise ApiError(403, "role_forbidden", f"role {actor.role.value} may not do this")
        return actor

    return _check


PEOPLE = (Role.ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR, Role.MANAGER)
AdminDep = Annotated[Actor, Depends(require(Role.ADMIN))]
PersonDep = Annotated[Actor, Depends(require(*PEOPLE))]
OfficerDep = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER))]


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class ScopedFollowup:
    """A follow-up the caller may see, with its shelter."""

    followup: Followup
    shelter: Shelter

    def read(self, session: Session, *, now: datetime) -> FollowupRead:
        """Its read view as the follow-up routes answer (after a write: as it is now)."""
        return followups.reads(session, [(self.followup, self.shelter)], now=now)[0]


def followup_in_scope(session: Session, followup_id: int, actor: Actor) -> ScopedFollowup:
    """The follow-up ``followup_id`` if ``actor`` may see its shelter, else ``404
    followup_not_found`` (out of scope looks the same as missing)."""
    followup, shelter = followups.get_followup(session, followup_id, actor=actor)
    return ScopedFollowup(followup, shelter)


def get_followup(followup_id: RowId, session: SessionDep, actor: ActorDep) -> ScopedFollowup:
    return followup_in_scope(session, followup_id, actor)


FollowupDep = Annotated[ScopedFollowup, Depends(get_followup)]
"""The path's ``followup_id`` in the caller's scope, or 404. Declare the route's role check
before it, so a role that may not act is told 403 before anything is looked up."""
