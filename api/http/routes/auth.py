"""Login (the OAuth2 password flow that issues bearer tokens), logout, and password change.

Every password check goes through the login throttle (:mod:`inspection.logins`): failures are
counted per account and per client address, and a locked one is answered 429 with
``Retry-After`` before its password is looked at.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.db import unit_of_work
from api.http.auth import LoginMetrics, issue_token
from api.http.deps import (
    ActorDep,
    ClientDep,
    LoginMetricsDep,
    NowDep,
    PersonDep,
    SessionDep,
    StateDep,
)
from api.http.errors import ApiError, DocumentedRoute
from api.http.schemas import ErrorResponse, MeResponse, TokenResponse
from api.state import AppState
from inspection import logins
from inspection.errors import Forbidden, InvalidInput
from inspection.models import User
from inspection.schemas import PasswordChange
from inspection.users import authenticate, change_password, logout

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=DocumentedRoute)
me_router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=DocumentedRoute)
log = logging.getLogger("shelterwatch.auth")

_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorResponse,
        "description": "Too many failed attempts for this account or from this address "
        "(`too_many_attempts`); `Retry-After` says how many seconds to wait.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    }
}
_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorResponse,
        "description": "No valid token (`not_authenticated`, `invalid_token`, `token_expired`, "
        "`token_revoked`).",
    }
}


def _begin(
    state: AppState, metrics: LoginMetrics, username: str, client: str, now: datetime
) -> logins.Attempt:
    """Count the attempt in a transaction of its own, or refuse it (429) while locked."""
    policy = state.settings.login_policy()
    with unit_of_work(state.sessions) as session:
        logins.forget(session, now=now, policy=policy)
    with unit_of_work(state.sessions) as session:
        attempt = logins.begin(session, username, client, now=now, policy=policy)
    if attempt.retry_after:
        metrics.failures.labels("throttled").inc()
        log.warning(
            "login refused unchecked: %s locked for %ds (user=%r client=%s)",
            attempt.locked,
            attempt.retry_after,
            username,
            client,
        )
        raise ApiError(
            429,
            "too_many_attempts",
            f"too many failed attempts; try again in {attempt.retry_after} s",
            details={"retry_after": attempt.retry_after, "locked": attempt.locked},
            headers={"Retry-After": str(attempt.retry_after)},
        )
    return attempt


def _failed(metrics: LoginMetrics, attempt: logins.Attempt, username: str, client: str) -> None:
    metrics.failures.labels("bad_credentials").inc()
    log.warning(
        "login failed: wrong password or unknown user (user=%r client=%s, recent failures: "
        "account %d, client %d)",
        username,
        client,
        attempt.account_failures,
        attempt.client_failures,
    )


def _token(state: AppState, user: User, now: datetime) -> TokenResponse:
    minutes = state.settings.access_token_minutes
    token = issue_token(
        user.id, version=user.token_version, key=state.signing_key, now=now, minutes=minutes
    )
    return TokenResponse(access_token=token, expires_in=minutes * 60)


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={
        401: {"model": ErrorResponse, "description": "Wrong username or password."},
        **_THROTTLED,
    },
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    state: StateDep,
    now: NowDep,
    client: ClientDep,
    metrics: LoginMetricsDep,
) -> TokenResponse:
    """Exchange a username and password for a bearer token.

    After 5 failures for one account (20 from one address) within an hour, further attempts
    wait: 15 s, then twice as long after each further failure, at most 5 minutes for an
    account (15 for an address). While waiting the answer is 429 with `Retry-After`, and
    the password is not checked."""
    attempt = _begin(state, metrics, form.username, client, now)
    with unit_of_work(state.sessions) as session:
        user = authenticate(session, form.username, form.password)
        if user is None:
            _failed(metrics, attempt, form.username, client)
            raise ApiError(
                401,
                "bad_credentials",
                "wrong username or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        logins.succeeded(session, attempt)
        response = _token(state, user, now)
    metrics.successes.inc()
    return response


@router.post("/logout", status_code=204, responses=_UNAUTHENTICATED)
def logout_everywhere(session: SessionDep, actor: PersonDep, now: NowDep) -> Response:
    """Log out: every access token of this account stops working, on every device (the
    platform account's API key is rotated instead, `POST /api/v1/users/{username}/api-key`)."""
    logout(session, actor.id, actor=actor, now=now)
    return Response(status_code=204)


@me_router.post(
    "/me/password",
    response_model=TokenResponse,
    responses={
        **_UNAUTHENTICATED,
        403: {
            "model": ErrorResponse,
            "description": "The current password is not right (`wrong_password`), or the "
            "caller is the platform account (`role_forbidden`).",
        },
        422: {
            "model": ErrorResponse,
            "description": "The new password is refused (`weak_password`: shorter than 10 "
            "characters or easy to guess, `same_password`), or the body is not valid.",
        },
        **_THROTTLED,
    },
)
def change_my_password(
    data: PasswordChange,
    state: StateDep,
    actor: PersonDep,
    now: NowDep,
    client: ClientDep,
    metrics: LoginMetricsDep,
) -> TokenResponse:
    """Change your own password, giving the current one. Every token issued before stops
    working, on every device; the answer carries a new token for this one. Wrong current
    passwords count toward the login limits of the account."""
    attempt = _begin(state, metrics, actor.username, client, now)
    try:
        with unit_of_work(state.sessions) as session:
            user = change_password(
                session, actor.id, data.current_password, data.new_password, actor=actor, now=now
            )
            logins.succeeded(session, attempt)
            return _token(state, user, now)
    except Forbidden:
        _failed(metrics, attempt, actor.username, client)
        raise
    except InvalidInput:
        # The current password was right (it is checked first); only the new one is refused.
        with unit_of_work(state.sessions) as session:
            logins.succeeded(session, attempt)
        raise


@me_router.get("/me", response_model=MeResponse, responses=_UNAUTHENTICATED)
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
