"""Applying a register file to the register: a new code creates a shelter, a registered code
updates it.

Two steps, so that the register is written in one short transaction after everything is
checked (:func:`import_register` runs them in the transactions its caller opens):

- :func:`plan_import` only reads (run it in a read-only transaction): each row of a
  :class:`~inspection.register_file.RegisterFile` becomes a ``create``, an ``update`` with
  the fields it changes (before and after), ``unchanged``, or an ``error`` with its reasons.
  The plan is what a dry run answers.
- :func:`apply_import` writes the plan in the caller's write transaction. It first checks,
  in a few bulk queries, that what the plan relied on still holds (no new code taken, no
  shelter to update edited since, every named manager and inspector still one); otherwise it
  refuses with :class:`Conflict` ``register_changed`` and writes nothing. Then it inserts
  and updates in bulk statements, audits each shelter in bulk (``shelter.create``,
  ``shelter.update`` with the changed fields before and after, the 工程长 and inspector by
  username) and the import itself (``register.import``).

A column in the file sets its field on every row, an empty cell to the field's empty value
or default as for a new shelter (the register gets what the sheet shows); a column the file
lacks leaves the field as it is.

Scope: the city office creates and updates anywhere; a district officer only in their
district, and cannot move a shelter out of it. A row whose code is registered in another
district is an error worded exactly like a row for another district, so the answer says
nothing of that shelter: not its fields, nor that it is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from inspection import audit
from inspection.access import Actor, can_manage_register
from inspection.errors import Conflict
from inspection.models import Role, Shelter, User
from inspection.register_file import Deadline, ReadLimits, RegisterFile, read_register_file
from inspection.registry import OUT_OF_REACH, new_shelter_values, role_problem
from inspection.schemas import ShelterCreate
from inspection.tabular import SHELTER_FIELDS

_CHUNK = 500
"""Values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits."""
_PEOPLE = {"manager": Role.MANAGER, "inspector": Role.INSPECTOR}
_FIELD_ORDER = {key: index for index, (key, _) in enumerate(SHELTER_FIELDS)}

T = TypeVar("T")


class RowAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


class FieldChange(BaseModel):
    field: str
    before: Any
    after: Any


class RowPlan(BaseModel):
    """What one data row does (or would do): ``row`` is its spreadsheet row number."""

    row: int
    code: str | None
    action: RowAction
    changes: list[FieldChange] = []
    errors: list[str] = []


class RowError(BaseModel):
    row: int
    code: str | None
    errors: list[str]


class ImportReport(BaseModel):
    """``created``, ``updated``, ``unchanged`` and ``rejected`` count the rows by what they
    do, or would do in a dry run; ``imported`` counts the shelters written (0 unless
    ``applied``). Unless ``only_valid``, one bad row applies nothing."""

    dry_run: bool
    applied: bool
    imported: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowError]
    rows: list[RowPlan]


@dataclass(frozen=True, slots=True)
class _Write:
    """A row to write: a new shelter (``shelter_id`` None) or the changed fields of one,
    with what the plan saw (``stamp``: its ``updated_at``)."""

    row: int
    data: ShelterCreate
    shelter_id: int | None
    stamp: datetime | None
    changes: dict[str, Any]
    people: dict[str, int | None]
    """manager / inspector → user id, for the ones the row sets."""


@dataclass
class ImportPlan:
    rows: list[RowPlan] = field(default_factory=list)
    writes: list[_Write] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.rows if r.action == RowAction.ERROR)

    def may_apply(self, *, only_valid: bool) -> bool:
        """Whether the plan is written: every row is good, or the good ones are wanted."""
        return only_valid or self.rejected == 0

    def report(self, *, dry_run: bool, applied: bool) -> ImportReport:
        count = {a: sum(1 for r in self.rows if r.action == a) for a in RowAction}
        return ImportReport(
            dry_run=dry_run,
            applied=applied,
            imported=count[RowAction.CREATE] + count[RowAction.UPDATE] if applied else 0,
            created=count[RowAction.CREATE],
            updated=count[RowAction.UPDATE],
            unchanged=count[RowAction.UNCHANGED],
            rejected=count[RowAction.ERROR],
            errors=[
                RowError(row=r.row, code=r.code, errors=r.errors)
                for r in self.rows
                if r.action == RowAction.ERROR
            ],
            rows=self.rows,
        )


Transaction = Callable[[], AbstractContextManager[Session]]
"""Opens a transaction and yields its session; the caller's unit of work commits it."""


