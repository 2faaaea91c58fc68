"""Sessions and the pool on PostgreSQL: a read-only unit of work runs outside a transaction,
and a pooled connection is tested before use only once it has been idle."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from api.db import IDLE_BEFORE_PING_S, build_engine, session_factory, unit_of_work
from tests.conftest import FakeMonotonic

pytestmark = pytest.mark.postgres


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic(3.0)


@pytest.fixture
def pg_engine(pg_url: str, monotonic: FakeMonotonic) -> Iterator[Engine]:
    engine = build_engine(pg_url, monotonic=monotonic, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _status(session_conn: object) -> psycopg.pq.TransactionStatus:
    dbapi = session_conn.connection.dbapi_connection  # type: ignore[attr-defined]
    return dbapi.info.transaction_status  # type: ignore[no-any-return]


def test_a_read_only_unit_of_work_opens_no_transaction(pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    with unit_of_work(sessions, read_only=True) as session:
        session.execute(text("SELECT 1"))
        assert _status(session.connection()) == psycopg.pq.TransactionStatus.IDLE
    with unit_of_work(sessions) as session:
        session.execute(text("SELECT 1"))
        assert _status(session.connection()) == psycopg.pq.TransactionStatus.INTRANS
    # the connection goes back to the pool in transactions again
    with pg_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert conn.connection.dbapi_connection.info.transaction_status == (  # type: ignore[union-attr]
            psycopg.pq.TransactionStatus.INTRANS
        )


def _kill_pooled_connection(engine: Engine) -> None:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_an_idle_connection_is_tested_and_replaced_before_use(
    pg_engine: Engine, monotonic: FakeMonotonic
) -> None:
    _kill_pooled_connection(pg_engine)
    monotonic.advance(IDLE_BEFORE_PING_S + 0.5)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar_one() == 2


def test_a_connection_in_steady_use_is_not_tested_and_its_death_fails_one_statement(
    pg_engine: Engine, monotonic: FakeMonotonic
) -> None:
    _kill_pooled_connection(pg_engine)
    monotonic.advance(IDLE_BEFORE_PING_S / 2)
    with pytest.raises(OperationalError), pg_engine.connect() as conn:
        conn.execute(text("SELECT 2"))
    # the pool replaced the dead connection: the next checkout works
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 3")).scalar_one() == 3
