"""User accounts: creation, passwords and their policy, API keys, token revocation.

Passwords are hashed with Argon2 (pwdlib) and must be at least 10 characters and not easily
guessed, as judged by zxcvbn (common passwords, keyboard patterns, repeats, dates, and the
account's own name or email). Platform accounts have no password: they get an API key shown
once and kept only as its SHA-256; a rotated key stays valid for a grace period beside the
new one. Access tokens carry the account's ``token_version``; raising it (password change,
logout) revokes every token issued before.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from inspection import audit
from inspection.access import Actor
from inspection.contacts import person_label
from inspection.errors import Conflict, Forbidden, InvalidInput, NotFound
from inspection.models import Role, Shelter, User
from inspection.schemas import MIN_PASSWORD_LENGTH, UserCreate, UserUpdate

API_KEY_PREFIX = "swk_"


class Named(NamedTuple):
    """A user as records name them: the login name, and the real name shown on screens and
    in messages (the login name when the account has none)."""

    username: str
    name: str


MIN_PASSWORD_SCORE = 3
"""zxcvbn's scale: 3 is "safely unguessable", about 10^8 guesses or more."""
_ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the rest can only add strength


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_password(password: str, *, user_inputs: Iterable[str | None] = ()) -> None:
    """Refuse a password shorter than 10 characters or easy to guess (``weak_password``);
    ``user_inputs`` are the account's own words (username, name, email), which count as
    guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )
    from zxcvbn import zxcvbn  # its dictionaries load on first use, not in every process

    words = [w for w in user_inputs if w]
    if any(password.casefold() == w.casefold() for w in words):
        raise InvalidInput("the password must not be the account's name", code="weak_password")
    result = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=words)
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        warning = feedback["warning"] or "it is too easy to guess"
        raise InvalidInput(
            f"the password is too weak: {warning}",
            code="weak_password",
            details={"warning": feedback["warning"], "suggestions": feedback["suggestions"]},
        )


def _own_words(user: User | UserCreate) -> list[str | None]:
    email = str(user.email) if user.email else None
    return [user.username, user.display_name, email, email.split("@")[0] if email else None]


def create_user(
    session: Session, data: UserCreate, *, actor: Actor, now: datetime
) -> tuple[User, str | None]:
    """Create a user; returns it and, for a platform account, its new API key.

    With ``data.shelter`` the office gives that shelter's 工程长 an account: a manager
    account, linked as the shelter's manager (audited as ``shelter.update``), its empty name
    and phone taken from the shelter's contact fields."""
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Conflict(f"user {data.username!r} exists", code="user_exists")
    shelter = _shelter_to_manage(session, data)
    if shelter is not None:
        data = data.model_copy(
            update={
                "display_name": data.display_name or shelter.manager_contact_name,
                "phone": data.phone or shelter.manager_contact_phone or None,
            }
        )
    if data.role in (Role.DISTRICT_OFFICER,) and not data.district:
        raise InvalidInput("a district officer needs a district", code="district_required")
    api_key: str | None = None
    if data.role == Role.PLATFORM:
        if data.password is not None:
            raise InvalidInput(
                "a platform account signs in with its API key, never a password",
                code="platform_password",
            )
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    elif not data.password:
        raise InvalidInput(
            f"a password of at least {MIN_PASSWORD_LENGTH} characters is required",
            code="password_required",
        )
    else:
        check_password(data.password, user_inputs=_own_words(data))
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
    if shelter is not None:
        before = audit.snapshot(shelter)
        shelter.manager_id = user.id
        shelter.updated_at = now
        session.flush()
        after = audit.snapshot(shelter)
        audit.record(
            session,
            actor,
            "shelter.update",
            "shelter",
            shelter.code,
            at=now,
            before=before,
            after=after,
        )
    return user, api_key


def _shelter_to_manage(session: Session, data: UserCreate) -> Shelter | None:
    """The shelter a new account is to manage, or None when it names none."""
    if data.shelter is None:
        return None
    if data.role != Role.MANAGER:
        raise InvalidInput(
            "only a manager account can be given for a shelter", code="shelter_needs_manager"
        )
    shelter = session.scalar(select(Shelter).where(Shelter.code == data.shelter))
    if shelter is None:
        raise NotFound(f"no shelter {data.shelter!r}", code="shelter_not_found")
    return shelter


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (timing kept similar)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not _verify(user, password):
        return None
    return user


