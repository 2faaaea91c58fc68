"""Login throttling: failed password checks counted per account and per client address, with
delays that double after a few free failures.

The approach of OWASP's authentication cheat sheet: an account's lock is short (capped at a
few minutes), so an attacker cannot keep its owner out for long, yet guessing one password
slows to a handful of tries an hour; a client address may fail more often (an office behind
one address) but is locked longer, which slows a spray across many accounts. An IPv6 client
counts by its /64 network, which one subscriber usually holds whole.

Counts live in the ``login_throttle`` table, so every API process and a restart see the same
numbers. An attempt is counted *before* the password is checked, in a transaction of its own
that locks the two rows: parallel requests cannot all slip past the limit while their hashes
are being computed. :func:`succeeded` takes the count back when the password was right.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from inspection.models import LoginThrottle

_ACCOUNT = "account:"
_CLIENT = "client:"
_KEY_TEXT = 64
PRUNE_BATCH = 1000
"""Forgotten rows deleted per attempt at most, so that one login never pays for an attack's
worth of them (each attempt adds at most two)."""


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures are free and how long the locks after them last."""

    account_free_failures: int = 5
    client_free_failures: int = 20
    base_lock_s: int = 15
    """The first lock; each further failure doubles it up to the caps below."""
    account_max_lock_s: int = 300
    client_max_lock_s: int = 900
    window_s: int = 3600
    """Failures older than this (since the last one) are forgotten."""

    def __post_init__(self) -> None:
        if min(self.account_free_failures, self.client_free_failures, self.base_lock_s) < 1:
            raise ValueError("free failures and the first lock must be at least 1")
        if self.window_s < max(self.account_max_lock_s, self.client_max_lock_s):
            raise ValueError("the window must outlast the longest lock")

    def lock_s(self, failures: int, *, free: int, cap: int) -> int:
        """Seconds locked after ``failures`` recent failures: none while ``failures < free``,
        then ``base_lock_s`` doubled per further failure, at most ``cap``."""
        if failures < free:
            return 0
        doublings = min(failures - free, 32)
        return int(min(cap, self.base_lock_s * 2**doublings))


@dataclass(frozen=True)
class Attempt:
    """The verdict on one login attempt. ``retry_after`` > 0: refused without checking the
    password (``locked`` says whether the ``account`` or the ``client`` is); else the attempt
    is counted as a failure until :func:`succeeded` takes it back."""

    account_key: str
    client_key: str
    retry_after: int
    locked: str | None
    account_failures: int
    client_failures: int


def account_key(username: str) -> str:
    """Unknown usernames are counted like real ones, so the answers never tell them apart;
    a username longer than any real one counts with its first 64 characters."""
    return _ACCOUNT + username[:_KEY_TEXT]


def client_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return _CLIENT + address[:_KEY_TEXT]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return _CLIENT + str(ipaddress.IPv6Network((ip, 64), strict=False))
    return _CLIENT + str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


def _rows(session: Session, keys: list[str], now: datetime) -> dict[str, LoginThrottle]:
    """The rows of ``keys``, created when missing and locked for this transaction (in key
    order, so two transactions never wait on each other crosswise)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(LoginThrottle)
        .values([{"key": k, "failures": 0, "last_at": now} for k in keys])
        .on_conflict_do_nothing(index_elements=["key"])
    )
    query = select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)
    rows = session.scalars(query.with_for_update().execution_options(populate_existing=True))
    return {row.key: row for row in rows}


def forget(session: Session, *, now: datetime, policy: LoginPolicy) -> None:
    """Drop up to :data:`PRUNE_BATCH` rows whose failures are forgotten by now. Run it in a
    transaction of its own before :func:`begin`: it skips rows other transactions hold and
    so never waits, while :func:`begin` locks only its own two rows, in key order; no two
    attempts can then deadlock."""
    stale = (
        select(LoginThrottle.key)
        .where(LoginThrottle.last_at < now - timedelta(seconds=policy.window_s))
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(stale)))


def begin(
    session: Session, username: str, client: str, *, now: datetime, policy: LoginPolicy
) -> Attempt:
    """Judge an attempt to log in as ``username`` from ``client`` and, unless refused, count it
    as a failure. Run it in a transaction of its own, committed before the password check, so
    that the count stays when the check fails."""
    window = timedelta(seconds=policy.window_s)
    account, client_k = account_key(username), client_key(client)
    rows = _rows(session, sorted({account, client_k}), now)
    waits = {
        key: math.ceil((row.locked_until - now).total_seconds())
        for key, row in rows.items()
        if row.locked_until is not None and row.locked_until > now
    }
    if waits:
        locked = max(waits, key=lambda k: waits[k])
        return Attempt(
            account,
            client_k,
            waits[locked],
            "account" if locked == account else "client",
            rows[account].failures,
            rows[client_k].failures,
        )
    for key, row in rows.items():
        if row.last_at < now - window:
            row.failures = 0
        row.failures += 1
        row.last_at = now
        _relock(row, account=key == account, policy=policy)
    session.flush()
    return Attempt(account, client_k, 0, None, rows[account].failures, rows[client_k].failures)


def _relock(row: LoginThrottle, *, account: bool, policy: LoginPolicy) -> None:
    """Set the row's lock from its failures, counted from its last failure."""
    if account:
        free, cap = policy.account_free_failures, policy.account_max_lock_s
    else:
        free, cap = policy.client_free_failures, policy.client_max_lock_s
    seconds = policy.lock_s(row.failures, free=free, cap=cap)
    row.locked_until = row.last_at + timedelta(seconds=seconds) if seconds else None


def succeeded(session: Session, attempt: Attempt) -> None:
    """The password was right: the account starts afresh, and the client's count loses the
    attempt :func:`begin` added (a client's successes never wipe its other failures)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == attempt.account_key))
    row = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.key == attempt.client_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is not None:
        # As before the attempt: :func:`begin` let it through, so no lock was in force.
        row.failures = max(0, row.failures - 1)
        row.locked_until = None
    session.flush()
