"""Compliance statistics: the share of active shelters in class 1, per district and city-wide,
class distribution, open and overdue follow-ups, and the monthly history; enforcement
referrals by outcome, and fixes waiting for verification.

维护管理达标率 = shelters whose current class is 1 / active registered shelters; a shelter
never inspected counts in the denominator and not in the numerator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from inspection.access import Actor, shelter_scope
from inspection.models import (
    ComplianceSnapshot,
    Finding,
    FindingStatus,
    Followup,
    FollowupKind,
    FollowupStatus,
    Shelter,
)

CITY = ""


class ComplianceRow(BaseModel):
    district: str
    active_shelters: int
    class1_shelters: int
    rate: float | None
    by_class: dict[str, int]
    open_followups: int = 0
    overdue_followups: int = 0


class HistoryRow(BaseModel):
    month: str
    district: str
    rate: float | None
    active_shelters: int
    class1_shelters: int


class ComplianceReport(BaseModel):
    as_of: datetime
    city: ComplianceRow
    districts: list[ComplianceRow]
    history: list[HistoryRow]


def _rows(session: Session, actor: Actor, now: datetime) -> dict[str, ComplianceRow]:
    counts = session.execute(
        select(Shelter.district, Shelter.current_class, func.count())
        .where(Shelter.active.is_(True), shelter_scope(actor))
        .group_by(Shelter.district, Shelter.current_class)
    ).all()
    out: dict[str, ComplianceRow] = {}
    for district, klass, n in counts:
        row = out.setdefault(district, _empty(district))
        key = str(klass) if klass is not None else "ungraded"
        row.by_class[key] += n
        row.active_shelters += n
        if klass == 1:
            row.class1_shelters += n
    live = session.execute(
        select(
            Shelter.district,
            func.count(),
            func.sum(case((Followup.due_at < now, 1), else_=0)),
        )
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(Followup.status == FollowupStatus.OPEN.value, shelter_scope(actor))
        .group_by(Shelter.district)
    ).all()
    for district, n_open, n_overdue in live:
        row = out.setdefault(district, _empty(district))
        row.open_followups = n_open
        row.overdue_followups = int(n_overdue or 0)
    for row in out.values():
        row.rate = _rate(row.class1_shelters, row.active_shelters)
    return out


def _empty(district: str) -> ComplianceRow:
    return ComplianceRow(
        district=district,
        active_shelters=0,
        class1_shelters=0,
        rate=None,
        by_class={"1": 0, "2": 0, "3": 0, "4": 0, "ungraded": 0},
    )


def _rate(class1: int, active: int) -> float | None:
    return round(class1 / active, 4) if active else None


def _total(rows: list[ComplianceRow]) -> ComplianceRow:
    city = _empty(CITY)
    for row in rows:
        city.active_shelters += row.active_shelters
        city.class1_shelters += row.class1_shelters
        city.open_followups += row.open_followups
        city.overdue_followups += row.overdue_followups
        for key, n in row.by_class.items():
            city.by_class[key] += n
    city.rate = _rate(city.class1_shelters, city.active_shelters)
    return city


def compliance(
    session: Session, *, actor: Actor, now: datetime, district: str | None = None
) -> ComplianceReport:
    """Figures over the shelters ``actor`` may see (a district officer: their district)."""
    rows = sorted(_rows(session, actor, now).values(), key=lambda r: r.district)
    if district is not None:
        rows = [r for r in rows if r.district == district]
    districts = {r.district for r in rows}
    history_query = select(ComplianceSnapshot).order_by(
        ComplianceSnapshot.month, ComplianceSnapshot.district
    )
    history = [
        HistoryRow(
            month=h.month,
            district=h.district,
            rate=h.rate,
            active_shelters=h.active_shelters,
            class1_shelters=h.class1_shelters,
        )
        for h in session.scalars(history_query)
        if h.district in districts
        or (h.district == CITY and district is None and actor.district is None)
    ]
    return ComplianceReport(as_of=now, city=_total(rows), districts=rows, history=history)


def snapshot_month(session: Session, *, now: datetime, tz: str, actor: Actor) -> int:
    """Write (or refresh) this month's row per district and city-wide; returns rows written."""
    month = now.astimezone(ZoneInfo(tz)).strftime("%Y-%m")
    rows = list(_rows(session, actor, now).values())
    rows.append(_total(rows))
    existing = {
        s.district: s
        for s in session.scalars(
            select(ComplianceSnapshot).where(ComplianceSnapshot.month == month)
        )
    }
    for row in rows:
        values: dict[str, Any] = {
            "active_shelters": row.active_shelters,
            "class1_shelters": row.class1_shelters,
            "rate": row.rate,
            "by_class": dict(row.by_class),
            "computed_at": now,
        }
        snap = existing.get(row.district)
        if snap is None:
            session.add(ComplianceSnapshot(month=month, district=row.district, **values))
        else:
            for key, value in values.items():
                setattr(snap, key, value)
    session.flush()
    return len(rows)


NO_OUTCOME = "none"
OUTCOMES = (NO_OUTCOME, "referred", "warning", "fined", "dismissed", "other")
"""A referral's outcome as an officer recorded it (``ReferralOutcome.status``), or none yet."""


class ReferralFigures(BaseModel):
    """Enforcement referrals (移交执法) of the shelters in scope."""

    total: int
    open: int
    by_outcome: dict[str, int]
    fines_yuan: int


def referrals(session: Session, *, actor: Actor, district: str | None = None) -> ReferralFigures:
    """Referrals by their latest outcome (``none`` until one is recorded), how many are still
    open, and the fines recorded, in yuan."""
    query = (
        select(Followup.status, Followup.outcome)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(Followup.kind == FollowupKind.REFERRAL.value, shelter_scope(actor))
    )
    if district is not None:
        query = query.where(Shelter.district == district)
    by_outcome = dict.fromkeys(OUTCOMES, 0)
    total = still_open = fines = 0
    for status, outcome in session.execute(query):
        total += 1
        still_open += status != FollowupStatus.CLOSED
        kind = (outcome or {}).get("status") or NO_OUTCOME
        by_outcome[kind if kind in by_outcome else "other"] += 1
        fine = (outcome or {}).get("fine_yuan")
        fines += fine if isinstance(fine, int) else 0
    return ReferralFigures(total=total, open=still_open, by_outcome=by_outcome, fines_yuan=fines)


def fixes_to_verify(session: Session, *, actor: Actor, district: str | None = None) -> int:
    """Findings whose fix is reported and waits for someone to verify or reject it."""
    query = (
        select(func.count())
        .select_from(Finding)
        .join(Shelter, Finding.shelter_id == Shelter.id)
        .where(Finding.status == FindingStatus.FIX_REPORTED.value, shelter_scope(actor))
    )
    if district is not None:
        query = query.where(Shelter.district == district)
    return session.scalar(query) or 0


__all__ = [
    "ComplianceReport",
    "ComplianceRow",
    "ReferralFigures",
    "compliance",
    "fixes_to_verify",
    "referrals",
    "snapshot_month",
]
