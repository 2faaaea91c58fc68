"""Database engines and sessions, and migrations applied through Alembic.

Engines are built by the entry point and disposed at shutdown. Services flush, never
commit: the unit of work (a request, a tick, a CLI command) owns commit and rollback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
READ_ONLY = {"sqlite_begin": "DEFERRED"}
"""Execution options for a read-only unit of work on SQLite: a deferred transaction, which in
WAL mode never waits for a writer and reads one snapshot throughout."""
READ_ONLY_SERVER = {"isolation_level": "AUTOCOMMIT"}
"""Execution options for a read-only unit of work on PostgreSQL: no transaction. At its
default isolation (READ COMMITTED) each statement reads its own snapshot inside a transaction
too, so reading outside one sees the same, without the round trips of BEGIN and COMMIT."""
IDLE_BEFORE_PING_S = 1.0
"""A pooled connection idle longer than this is tested before use (a connection in steady
use is not: it has just answered)."""


SQLITE_FILE_MODE = 0o600
"""The records hold password hashes and personal data: owner only. SQLite gives its -wal and
-shm files the mode of the database file."""


def _private_sqlite_file(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (SQLite would create it
    0644 under the usual umask), and narrow an existing one and its -wal/-shm."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, SQLITE_FILE_MODE))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists() and each.stat().st_mode & 0o777 != SQLITE_FILE_MODE:
            each.chmod(SQLITE_FILE_MODE)


def build_engine(
    url: str, *, monotonic: Callable[[], float] = time.monotonic, **kwargs: Any
) -> Engine:
    """An engine tuned per dialect: SQLite gets WAL, foreign keys and a busy timeout; a
    server's pool tests connections that have been idle (``monotonic`` is the clock it
    measures idleness with)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(Path(parsed.database))
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINTs; SQLAlchemy emits BEGIN.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # IMMEDIATE: writers queue on the busy timeout instead of failing when a read
            # transaction upgrades. Read-only work asks for DEFERRED (see READ_ONLY), which
            # in WAL mode never waits for a writer.
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    engine = create_engine(url, **{"pool_size": 10, "max_overflow": 20, **kwargs})
    _ping_when_idle(engine, monotonic)
    return engine


def _ping_when_idle(engine: Engine, monotonic: Callable[[], float]) -> None:
    """Test a pooled connection before use when it has been idle for more than
    :data:`IDLE_BEFORE_PING_S`; a dead one is replaced (the pool retries the checkout with a
    new connection). SQLAlchemy's ``pool_pre_ping`` tests every checkout, a round trip per
    request that a busy server does not need. A connection that dies while in steady use
    fails its statement instead; SQLAlchemy then replaces every connection of the pool made
    before, and the request answers ``503 database_unavailable``."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _test_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is not None and monotonic() - returned_at <= IDLE_BEFORE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    if read_only:
        sqlite = session.get_bind().dialect.name == "sqlite"
        session.connection(execution_options=READ_ONLY if sqlite else READ_ONLY_SERVER)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # only processes that migrate load alembic

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration to head on this engine's database."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
