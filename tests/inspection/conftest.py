"""Fixtures of the inspection tests: real databases built by the real migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.db import build_engine, session_factory, upgrade


@contextmanager
def _migrated_session(path: Path) -> Iterator[Session]:
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    db = session_factory(engine)()
    try:
        yield db
    finally:
        db.rollback()
        db.close()
        engine.dispose()


@pytest.fixture
def session(db: Session) -> Session:
    """A session on an empty migrated database (SQLite and PostgreSQL in turn)."""
    return db


@pytest.fixture
def second_session(tmp_path: Path) -> Iterator[Session]:
    """A session on another, independent database (e.g. to re-import an export)."""
    with _migrated_session(tmp_path / "second.db") as db:
        yield db
