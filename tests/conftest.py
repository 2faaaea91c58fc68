"""Shared fixtures: databases (SQLite and the real PostgreSQL) built by the migrations, an
injectable clock, the API application and logged-in users of every role.

Database fixtures run each test on both SQLite and PostgreSQL. SQLite tests get a copy of a
migrated file; PostgreSQL tests share one migrated database per run, emptied after each test.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

import inspection.models
import telemetry.sql_models
from api.app import create_app
from api.db import READ_ONLY, alembic_config, build_engine, session_factory, upgrade
from api.http.auth import issue_token
from api.settings import Settings
from api.state import AppState
from inspection.access import SYSTEM
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import Role, User
from inspection.schemas import UserCreate
from inspection.users import create_user
from telemetry.sql_store import SqlReadingStore, SqlRejectStore

PG_ADMIN_URL = os.environ.get(
    "SHELTERWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "t" * 40
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the root handlers and every logger's level back after each test: a command run in
    a test sets logging up with a handler on the test's captured stderr, which is closed once
    the test ends, and a server thread still logging there would print "Logging error"."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    yield
    root.handlers[:] = handlers
    root.setLevel(root_level)
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


class FakeResolver:
    """Host names answered from ``names``; any other name resolves to one public address
    (``PUBLIC_ADDRESS``), so no test ever asks a real DNS server."""

    PUBLIC_ADDRESS = "93.184.215.14"

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host in self.names:
            answer = self.names[host]
            if not answer:
                raise OSError(f"{host}: name does not resolve")
            return answer
        return [self.PUBLIC_ADDRESS]


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


class FakeMonotonic:
    """A monotonic clock tests move by hand; it starts where a freshly booted machine's does."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def migrated_pg_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database named ``prefix`` and a random suffix, migrated to the head;
    its URL, and it is dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = build_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped at the end."""
    with migrated_pg_database("sw_test") as url:
        yield url


def _truncate(engine: Engine) -> None:
    names = [
        *inspection.models.Base.metadata.tables,
        *telemetry.sql_models.Base.metadata.tables,
    ]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """The URL of an empty migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "shelterwatch.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_url")
    yield url
    engine = build_engine(url)
    _truncate(engine)
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = build_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking data; the test commits what it arranges. On
    SQLite its transactions are DEFERRED, so a check left open never blocks the code under
    test from writing."""
    session = session_factory(engine.execution_options(**READ_ONLY))()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        var_dir=tmp_path / "var",
        secret_key=TEST_SECRET,
        tick_interval_seconds=0,
        _env_file=None,
    )  # type: ignore[call-arg]


@pytest.fixture
def state(settings: Settings, engine: Engine, clock: FakeClock, resolver: FakeResolver) -> AppState:
    return AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key=TEST_SECRET,
        clock=clock,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
        resolver=resolver,
    )


@pytest.fixture
def client(state: AppState) -> Iterator[TestClient]:
    with TestClient(create_app(state)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Login:
    """A user of a test; ``headers`` carry a token valid at the test clock's current time,
    issued under the user's current token version."""

    id: int
    username: str
    role: Role
    state: AppState
    api_key: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        if self.api_key is not None:
            return {"X-API-Key": self.api_key}
        with self.state.sessions() as session:
            user = session.get(User, self.id)
            version = user.token_version if user is not None else 0
        token = issue_token(
            self.id,
            version=version,
            key=self.state.signing_key,
            now=self.state.clock(),
            minutes=self.state.settings.access_token_minutes,
        )
        return {"Authorization": f"Bearer {token}"}


UserFactory = Callable[..., Login]


@pytest.fixture
def make_user(state: AppState, client: TestClient) -> UserFactory:
    """Create a user directly and log in through the API; platform users get an API key."""
    counter = iter(range(1, 10_000))

    def make(role: Role, district: str | None = None, username: str | None = None) -> Login:
        name = username or f"{role.value}{next(counter)}"
        with state.sessions() as session:
            user, api_key = create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=district,
                    password=None if role == Role.PLATFORM else PASSWORD,
                ),
                actor=SYSTEM,
                now=state.clock(),
            )
            session.commit()
            user_id = user.id
        if api_key is None:
            response = client.post(
                "/api/v1/auth/token", data={"username": name, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
        return Login(user_id, name, role, state, api_key)

    return make


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Move ``engine``'s database up (or ``down``) to ``revision`` with Alembic."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)


@contextmanager
def at_revision(engine: Engine, revision: str) -> Iterator[Engine]:
    """The database moved down to ``revision`` for the block, and back to head after it."""
    migrate(engine, revision, down=True)
    try:
        yield engine
    finally:
        migrate(engine, "head")
