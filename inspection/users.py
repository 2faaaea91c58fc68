"""User accounts: creation, password and API-key checks.

Passwords are hashed with Argon2 (pwdlib); platform accounts get an API key shown once
and kept only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import Actor
from inspection.errors import Conflict, InvalidInput, NotFound
from inspection.models import Role, User
from inspection.schemas import UserCreate, UserUpdate

API_KEY_PREFIX = "swk_"


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_user(
    session: Session, data: UserCreate, *, actor: Actor, now: datetime
) -> tuple[User, str | None]:
    """Create a user; returns it and, for a platform account, its new API key."""
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(f"user {data.username!r} exists", code="user_exists")
    if data.role in (Role.DISTRICT_OFFICER,) and not data.district:
        raise InvalidInput("a district officer needs a district", code="district_required")
    api_key: str | None = None
    if data.role == Role.PLATFORM:
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    elif not data.password:
        raise InvalidInput("a password of at least 10 characters is required")
    user = User(
        username=data.username,
        display_name=data.display_name,
        phone=data.phone,
        email=str(data.email) if data.email else None,
        role=data.role.value,
        district=data.district,
        password_hash=hash_password(data.password) if data.password else None,
        api_key_hash=hash_api_key(api_key) if api_key else None,
        channels=data.channels,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, at=now, after=audit.snapshot(user))
    return user, api_key


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (timing kept similar)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or user.password_hash is None:
        _hasher().hash(password)  # spend the same time as a real check
        return None
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
    return user


def by_api_key(session: Session, key: str) -> User | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    return session.scalar(
        select(User).where(User.api_key_hash == hash_api_key(key), User.active.is_(True))
    )


def list_users(session: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(rows), total


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def update_user(
    session: Session, username: str, data: UserUpdate, *, actor: Actor, now: datetime
) -> User:
    """Change a user's details, password, channels or active flag (audited)."""
    user = by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", code="user_not_found")
    before = audit.snapshot(user)
    changes = data.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if password is not None:
        user.password_hash = hash_password(password)
    for key, value in changes.items():
        if value is None and key in ("active", "channels"):
            raise InvalidInput(f"{key} cannot be null", code="null_field")
        setattr(user, key, str(value) if key == "email" and value is not None else value)
    session.flush()
    after = audit.snapshot(user)
    if password is not None:
        after["password_changed"] = True
    audit.record(session, actor, "user.update", "user", user.id, at=now, before=before, after=after)
    return user
