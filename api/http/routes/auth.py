"""Login: the OAuth2 password flow that issues bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.http.auth import issue_token
from api.http.deps import ActorDep, NowDep, SessionDep, StateDep
from api.http.errors import ApiError
from api.http.schemas import MeResponse, TokenResponse
from inspection.models import User
from inspection.users import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/token", response_model=TokenResponse)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    state: StateDep,
    now: NowDep,
) -> TokenResponse:
    """Exchange a username and password for a bearer token."""
    user = authenticate(session, form.username, form.password)
    if user is None:
        raise ApiError(
            401,
            "bad_credentials",
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    minutes = state.settings.access_token_minutes
    return TokenResponse(
        access_token=issue_token(user.id, key=state.signing_key, now=now, minutes=minutes),
        expires_in=minutes * 60,
    )


@me_router.get("/me", response_model=MeResponse)
def me(session: SessionDep, actor: ActorDep, state: StateDep) -> MeResponse:
    """Who the credentials belong to: name, role and district, with the city's time zone
    (the web app shows dates in it and chooses its screens by the role)."""
    user = session.get(User, actor.id)
    return MeResponse(
        username=actor.username,
        display_name=(user.display_name if user else "") or actor.username,
        role=actor.role,
        district=actor.district,
        timezone=state.settings.timezone,
    )