def _verify(user: User, password: str) -> bool:
    """Whether ``password`` is the user's; rehashes it when the hasher's parameters moved."""
    if user.password_hash is None:
        _hasher().hash(password)  # spend the same time as a real check
        return False
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if valid and new_hash is not None:
        user.password_hash = new_hash
    return valid


def revoke_tokens(user: User) -> None:
    """Every access token issued to ``user`` so far stops working."""
    user.token_version += 1


def _set_password(user: User, password: str) -> None:
    if user.role == Role.PLATFORM:
        raise InvalidInput(
            "a platform account signs in with its API key, never a password",
            code="platform_password",
        )
    check_password(password, user_inputs=_own_words(user))
    user.password_hash = hash_password(password)
    revoke_tokens(user)


def change_password(
    session: Session, user_id: int, current: str, new: str, *, actor: Actor, now: datetime
) -> User:
    """A person changes their own password, proving the current one (``wrong_password``);
    every token issued before stops working."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("no such user", code="user_not_found")
    if not _verify(user, current):
        raise Forbidden("the current password is not right", code="wrong_password")
    if secrets.compare_digest(current.encode(), new.encode()):
        raise InvalidInput(
            "the new password must differ from the current one", code="same_password"
        )
    _set_password(user, new)
    session.flush()
    audit.record(
        session,
        actor,
        "user.password_change",
        "user",
        user.id,
        at=now,
        after={"token_version": user.token_version},
    )
    return user


def logout(session: Session, user_id: int, *, actor: Actor, now: datetime) -> None:
    """End every session of the account: its tokens issued so far stop working."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user", code="user_not_found")
    revoke_tokens(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.logout",
        "user",
        user.id,
        at=now,
        after={"token_version": user.token_version},
    )


def by_api_key(session: Session, key: str, *, now: datetime) -> User | None:
    """The active platform account whose current key this is, or whose previous key this is
    while its grace period after a rotation lasts."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    digest = hash_api_key(key)
    current = User.api_key_hash == digest
    previous = (User.previous_api_key_hash == digest) & (User.previous_api_key_expires_at > now)
    return session.scalar(select(User).where(or_(current, previous), User.active.is_(True)))


def rotate_api_key(
    session: Session, username: str, *, grace: timedelta, actor: Actor, now: datetime
) -> tuple[User, str]:
    """A new API key for a platform account; the key it replaces keeps working for ``grace``
    (zero: stops at once, e.g. when it leaked). A key replaced earlier stops now."""
    user = by_username(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", code="user_not_found")
    if user.role != Role.PLATFORM:
        raise InvalidInput("only platform accounts have API keys", code="not_platform")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    keep_old = grace > timedelta(0) and user.api_key_hash is not None
    user.previous_api_key_hash = user.api_key_hash if keep_old else None
    user.previous_api_key_expires_at = now + grace if keep_old else None
    user.api_key_hash = hash_api_key(key)
    session.flush()
    audit.record(
        session,
        actor,
        "user.rotate_api_key",
        "user",
        user.id,
        at=now,
        after={"previous_key_valid_until": audit.snapshot(user)["previous_api_key_expires_at"]},
    )
    return user, key


def list_users(session: Session, *, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    rows = session.scalars(select(User).order_by(User.id).limit(limit).offset(offset)).all()
    return list(rows), total


def names_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Named]:
    """The username and the name shown (:func:`inspection.contacts.person_label`) of each
    user of ``ids``, in one query; unknown ids are left out."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    users = session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: Named(u.username, person_label(u) or u.username) for u in users}


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
    for key, value in changes.items():
        if value is None and key in ("active", "channels"):
            raise InvalidInput(f"{key} cannot be null", code="null_field")
        setattr(user, key, str(value) if key == "email" and value is not None else value)
    if password is not None:
        _set_password(user, password)  # judged against the new name and email
    session.flush()
    after = audit.snapshot(user)
    if password is not None:
        after["password_changed"] = True
    audit.record(session, actor, "user.update", "user", user.id, at=now, before=before, after=after)
    return user
