"""User administration (city office only)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, NowDep, PageDep, SessionDep
from api.schemas import Page
from inspection.schemas import UserCreate, UserCreated, UserRead
from inspection.users import create_user, list_users

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.post("", response_model=UserCreated, status_code=201)
def create(data: UserCreate, session: SessionDep, actor: AdminDep, now: NowDep) -> UserCreated:
    """Create a user; a platform account's API key is in the response, once."""
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