def import_register(
    filename: str,
    content: bytes,
    *,
    read: Transaction,
    write: Transaction,
    actor: Actor,
    now: datetime,
    only_valid: bool,
    dry_run: bool = False,
    limits: ReadLimits | None = None,
    deadline: Deadline | None = None,
) -> ImportReport:
    """Read and check a register file, plan it in a ``read`` transaction, and unless it is a
    dry run (or a bad row stops it) write it in a ``write`` transaction, opened only then."""
    register = read_register_file(filename, content, limits=limits, deadline=deadline)
    with read() as session:
        plan = plan_import(session, register, actor=actor, deadline=deadline)
    if dry_run or not plan.may_apply(only_valid=only_valid):
        return plan.report(dry_run=dry_run, applied=False)
    if deadline is not None:
        deadline.check()
    with write() as session:
        return apply_import(session, plan, filename=filename, actor=actor, now=now)


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _fetch(values: Iterable[T], query: Callable[[Sequence[T]], Iterable[Any]]) -> list[Any]:
    """``query`` run over ``values`` a chunk at a time, the results joined."""
    unique = sorted(set(values), key=str)
    return [row for chunk in _chunks(unique) for row in query(chunk)]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def plan_import(
    session: Session, file: RegisterFile, *, actor: Actor, deadline: Deadline | None = None
) -> ImportPlan:
    """What each row of ``file`` does to the register for ``actor``; reads only."""
    valid = [r.data for r in file.rows if r.data is not None]
    registered: dict[str, Shelter] = {
        s.code: s
        for s in _fetch(
            (d.code for d in valid),
            lambda chunk: session.scalars(
                select(Shelter)
                .where(Shelter.code.in_(chunk))
                .options(joinedload(Shelter.manager), joinedload(Shelter.inspector))
            ),
        )
    }
    names = (getattr(d, key) for d in valid for key in _PEOPLE if getattr(d, key))
    users: dict[str, User] = {
        u.username: u
        for u in _fetch(
            names, lambda chunk: session.scalars(select(User).where(User.username.in_(chunk)))
        )
    }
    plan = ImportPlan()
    for result in file.rows:
        if deadline is not None:
            deadline.check()
        data = result.data
        if data is None:
            plan.rows.append(
                RowPlan(
                    row=result.row, code=result.code, action=RowAction.ERROR, errors=result.errors
                )
            )
            continue
        shelter = registered.get(data.code)
        reachable = can_manage_register(actor, data.district) and (
            shelter is None or can_manage_register(actor, shelter.district)
        )
        if not reachable:
            plan.rows.append(
                RowPlan(
                    row=result.row, code=data.code, action=RowAction.ERROR, errors=[OUT_OF_REACH]
                )
            )
            continue
        if shelter is None:
            _plan_create(plan, result.row, data, users)
        else:
            _plan_update(plan, result.row, data, shelter, users, file.columns)
    return plan


def _people(
    data: ShelterCreate, keys: Iterable[str], users: dict[str, User]
) -> tuple[dict[str, int | None], list[str]]:
    """The user ids ``data`` names for ``keys`` (manager, inspector), or why they cannot be."""
    ids: dict[str, int | None] = {}
    errors: list[str] = []
    for key in keys:
        username = getattr(data, key)
        if not username:
            ids[key] = None
            continue
        user = users.get(username)
        problem = role_problem(user, username, _PEOPLE[key])
        if problem is not None:
            errors.append(problem)
        elif user is not None:
            ids[key] = user.id
    return ids, errors


def _plan_create(plan: ImportPlan, row: int, data: ShelterCreate, users: dict[str, User]) -> None:
    people, errors = _people(data, _PEOPLE, users)
    if errors:
        plan.rows.append(RowPlan(row=row, code=data.code, action=RowAction.ERROR, errors=errors))
        return
    plan.rows.append(RowPlan(row=row, code=data.code, action=RowAction.CREATE))
    plan.writes.append(_Write(row, data, None, None, {}, people))


