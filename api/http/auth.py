"""Access tokens (JWT, HS256) for people and API keys for the platform account."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from api.http.errors import ApiError

ALGORITHM = "HS256"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def issue_token(user_id: int, *, key: str, now: datetime, minutes: int) -> str:
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str, *, key: str, now: datetime) -> int:
    """The user id in a valid access token unexpired at ``now``; else a 401 :class:`ApiError`.

    Expiry is checked against the injected clock, not the library's wall clock."""
    invalid = ApiError(401, "invalid_token", "the access token is not valid", headers=_CHALLENGE)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if claims.get("typ") != "access":
        raise invalid
    try:
        expires = int(claims["exp"])
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise invalid from exc
    if now.timestamp() >= expires:
        raise ApiError(401, "token_expired", "the access token has expired", headers=_CHALLENGE)
    return user_id


def not_authenticated() -> ApiError:
    return ApiError(
        401,
        "not_authenticated",
        "log in (Bearer token) or send an API key (X-API-Key)",
        headers=_CHALLENGE,
    )
