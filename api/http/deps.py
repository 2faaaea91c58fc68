"""FastAPI dependencies: the request's database session, the clock, the current actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.db import unit_of_work
from api.http.auth import not_authenticated, read_token
from api.http.errors import ApiError
from api.state import AppState
from inspection.access import Actor
from inspection.models import Role, User
from inspection.users import by_api_key

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.sw
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(request: Request, state: StateDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler succeeds. GET requests read
    only, so on SQLite they do not take the write lock."""
    with unit_of_work(state.sessions, read_only=request.method in ("GET", "HEAD")) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_now(state: StateDep) -> datetime:
    return state.clock()


NowDep = Annotated[datetime, Depends(get_now)]


def get_actor(
    state: StateDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Actor:
    user: User | None = None
    if api_key:
        user = by_api_key(session, api_key)
        if user is None:
            raise ApiError(401, "invalid_api_key", "the API key is not valid")
    elif token:
        user = session.get(User, read_token(token, key=state.signing_key, now=state.clock()))
        if user is None or not user.active:
            raise ApiError(401, "invalid_token", "the access token is not valid")
    else:
        raise not_authenticated()
    return Actor(id=user.id, username=user.username, role=Role(user.role), district=user.district)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(*roles: Role) -> Callable[[Actor], Actor]:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def _check(actor: ActorDep) -> Actor:
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


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, description="rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]
