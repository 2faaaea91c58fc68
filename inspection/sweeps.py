"""Sweeps (巡查): planned rounds of inspections, the shelters assigned to inspectors in them,
and how far each has got.

A sweep has a period (``starts_on`` to ``ends_on``, days in the city's time zone) and the
shelters it covers, resolved when it is created from whole districts and/or codes (active
shelters only): a shelter registered later does not join, so the figures of a running sweep
keep the denominator it was planned with. Only the city office creates sweeps; the city
office assigns any of a sweep's shelters, a district officer those of their district, and
only to an active inspector whose district is the shelter's.

A shelter is **inspected in the sweep** when it has an inspection (not a correction) whose
``inspected_at`` lies in the period; it is **overdue** when it is not and the period has
ended, **due soon** when it is not and the period ends within :data:`DUE_SOON_DAYS`. Every
count is one grouped query; scoping follows :func:`inspection.access.sweep_scope`.

The city office may later rename a sweep or change its period (:func:`update_sweep`: its
last day never before today, and once it has started its first day never after today, so
the figures already read keep their sense), add shelters to a planned or running sweep and
take out those not yet inspected in it (:func:`add_shelters`, :func:`remove_shelters`);
each change is audited. Assigning shelters tells the inspector: one message per
assignment naming the sweep, the shelters newly theirs and the last day
(:func:`assign`, through :mod:`inspection.notify`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Exists,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from inspection import audit, notify
from inspection.access import Actor, shelter_scope, sweep_scope
from inspection.errors import Conflict, Forbidden, InvalidInput, NotFound
from inspection.local_time import cn_date
from inspection.models import AuditEntry, Inspection, Role, Shelter, Sweep, SweepShelter, User
from inspection.schemas import (
    MAX_SWEEP_DAYS,
    DistrictProgress,
    InspectorProgress,
    SweepAddShelters,
    SweepAssign,
    SweepCounts,
    SweepCreate,
    SweepMark,
    SweepProgress,
    SweepRead,
    SweepRemoveShelters,
    SweepShelterRead,
    SweepUnassign,
    SweepUpdate,
)
from inspection.users import by_username

DUE_SOON_DAYS = 7
"""A sweep's shelters not yet inspected are *due soon* when its period ends within this many
days."""

EARLIEST_YEAR, LATEST_YEAR = 2000, 2999

NAMED_IN_MESSAGE = 20
"""An assignment message names at most this many shelters, then says how many more."""


def _inspected() -> Exists:
    """Whether the shelter of the ``SweepShelter`` row has an inspection (not a correction)
    within the period of its ``Sweep`` (both in the enclosing query)."""
    return exists().where(
        Inspection.shelter_id == SweepShelter.shelter_id,
        Inspection.corrects_id.is_(None),
        Inspection.inspected_at >= Sweep.starts_at,
        Inspection.inspected_at < Sweep.ends_at,
    )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz)


def _check_period(starts_on: date, ends_on: date) -> None:
    for day in (starts_on, ends_on):
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise InvalidInput(
                f"a sweep's days lie in the years {EARLIEST_YEAR} to {LATEST_YEAR}",
                code="invalid_period",
            )
    if ends_on < starts_on:
        raise InvalidInput("ends_on is before starts_on", code="invalid_period")
    if (ends_on - starts_on).days + 1 > MAX_SWEEP_DAYS:
        raise InvalidInput(f"a sweep lasts at most {MAX_SWEEP_DAYS} days", code="invalid_period")


def _chosen(
    session: Session, districts: Iterable[str], codes: Sequence[str]
) -> ColumnElement[bool]:
    """For a ``Shelter`` query: those of ``districts`` or named in ``codes``; 422
    ``unknown_shelters`` naming the codes of no active shelter."""
    if codes:
        found = set(
            session.scalars(
                select(Shelter.code).where(Shelter.code.in_(codes), Shelter.active.is_(True))
            )
        )
        missing = [c for c in codes if c not in found]
        if missing:
            raise InvalidInput(
                "shelters not registered or not active", code="unknown_shelters", details=missing
            )
    return or_(Shelter.district.in_(sorted(set(districts))), Shelter.code.in_(codes))


def _office_only(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden("only the city office changes sweeps")


def _today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def create_sweep(
    session: Session, data: SweepCreate, *, actor: Actor, now: datetime, tz: str
) -> Sweep:
    """Plan a sweep (city office only) over the active shelters of ``data.districts`` and
    those named in ``data.shelters``; written with one INSERT … SELECT and audited."""
    if actor.role != Role.ADMIN:
        raise Forbidden("only the city office plans sweeps")
    _check_period(data.starts_on, data.ends_on)
    codes = sorted(set(data.shelters))
    chosen = _chosen(session, data.districts, codes)
    members = select(Shelter.id).where(Shelter.active.is_(True), chosen)
    if session.scalar(select(func.count()).select_from(members.subquery())) == 0:
        raise InvalidInput("the sweep would cover no active shelter", code="empty_sweep")
    sweep = Sweep(
        name=data.name,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        starts_at=_midnight(data.starts_on, ZoneInfo(tz)),
        ends_at=_midnight(data.ends_on + timedelta(days=1), ZoneInfo(tz)),
        created_by=actor.id,
        created_at=now,
    )
    session.add(sweep)
    session.flush()
    session.execute(
        insert(SweepShelter).from_select(
            ["sweep_id", "shelter_id"],
            select(literal(sweep.id), Shelter.id).where(Shelter.active.is_(True), chosen),
        )
    )
    audit.record(
        session,
        actor,
        "sweep.create",
        "sweep",
        sweep.id,
        at=now,
        after={
            **audit.snapshot(sweep),
            "districts": sorted(set(data.districts)),
            "shelters": codes,
        },
    )
    return sweep


def get_sweep(session: Session, sweep_id: int) -> Sweep:
    """The sweep; its name and period are no secret to the roles that may read sweeps, what
    it holds is scoped (:func:`inspection.access.sweep_scope`)."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        raise NotFound(f"no sweep {sweep_id}", code="sweep_not_found")
    return sweep