def _plan_update(
    plan: ImportPlan,
    row: int,
    data: ShelterCreate,
    shelter: Shelter,
    users: dict[str, User],
    columns: frozenset[str],
) -> None:
    changes: dict[str, Any] = {}
    shown: list[FieldChange] = []
    moved_people: list[str] = []
    for key in sorted(columns - {"code"}, key=_FIELD_ORDER.__getitem__):
        if key in _PEOPLE:
            current = getattr(shelter, key)
            before = current.username if current is not None else None
            after = getattr(data, key) or None
            if before != after:
                moved_people.append(key)
                shown.append(FieldChange(field=key, before=before, after=after))
            continue
        before = _plain(getattr(shelter, key))
        after = _plain(getattr(data, key))
        if before != after:
            changes[key] = after
            shown.append(FieldChange(field=key, before=before, after=after))
    people, errors = _people(data, moved_people, users)
    if errors:
        plan.rows.append(RowPlan(row=row, code=data.code, action=RowAction.ERROR, errors=errors))
        return
    if not shown:
        plan.rows.append(RowPlan(row=row, code=data.code, action=RowAction.UNCHANGED))
        return
    plan.rows.append(RowPlan(row=row, code=data.code, action=RowAction.UPDATE, changes=shown))
    plan.writes.append(_Write(row, data, shelter.id, shelter.updated_at, changes, people))


def _still_as_planned(session: Session, plan: ImportPlan) -> bool:
    """Whether what the plan relied on holds in ``session``'s transaction: its new codes are
    free, the shelters it updates unedited since, the people it names still fit."""
    new = [w.data.code for w in plan.writes if w.shelter_id is None]
    taken = _fetch(
        new, lambda chunk: session.scalars(select(Shelter.code).where(Shelter.code.in_(chunk)))
    )
    if taken:
        return False
    stamps = {w.shelter_id: w.stamp for w in plan.writes if w.shelter_id is not None}
    seen = _fetch(
        stamps,
        lambda chunk: session.execute(
            select(Shelter.id, Shelter.updated_at).where(Shelter.id.in_(chunk))
        ),
    )
    if len(seen) != len(stamps) or any(stamps[i] != at for i, at in seen):
        return False
    wanted = {(uid, _PEOPLE[k]) for w in plan.writes for k, uid in w.people.items() if uid}
    fit = {
        (u.id, Role(u.role))
        for u in _fetch(
            {uid for uid, _ in wanted},
            lambda chunk: session.scalars(select(User).where(User.id.in_(chunk))),
        )
        if u.active
    }
    return wanted <= fit


def apply_import(
    session: Session, plan: ImportPlan, *, filename: str, actor: Actor, now: datetime
) -> ImportReport:
    """Write ``plan`` in ``session``'s transaction (never commits); refuses with
    :class:`Conflict` ``register_changed``, writing nothing, when the register changed in
    what the plan relied on since it was made. The rows and audit entries are built before
    the first statement, so the transaction holds only the checks and a few bulk writes."""
    changed = Conflict(
        "the register changed while the file was being checked: send it again",
        code="register_changed",
    )
    created: list[dict[str, Any]] = []
    updated: dict[frozenset[str], list[dict[str, Any]]] = {}
    update_audit: list[tuple[str | int, dict[str, Any] | None, dict[str, Any] | None]] = []
    changes_of = {r.row: r.changes for r in plan.rows}
    for write in plan.writes:
        people = {f"{k}_id": v for k, v in write.people.items()}
        if write.shelter_id is None:
            created.append({**new_shelter_values(write.data, now=now), **people})
            continue
        values = {**write.changes, **people, "updated_at": now}
        updated.setdefault(frozenset(values), []).append({"id": write.shelter_id, **values})
        shown = changes_of[write.row]
        update_audit.append(
            (
                write.data.code,
                {c.field: c.before for c in shown},
                {c.field: c.after for c in shown},
            )
        )
    create_audit = [(row["code"], audit.values(row)) for row in created]
    report = plan.report(dry_run=False, applied=True)

    if not _still_as_planned(session, plan):
        raise changed
    if created:
        try:
            returned = session.execute(insert(Shelter).returning(Shelter.code, Shelter.id), created)
            ids: dict[str, int] = {code: shelter_id for code, shelter_id in returned}
        except IntegrityError as exc:  # a code taken since the check, by a concurrent writer
            raise changed from exc
        audit.record_many(
            session,
            actor,
            "shelter.create",
            "shelter",
            ((code, None, {"id": ids[code], **after}) for code, after in create_audit),
            at=now,
        )
    for rows in updated.values():
        session.execute(update(Shelter), rows)
    audit.record_many(session, actor, "shelter.update", "shelter", update_audit, at=now)
    audit.record(
        session,
        actor,
        "register.import",
        "register",
        "shelters",
        at=now,
        after={
            "file": filename,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
        },
    )
    return report
