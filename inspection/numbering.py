"""Document numbers: each kind of document has its own sequence per year, without gaps.

Notices are ``ZG2026-0001``, ``ZG2026-0002``, …; ledger entries ``TZ``, key supervision
``DB``, enforcement referrals ``YJ``; the year is the year of issue in the city's time zone
and the sequence restarts at 1 each year. A number is drawn in the transaction that issues
the document, by an upsert on the series' row of ``document_sequences``: the row stays locked
until that transaction ends, so concurrent issuers (PostgreSQL row lock; SQLite's single
writer) take consecutive numbers, and a transaction that rolls back gives its number back.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inspection.models import DocumentSequence, FollowupKind

PREFIX = {
    FollowupKind.NOTICE: "ZG",
    FollowupKind.LEDGER: "TZ",
    FollowupKind.KEY_SUPERVISION: "DB",
    FollowupKind.REFERRAL: "YJ",
}


def allocate(session: Session, kind: FollowupKind, year: int) -> int:
    """The next number of ``kind`` in ``year`` (1 for the first), taken in this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DocumentSequence)
        .values(kind=kind.value, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[DocumentSequence.kind, DocumentSequence.year],
            set_={"last": DocumentSequence.last + 1},
        )
        .returning(DocumentSequence.last)
    )
    number = session.execute(statement).scalar_one()
    return int(number)


def next_number(session: Session, kind: FollowupKind, issued_at: datetime, *, tz: str) -> str:
    """The number of a document of ``kind`` issued at ``issued_at``, e.g. ``ZG2026-0001``."""
    year = issued_at.astimezone(ZoneInfo(tz)).year
    return f"{PREFIX[kind]}{year}-{allocate(session, kind, year):04d}"
