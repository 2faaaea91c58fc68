"""Signed, expiring acknowledgement links: a manager acknowledges an alert from a phone
without logging in.

Token: ``{alert_id}.{user_id}.{expiry}.{signature}`` where ``expiry`` is unix seconds and
``signature`` is base64url (unpadded) HMAC-SHA256 under the process signing key of
``"shelterwatch-ack-v1:{alert_id}.{user_id}.{expiry}"``. The prefix separates these MACs
from anything else the same key signs. The link is ``GET {base}/api/v1/alerts/ack?token=…``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode

_DOMAIN = b"shelterwatch-ack-v1:"
_TOKEN = re.compile(r"^([1-9][0-9]{0,18})\.([1-9][0-9]{0,18})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")

Reason = Literal["malformed", "bad_signature", "expired"]


class InvalidAckToken(Exception):
    """An acknowledgement token that cannot be used; ``reason`` says why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message


def _mac(key: str, claims: str) -> str:
    digest = hmac.new(key.encode(), _DOMAIN + claims.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_ack_token(alert_id: int, user_id: int, *, key: str, now: datetime, hours: int) -> str:
    """A token that lets ``user_id`` acknowledge ``alert_id`` until ``now + hours``."""
    if alert_id <= 0 or user_id <= 0:
        raise ValueError("alert and user ids are positive")
    if now.tzinfo is None:
        raise ValueError("naive datetime refused: pass a tz-aware time")
    expiry = int((now + timedelta(hours=hours)).timestamp())
    claims = f"{alert_id}.{user_id}.{expiry}"
    return f"{claims}.{_mac(key, claims)}"


def read_ack_token(token: str, *, key: str, now: datetime) -> tuple[int, int]:
    """``(alert_id, user_id)`` of a token signed with ``key`` and unexpired at ``now``;
    raises :class:`InvalidAckToken` (malformed, bad_signature or expired)."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise InvalidAckToken("malformed", "the acknowledgement link is malformed")
    alert, user, expiry, signature = match.groups()
    if not hmac.compare_digest(_mac(key, f"{alert}.{user}.{expiry}"), signature):
        raise InvalidAckToken("bad_signature", "the acknowledgement link is not valid")
    if now.timestamp() >= int(expiry):
        raise InvalidAckToken("expired", "the acknowledgement link has expired")
    return int(alert), int(user)


def ack_url(base_url: str, token: str) -> str:
    """The link that acknowledges with ``token``."""
    return f"{base_url.rstrip('/')}/api/v1/alerts/ack?{urlencode({'token': token})}"


@dataclass(frozen=True, slots=True)
class AckLinks:
    """Makes acknowledgement links for the outbox worker from the process settings."""

    base_url: str
    key: str
    hours: int

    def url(self, alert_id: int, user_id: int, *, issued_at: datetime) -> str:
        """A link valid ``hours`` from ``issued_at``; the same inputs give the same link."""
        token = make_ack_token(alert_id, user_id, key=self.key, now=issued_at, hours=self.hours)
        return ack_url(self.base_url, token)