def list_sweeps(session: Session, *, limit: int, offset: int) -> tuple[list[Sweep], int]:
    """Sweeps, the latest period first."""
    total = session.scalar(select(func.count()).select_from(Sweep)) or 0
    rows = session.scalars(
        select(Sweep).order_by(Sweep.starts_on.desc(), Sweep.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def status(sweep: Sweep, now: datetime) -> str:
    if now < sweep.starts_at:
        return "planned"
    return "running" if now < sweep.ends_at else "ended"


def _counts(
    sweep: Sweep, now: datetime, shelters: int, assigned: int, inspected: int
) -> dict[str, int]:
    not_yet = shelters - inspected
    ended = now >= sweep.ends_at
    soon = not ended and sweep.ends_at - now <= timedelta(days=DUE_SOON_DAYS)
    return {
        "shelters": shelters,
        "assigned": assigned,
        "inspected": inspected,
        "not_yet": not_yet,
        "overdue": not_yet if ended else 0,
        "due_soon": not_yet if soon else 0,
    }


def _members() -> Any:
    return (
        select()
        .select_from(SweepShelter)
        .join(Shelter, SweepShelter.shelter_id == Shelter.id)
        .join(Sweep, SweepShelter.sweep_id == Sweep.id)
    )


def _tally() -> tuple[Any, Any, Any]:
    return (
        func.count(),
        func.count(SweepShelter.inspector_id),
        func.coalesce(func.sum(case((_inspected(), 1), else_=0)), 0),
    )


def reads(
    session: Session, sweeps: Sequence[Sweep], *, actor: Actor, now: datetime
) -> list[SweepRead]:
    """The sweeps with their progress within ``actor``'s scope (one grouped query)."""
    ids = [s.id for s in sweeps]
    totals: dict[int, tuple[int, int, int]] = {}
    names: dict[int, str] = {}
    if ids:
        rows = session.execute(
            _members()
            .add_columns(SweepShelter.sweep_id, *_tally())
            .where(SweepShelter.sweep_id.in_(ids), sweep_scope(actor))
            .group_by(SweepShelter.sweep_id)
        ).all()
        totals = {sweep_id: (n, a, i) for sweep_id, n, a, i in rows}
        creators = {s.created_by for s in sweeps}
        names = {
            user_id: username
            for user_id, username in session.execute(
                select(User.id, User.username).where(User.id.in_(creators))
            )
        }
    return [
        SweepRead(
            id=s.id,
            name=s.name,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            created_by=names.get(s.created_by, ""),
            created_at=s.created_at,
            status=status(s, now),
            progress=SweepCounts(**_counts(s, now, *totals.get(s.id, (0, 0, 0)))),
        )
        for s in sweeps
    ]


def progress(session: Session, sweep: Sweep, *, actor: Actor, now: datetime) -> SweepProgress:
    """The sweep's progress within ``actor``'s scope, in total, by district and by inspector:
    one query grouped by (district, inspector), so its size is bounded by those, not by the
    shelters."""
    rows = session.execute(
        _members()
        .outerjoin(User, SweepShelter.inspector_id == User.id)
        .add_columns(Shelter.district, User.username, *_tally())
        .where(SweepShelter.sweep_id == sweep.id, sweep_scope(actor))
        .group_by(Shelter.district, User.username)
    ).all()
    districts: dict[str, list[int]] = {}
    inspectors: dict[str | None, list[int]] = {}
    for district, username, n, a, i in rows:
        for key, into in ((district, districts), (username, inspectors)):
            sums = into.setdefault(key, [0, 0, 0])
            sums[0] += n
            sums[1] += a
            sums[2] += i
    [read] = reads(session, [sweep], actor=actor, now=now)
    return SweepProgress(
        sweep=read,
        districts=[
            DistrictProgress(district=d, **_counts(sweep, now, *v))
            for d, v in sorted(districts.items())
        ],
        inspectors=[
            InspectorProgress(inspector=u, **_counts(sweep, now, *v))
            for u, v in sorted(inspectors.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ],
    )


def shelters(
    session: Session,
    sweep: Sweep,
    *,
    actor: Actor,
    district: str | None,
    limit: int,
    offset: int,
) -> tuple[list[SweepShelterRead], int]:
    """The sweep's shelters within ``actor``'s reach, by district and code, with their
    assignee and whether each is inspected in the period."""
    query = (
        _members()
        .outerjoin(User, SweepShelter.inspector_id == User.id)
        .where(SweepShelter.sweep_id == sweep.id, sweep_scope(actor))
    )
    if district is not None:
        query = query.where(Shelter.district == district)
    total = session.scalar(query.add_columns(func.count())) or 0
    rows = session.execute(
        query.add_columns(
            Shelter.code,
            Shelter.name,
            Shelter.district,
            User.username,
            SweepShelter.assigned_at,
            _inspected(),
        )
        .order_by(Shelter.district, Shelter.code)
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        SweepShelterRead(
            code=code,
            name=name,
            district=d,
            inspector=username,
            assigned_at=assigned_at,
            inspected=bool(inspected),
        )
        for code, name, d, username, assigned_at, inspected in rows
    ], total


def _members_named(
    session: Session, sweep: Sweep, codes: Collection[str], *, actor: Actor
) -> list[tuple[int, str, str]]:
    """(shelter id, code, district) of ``codes`` among the sweep's shelters that ``actor``
    may assign; 422 ``unknown_shelters`` naming the others, whether they do not exist, are
    not in the sweep or are out of reach (the same answer, so nothing leaks)."""
    wanted = sorted(set(codes))
    rows = session.execute(
        _members()
        .add_columns(Shelter.id, Shelter.code, Shelter.district)
        .where(SweepShelter.sweep_id == sweep.id, Shelter.code.in_(wanted), sweep_scope(actor))
    ).all()
    found = {code for _, code, _ in rows}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(
            "shelters not in this sweep within your reach", code="unknown_shelters", details=missing
        )
    return [(i, c, d) for i, c, d in rows]


def _may_assign(actor: Actor) -> None:
    if actor.role not in (Role.ADMIN, Role.DISTRICT_OFFICER):
        raise Forbidden("only the city office and district officers assign shelters")


def assign(
    session: Session, sweep_id: int, data: SweepAssign, *, actor: Actor, now: datetime, tz: str
) -> int:
    """Assign shelters of the sweep to one inspector, replacing earlier assignees; the
    inspector must be an active inspector of each shelter's district (else 422
    ``bad_assignee``). Returns how many; one UPDATE, audited once. The inspector is told of
    the shelters newly theirs in one message (:func:`_tell`): a retry, finding them theirs
    already, tells nothing."""
    _may_assign(actor)
    sweep = get_sweep(session, sweep_id)
    members = _members_named(session, sweep, data.shelters, actor=actor)
    user = by_username(session, data.inspector)
    districts = sorted({d for _, _, d in members})
    if (
        user is None
        or user.role != Role.INSPECTOR
        or not user.active
        or any(d != user.district for d in districts)
    ):
        raise InvalidInput(
            f"{data.inspector!r} is not an active inspector of {' and '.join(districts)}",
            code="bad_assignee",
        )
    ids = [i for i, _, _ in members]
    theirs = set(
        session.scalars(
            select(SweepShelter.shelter_id).where(
                SweepShelter.sweep_id == sweep.id,
                SweepShelter.shelter_id.in_(ids),
                SweepShelter.inspector_id == user.id,
            )
        )
    )
    _tell(session, sweep, user, [i for i in ids if i not in theirs], now=now, tz=tz)
    _set(session, sweep, ids, user.id, actor=actor, now=now)
    audit.record(
        session,
        actor,
        "sweep.assign",
        "sweep",
        sweep.id,
        at=now,
        after={"inspector": user.username, "shelters": sorted(c for _, c, _ in members)},
    )
    return len(members)


def _tell(
    session: Session,
    sweep: Sweep,
    inspector: User,
    shelter_ids: Sequence[int],
    *,
    now: datetime,
    tz: str,
) -> None:
    """Queue one message to ``inspector`` naming the sweep, the shelters just assigned to
    them and the sweep's last day (in Chinese, the day in the city's zone). Its dedupe key
    holds the sweep's last audit entry before this assignment, so two copies of one request
    racing each other queue one message while a later assignment of the same shelters (after
    an unassignment) is told again."""
    if not shelter_ids:
        return
    rows = session.execute(
        select(Shelter.code, Shelter.name).where(Shelter.id.in_(shelter_ids)).order_by(Shelter.code)
    ).all()
    last = session.scalar(
        select(func.max(AuditEntry.id)).where(
            AuditEntry.entity == "sweep", AuditEntry.entity_id == str(sweep.id)
        )
    )
    digest = hashlib.sha256(",".join(c for c, _ in rows).encode()).hexdigest()[:16]
    zone = ZoneInfo(tz)
    due = cn_date(_midnight(sweep.ends_on, zone), zone)
    named = "、".join(f"{name}（{code}）" for code, name in rows[:NAMED_IN_MESSAGE])
    more = f"等共 {len(rows)} 处" if len(rows) > NAMED_IN_MESSAGE else f"共 {len(rows)} 处"
    notify.queue(
        session,
        dedupe_key=f"sweep:{sweep.id}:assign:{inspector.id}:{last or 0}:{digest}",
        kind="sweep_assigned",
        recipients=[inspector],
        shelter=None,
        subject=f"巡查任务：{sweep.name}（{len(rows)} 处工程）",
        body=f"您被分配了巡查“{sweep.name}”中的工程：{named}，{more}，请于 {due} 前完成检查。",
        now=now,
        payload={
            "sweep": sweep.id,
            "shelters": [c for c, _ in rows],
            "ends_on": sweep.ends_on.isoformat(),
        },
    )


def unassign(
    session: Session, sweep_id: int, data: SweepUnassign, *, actor: Actor, now: datetime
) -> int:
    """Take shelters of the sweep off their inspector; returns how many (audited once)."""
    _may_assign(actor)
    sweep = get_sweep(session, sweep_id)
    members = _members_named(session, sweep, data.shelters, actor=actor)
    _set(session, sweep, [i for i, _, _ in members], None, actor=actor, now=now)
    audit.record(
        session,
        actor,
        "sweep.unassign",
        "sweep",
        sweep.id,
        at=now,
        after={"shelters": sorted(c for _, c, _ in members)},
    )
    return len(members)


def _set(
    session: Session,
    sweep: Sweep,
    shelter_ids: Iterable[int],
    inspector_id: int | None,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    session.execute(
        sql_update(SweepShelter)
        .where(SweepShelter.sweep_id == sweep.id, SweepShelter.shelter_id.in_(list(shelter_ids)))
        .values(
            inspector_id=inspector_id,
            assigned_by=actor.id if inspector_id is not None else None,
            assigned_at=now if inspector_id is not None else None,
        )
        .execution_options(synchronize_session=False)
    )


def _running(inspector_id: int, now: datetime) -> ColumnElement[bool]:
    return and_(
        SweepShelter.inspector_id == inspector_id,
        Sweep.starts_at <= now,
        Sweep.ends_at > now,
    )


def assigned_end(actor: Actor, now: datetime) -> Any:
    """For a ``Shelter`` query: the last day of the running sweep ending first in which the
    shelter is assigned to ``actor`` (NULL when none), to put those shelters first."""
    return (
        select(func.min(Sweep.ends_on))
        .select_from(SweepShelter)
        .join(Sweep, SweepShelter.sweep_id == Sweep.id)
        .where(SweepShelter.shelter_id == Shelter.id, _running(actor.id, now))
        .scalar_subquery()
    )


def marks(
    session: Session, shelter_ids: Collection[int], *, actor: Actor, now: datetime
) -> dict[int, SweepMark]:
    """By shelter id, the running sweep (ending first) in which each of ``shelter_ids`` is
    assigned to ``actor``, if any; one query over at most the page's shelters' assignments."""
    if actor.role != Role.INSPECTOR or not shelter_ids:
        return {}
    rows = session.execute(
        select(SweepShelter.shelter_id, Sweep.id, Sweep.name, Sweep.ends_on, _inspected())
        .select_from(SweepShelter)
        .join(Sweep, SweepShelter.sweep_id == Sweep.id)
        .join(Shelter, SweepShelter.shelter_id == Shelter.id)
        .where(
            SweepShelter.shelter_id.in_(list(shelter_ids)),
            _running(actor.id, now),
            shelter_scope(actor),
        )
        .order_by(Sweep.ends_on.desc(), Sweep.id.desc())
    ).all()
    out: dict[int, SweepMark] = {}
    for shelter_id, sweep_id, name, ends_on, inspected in rows:  # the first ending wins
        out[shelter_id] = SweepMark(
            sweep_id=sweep_id, sweep=name, ends_on=ends_on, inspected=bool(inspected)
        )
    return out


def update_sweep(
    session: Session, sweep_id: int, data: SweepUpdate, *, actor: Actor, now: datetime, tz: str
) -> Sweep:
    """Rename a sweep or change its period (city office only), audited as ``sweep.update``
    with what changed. Refusals (422): ``invalid_period`` (last day before the first, too
    long), ``ends_in_past`` (a last day moved before today: the sweep would be overdue at
    once), ``sweep_started`` (the first day of a sweep already under way moved after today:
    the visits it counts would drop out of it)."""
    _office_only(actor)
    sweep = get_sweep(session, sweep_id)
    starts_on = data.starts_on or sweep.starts_on
    ends_on = data.ends_on or sweep.ends_on
    name = data.name or sweep.name
    if (name, starts_on, ends_on) == (sweep.name, sweep.starts_on, sweep.ends_on):
        return sweep
    before = audit.snapshot(sweep)
    if (starts_on, ends_on) != (sweep.starts_on, sweep.ends_on):
        _check_period(starts_on, ends_on)
        today = _today(now, tz)
        if ends_on != sweep.ends_on and ends_on < today:
            raise InvalidInput(
                f"the last day may not be before today ({today.isoformat()})",
                code="ends_in_past",
            )
        if starts_on != sweep.starts_on and now >= sweep.starts_at and starts_on > today:
            raise InvalidInput(
                "the sweep has started: its first day may not move after today "
                f"({today.isoformat()})",
                code="sweep_started",
            )
        zone = ZoneInfo(tz)
        sweep.starts_on, sweep.ends_on = starts_on, ends_on
        sweep.starts_at = _midnight(starts_on, zone)
        sweep.ends_at = _midnight(ends_on + timedelta(days=1), zone)
    sweep.name = name
    session.flush()
    session.refresh(sweep)  # the instants as stored, to compare like with like
    audit.record(
        session,
        actor,
        "sweep.update",
        "sweep",
        sweep.id,
        at=now,
        before=before,
        after=audit.snapshot(sweep),
    )
    return sweep


def _open_for_change(session: Session, sweep_id: int, actor: Actor, now: datetime) -> Sweep:
    _office_only(actor)
    sweep = get_sweep(session, sweep_id)
    if now >= sweep.ends_at:
        raise Conflict("the sweep has ended: its shelters stay as they were", code="sweep_ended")
    return sweep


def add_shelters(
    session: Session, sweep_id: int, data: SweepAddShelters, *, actor: Actor, now: datetime
) -> int:
    """Add to a planned or running sweep (city office only) the active shelters of
    ``data.districts`` and those named in ``data.shelters`` that are not in it yet; returns
    how many joined, audited once as ``sweep.add_shelters``. Refusals: 409 ``sweep_ended``,
    422 ``unknown_shelters`` (the codes in ``details``), ``nothing_named``."""
    sweep = _open_for_change(session, sweep_id, actor, now)
    if not data.districts and not data.shelters:
        raise InvalidInput("name districts or shelters to add", code="nothing_named")
    codes = sorted(set(data.shelters))
    chosen = _chosen(session, data.districts, codes)
    already = exists().where(
        SweepShelter.sweep_id == sweep.id, SweepShelter.shelter_id == Shelter.id
    )
    rows = session.execute(
        select(Shelter.id, Shelter.code)
        .where(Shelter.active.is_(True), chosen, ~already)
        .order_by(Shelter.code)
    ).all()
    if not rows:
        return 0
    session.execute(
        insert(SweepShelter), [{"sweep_id": sweep.id, "shelter_id": i} for i, _ in rows]
    )
    audit.record(
        session,
        actor,
        "sweep.add_shelters",
        "sweep",
        sweep.id,
        at=now,
        after={
            "districts": sorted(set(data.districts)),
            "shelters": [c for _, c in rows],
        },
    )
    return len(rows)


def remove_shelters(
    session: Session, sweep_id: int, data: SweepRemoveShelters, *, actor: Actor, now: datetime
) -> int:
    """Take shelters out of a planned or running sweep (city office only), with their
    assignments; returns how many, audited once as ``sweep.remove_shelters``. Refusals: 409
    ``sweep_ended``, ``already_inspected`` (those inspected in the period, in ``details``:
    they count in its figures), ``empty_sweep`` (none would be left); 422
    ``unknown_shelters``."""
    sweep = _open_for_change(session, sweep_id, actor, now)
    members = _members_named(session, sweep, data.shelters, actor=actor)
    ids = [i for i, _, _ in members]
    done = session.scalars(
        _members()
        .add_columns(Shelter.code)
        .where(SweepShelter.sweep_id == sweep.id, SweepShelter.shelter_id.in_(ids), _inspected())
        .order_by(Shelter.code)
    ).all()
    if done:
        raise Conflict(
            "shelters inspected in the sweep stay in it",
            code="already_inspected",
            details=list(done),
        )
    left = session.scalar(
        select(func.count()).select_from(SweepShelter).where(SweepShelter.sweep_id == sweep.id)
    )
    if left == len(ids):
        raise Conflict("the sweep would cover no shelter", code="empty_sweep")
    assignees = dict(
        session.execute(
            select(Shelter.code, User.username)
            .select_from(SweepShelter)
            .join(Shelter, SweepShelter.shelter_id == Shelter.id)
            .join(User, SweepShelter.inspector_id == User.id)
            .where(SweepShelter.sweep_id == sweep.id, SweepShelter.shelter_id.in_(ids))
        ).all()
    )
    session.execute(
        delete(SweepShelter)
        .where(SweepShelter.sweep_id == sweep.id, SweepShelter.shelter_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        actor,
        "sweep.remove_shelters",
        "sweep",
        sweep.id,
        at=now,
        after={
            "shelters": sorted(c for _, c, _ in members),
            "assigned": dict(sorted(assignees.items())),
        },
    )
    return len(ids)
