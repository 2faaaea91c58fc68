"""The login throttle on the real databases: attempts racing each other from many threads (as
from several API processes) get exactly the free failures, no more; client keys."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from api.db import session_factory, unit_of_work
from inspection import logins
from inspection.logins import LoginPolicy
from inspection.models import LoginThrottle

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def test_parallel_attempts_cannot_slip_past_the_limit(engine: Engine) -> None:
    """Twenty guesses at once, each in its own connection: five are let through to a
    password check, the other fifteen are refused unchecked."""
    policy = LoginPolicy()
    sessions = session_factory(engine)

    def attempt(n: int) -> int:
        with unit_of_work(sessions) as session:
            return logins.begin(session, "liwei", f"10.0.0.{n}", now=NOW, policy=policy).retry_after

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(attempt, range(20)))
    assert waits.count(0) == policy.account_free_failures
    assert set(waits) - {0} == {15}
    with sessions() as session:
        row = session.scalars(select(LoginThrottle).where(LoginThrottle.key == "account:liwei"))
        assert row.one().failures == policy.account_free_failures


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "client:203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "client:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "client:203.0.113.9"),
        ("testclient", "client:testclient"),
    ],
)
def test_client_keys(address: str, key: str) -> None:
    assert logins.client_key(address) == key


def test_a_long_username_counts_by_its_first_64_characters() -> None:
    assert logins.account_key("x" * 1000) == "account:" + "x" * 64


def test_forgotten_rows_are_dropped_a_batch_at_a_time(engine: Engine) -> None:
    policy = LoginPolicy()
    sessions = session_factory(engine)
    old = NOW - timedelta(seconds=policy.window_s + 1)
    with unit_of_work(sessions) as session:
        session.execute(
            insert(LoginThrottle),
            [{"key": f"account:u{n}", "failures": 3, "last_at": old} for n in range(1500)],
        )
        logins.begin(session, "fresh", "203.0.113.9", now=NOW, policy=policy)

    def left() -> int:
        with sessions() as session:
            return session.scalar(select(func.count()).select_from(LoginThrottle)) or 0

    assert left() == 1502
    with unit_of_work(sessions) as session:
        logins.forget(session, now=NOW, policy=policy)
    assert left() == 1502 - logins.PRUNE_BATCH
    with unit_of_work(sessions) as session:
        logins.forget(session, now=NOW, policy=policy)
    assert left() == 2  # the fresh account and client stay
