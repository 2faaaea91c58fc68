"""Access tokens (JWT, HS256) for people and API keys for the platform account."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from api.errors import ApiError

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


def read_token(token: str, *, key: str) -> int:
    """The user id in a valid, unexpired access token; else a 401 :class:`ApiError`."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise ApiError(
            401, "token_expired", "the access token has expired", headers=_CHALLENGE
        ) from exc
    except jwt.PyJWTError as exc:
        raise ApiError(
            401, "invalid_token", "the access token is not valid", headers=_CHALLENGE
        ) from exc
    if claims.get("typ") != "access":
        raise ApiError(401, "invalid_token", "the access token is not valid", headers=_CHALLENGE)
    try:
        return int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise ApiError(
            401, "invalid_token", "the access token is not valid", headers=_CHALLENGE
        ) from exc


def not_authenticated() -> ApiError:
    return ApiError(
        401,
        "not_authenticated",
        "log in (Bearer token) or send an API key (X-API-Key)",
        headers=_CHALLENGE,
    )
