"""User administration (city office only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from api.http.deps import AdminDep, NowDep, PageDep, SessionDep, StateDep
from api.http.errors import ApiError, DocumentedRoute
from api.http.schemas import Page
from api.notify.addresses import ForbiddenAddress
from api.notify.channels import ChannelProfile
from api.state import AppState
from inspection import audit
from inspection.schemas import (
    ApiKeyRotate,
    ApiKeyRotated,
    AuditRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from inspection.users import create_user, list_users, names_by_id, rotate_api_key, update_user

router = APIRouter(prefix="/api/v1/users", tags=["users"], route_class=DocumentedRoute)


def _check_channels(channels: dict[str, Any] | None, state: AppState) -> None:
    """Refuse a malformed profile (``invalid_channels``) and URLs reaching an internal
    address (``channel_address_forbidden``) or a name that does not resolve
    (``channel_host_unresolvable``), all 422."""
    if channels is None:
        return
    try:
        profile = ChannelProfile.model_validate(channels)
    except ValidationError as exc:
        raise ApiError(
            422,
            "invalid_channels",
            "the channel profile is not valid",
            details=exc.errors(include_url=False, include_context=False),
        ) from exc
    guard = state.settings.address_guard(state.resolver)
    for channel, url in profile.urls():
        try:
            guard.check_url(url)
        except ForbiddenAddress as exc:
            raise ApiError(
                422,
                exc.code,
                f"the {channel} URL may not be used: {exc.reason}",
                details={"channel": channel, "host": exc.host, "address": exc.address},
            ) from exc


@router.post("", response_model=UserCreated, status_code=201)
def create(
    data: UserCreate, session: SessionDep, actor: AdminDep, now: NowDep, state: StateDep
) -> UserCreated:
    """Create a user; a platform account's API key is in the response, once. ``channels``:
    ``{"email": true, "webhook": {"url", "secret"}, "wecom": {"url"}, "dingtalk": {"url",
    "secret"}}``."""
    _check_channels(data.channels, state)
    user, api_key = create_user(session, data, actor=actor, now=now)
    return UserCreated.model_validate(
        {**UserRead.model_validate(user).model_dump(), "api_key": api_key}
    )


@router.get("", response_model=Page[UserRead])
def index(session: SessionDep, _actor: AdminDep, page: PageDep) -> Page[UserRead]:
    rows, total = list_users(session, limit=page.limit, offset=page.offset)
    return Page[UserRead](
        items=[UserRead.model_validate(u) for u in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.patch("/{username}", response_model=UserRead)
def update(
    username: str,
    data: UserUpdate,
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
    state: StateDep,
) -> UserRead:
    """Change details, password, channels, or deactivate (a deactivated user cannot log in).
    A new password must pass the password policy (`weak_password`) and ends the user's
    sessions; a platform account cannot be given one (`platform_password`)."""
    _check_channels(data.channels, state)
    return UserRead.model_validate(update_user(session, username, data, actor=actor, now=now))


@router.post("/{username}/api-key", response_model=ApiKeyRotated)
def rotate_key(
    username: str,
    session: SessionDep,
    actor: AdminDep,
    now: NowDep,
    state: StateDep,
    data: ApiKeyRotate | None = None,
) -> ApiKeyRotated:
    """Give a platform account a new API key (shown once). The key it replaces keeps working
    for `grace_hours` (default `SHELTERWATCH_API_KEY_GRACE_HOURS`, 24) so the platform can
    switch without a gap; a key replaced before that stops now."""
    hours = data.grace_hours if data and data.grace_hours is not None else None
    grace = timedelta(hours=state.settings.api_key_grace_hours if hours is None else hours)
    user, key = rotate_api_key(session, username, grace=grace, actor=actor, now=now)
    return ApiKeyRotated(api_key=key, previous_key_valid_until=user.previous_api_key_expires_at)


audit_router = APIRouter(prefix="/api/v1/audit", tags=["audit"], route_class=DocumentedRoute)


@audit_router.get("", response_model=Page[AuditRead])
def audit_log(
    session: SessionDep,
    _actor: AdminDep,
    page: PageDep,
    entity: str | None = None,
    entity_id: str | None = None,
) -> Page[AuditRead]:
    """The append-only audit log, newest first (entity: shelter, inspection, finding,
    followup, user, sensor, alert)."""
    rows, total = audit.entries(
        session, entity=entity, entity_id=entity_id, limit=page.limit, offset=page.offset
    )
    names = names_by_id(session, (r.actor_id for r in rows))
    return Page[AuditRead](
        items=[
            AuditRead.model_validate(r).model_copy(
                update={
                    "actor_name": named.name if (named := names.get(r.actor_id or 0)) else r.actor
                }
            )
            for r in rows
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
