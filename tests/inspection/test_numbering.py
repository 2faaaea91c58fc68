"""Document numbers: a sequence per kind and year, in the city's year, without gaps, also
when issuers run at once and some roll back (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.db import alembic_config, build_engine, session_factory, upgrade
from inspection.models import DocumentSequence, FollowupKind
from inspection.numbering import allocate, next_number

TZ = "Asia/Shanghai"
MAY = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)


def test_each_kind_has_its_own_sequence_per_year(session: Session) -> None:
    numbers = [
        next_number(session, FollowupKind.NOTICE, MAY, tz=TZ),
        next_number(session, FollowupKind.NOTICE, MAY, tz=TZ),
        next_number(session, FollowupKind.LEDGER, MAY, tz=TZ),
        next_number(session, FollowupKind.KEY_SUPERVISION, MAY, tz=TZ),
        next_number(session, FollowupKind.REFERRAL, MAY, tz=TZ),
        next_number(session, FollowupKind.NOTICE, MAY, tz=TZ),
        next_number(session, FollowupKind.NOTICE, MAY.replace(year=2027), tz=TZ),
    ]
    assert numbers == [
        "ZG2026-0001",
        "ZG2026-0002",
        "TZ2026-0001",
        "DB2026-0001",
        "YJ2026-0001",
        "ZG2026-0003",
        "ZG2027-0001",
    ]


def test_the_year_is_the_citys(session: Session) -> None:
    new_year_in_shanghai = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January
    assert next_number(session, FollowupKind.NOTICE, new_year_in_shanghai, tz=TZ) == ("ZG2027-0001")
    assert next_number(session, FollowupKind.NOTICE, new_year_in_shanghai, tz="UTC") == (
        "ZG2026-0001"
    )


def test_past_9999_the_number_grows_a_digit(session: Session) -> None:
    session.add(DocumentSequence(kind="notice", year=2026, last=9999))
    session.flush()
    assert next_number(session, FollowupKind.NOTICE, MAY, tz=TZ) == "ZG2026-10000"


def test_concurrent_issuers_leave_no_gap_and_no_duplicate(engine: Engine) -> None:
    """Eight writers draw numbers at once; every third transaction rolls back and so gives
    its number back. The committed numbers are exactly 1..n."""
    sessions = session_factory(engine)
    start = threading.Barrier(8)

    def issuer(worker: int) -> list[int]:
        kept = []
        start.wait(timeout=30)
        for attempt in range(6):
            with sessions() as session:
                number = allocate(session, FollowupKind.NOTICE, 2026)
                if (worker + attempt) % 3 == 0:
                    session.rollback()
                    continue
                session.commit()
            kept.append(number)
        return kept

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(issuer, w) for w in range(8)]
        committed = [n for future in futures for n in future.result(timeout=120)]
    assert sorted(committed) == list(range(1, len(committed) + 1))
    assert len(committed) == sum(1 for w in range(8) for a in range(6) if (w + a) % 3)
    with sessions() as session:
        last = session.scalar(select(DocumentSequence.last).where(DocumentSequence.year == 2026))
    assert last == len(committed)


def test_the_migration_continues_each_series_after_the_numbers_already_issued(
    tmp_path: Path,
) -> None:
    """A database with follow-ups numbered by the old scheme (the row id) keeps those
    numbers; each kind's sequence of the year continues after how many it has."""
    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    before = ScriptDirectory.from_config(cfg).get_revision("pdf_1").down_revision
    assert isinstance(before, str)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, before)
        connection.execute(
            text(
                "INSERT INTO shelters (id, code, name, address, district, shelter_type, "
                "wartime_function, protection_level, peacetime_use, use_registered, "
                "responsible_unit, responsible_unit_status, signage_installed, active, "
                "created_at, updated_at) VALUES (1, 'SH-1', 'n', '', 'd', '', '', '', '', "
                "0, '', 'known', 0, 1, '2025-01-01', '2025-01-01')"
            )
        )
        for id_, kind, number in (
            (1, "notice", "ZG2025-000001"),
            (2, "notice", "ZG2026-000002"),
            (3, "ledger", "TZ2026-000003"),
            (4, "notice", "ZG2026-000004"),
        ):
            connection.execute(
                text(
                    "INSERT INTO followups (id, number, kind, shelter_id, class_level, "
                    "status, issued_at, due_at) VALUES (:id, :number, :kind, 1, 2, 'open', "
                    "'2026-01-02', '2026-01-17')"
                ),
                {"id": id_, "number": number, "kind": kind},
            )
    upgrade(engine)
    with session_factory(engine)() as session:
        assert session.execute(
            select(DocumentSequence.kind, DocumentSequence.year, DocumentSequence.last).order_by(
                DocumentSequence.kind, DocumentSequence.year
            )
        ).all() == [("ledger", 2026, 1), ("notice", 2025, 1), ("notice", 2026, 2)]
        assert next_number(session, FollowupKind.NOTICE, MAY, tz=TZ) == "ZG2026-0003"
        assert next_number(session, FollowupKind.LEDGER, MAY, tz=TZ) == "TZ2026-0002"
    engine.dispose()
