"""Access tokens (JWT, HS256) for people, and the counters of login attempts.

A token names its user and the user's ``token_version`` when it was issued; a password change
or a logout raises the version, so every earlier token is refused from then on. The platform
account sends an API key instead (``inspection.users.by_api_key``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from prometheus_client import CollectorRegistry, Counter

from api.http.errors import ApiError

ALGORITHM = "HS256"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    version: int


def issue_token(user_id: int, *, version: int, key: str, now: datetime, minutes: int) -> str:
    claims = {
        "sub": str(user_id),
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_token(token: str, *, key: str, now: datetime) -> TokenClaims:
    """The claims of a valid access token unexpired at ``now``; else a 401 :class:`ApiError`.

    Expiry is checked against the injected clock, not the library's wall clock. Whether the
    token was revoked since is the caller's check (the user's current version)."""
    invalid = ApiError(401, "invalid_token", "the access token is not valid", headers=_CHALLENGE)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "ver"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if claims.get("typ") != "access":
        raise invalid
    try:
        expires = int(claims["exp"])
        user_id = int(claims["sub"])
        version = claims["ver"]
    except (TypeError, ValueError) as exc:
        raise invalid from exc
    if not isinstance(version, int) or isinstance(version, bool):
        raise invalid
    if now.timestamp() >= expires:
        raise ApiError(401, "token_expired", "the access token has expired", headers=_CHALLENGE)
    return TokenClaims(user_id, version)


def token_revoked() -> ApiError:
    return ApiError(
        401,
        "token_revoked",
        "the access token was revoked (password change or logout): log in again",
        headers=_CHALLENGE,
    )


class LoginMetrics:
    """Counters of password checks, exported on ``/metrics``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter(
            "shelterwatch_login_failures",
            "refused logins and password confirmations, by reason "
            "(bad_credentials: wrong password or unknown user; throttled: refused unchecked "
            "while the account or client address is locked)",
            ["reason"],
            registry=registry,
        )
        self.successes = Counter(
            "shelterwatch_login_successes", "logins with the right password", registry=registry
        )
        for reason in ("bad_credentials", "throttled"):
            self.failures.labels(reason)


def not_authenticated() -> ApiError:
    return ApiError(
        401,
        "not_authenticated",
        "log in (Bearer token) or send an API key (X-API-Key)",
        headers=_CHALLENGE,
    )
