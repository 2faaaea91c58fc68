"""The shelter register: shelters and their sensors, scoped to what an actor may see.

Shelter codes and sensor ids are unique city-wide, so that one is taken cannot be hidden
from someone registering it again. What the refusal says about the shelter holding it
depends on whether the caller may see that shelter: a code registered in a district out of
the caller's reach is refused exactly like a shelter for another district (the words of a
register import, :data:`OUT_OF_REACH`), and a sensor id held by such a shelter is refused
without naming the shelter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, joinedload

from inspection import audit, sweeps
from inspection.access import Actor, can_manage_register, can_see, shelter_scope
from inspection.contacts import manager_contact
from inspection.errors import Conflict, Forbidden, InvalidInput, NotFound
from inspection.models import Role, Sensor, Shelter, User
from inspection.schemas import (
    SensorCreate,
    SensorUpdate,
    ShelterCreate,
    ShelterRead,
    ShelterUpdate,
)
from inspection.users import by_username

OUT_OF_REACH = "you may register and update shelters of your own district only"
"""The refusal of a shelter out of a district officer's reach: one for another district, one
moved out of theirs, or one whose code another district holds (in a register import too)."""


@dataclass(frozen=True, slots=True)
class ShelterFilter:
    district: str | None = None
    current_class: int | None = None
    ungraded: bool = False
    manager: str | None = None
    active: bool | None = None
    q: str | None = None


def role_problem(user: User | None, username: str, role: Role) -> str | None:
    """Why ``user`` (looked up as ``username``) cannot be named as a shelter's ``role``
    (manager or inspector), or None when it can."""
    if user is None or user.role != role or not user.active:
        return f"{username!r} is not a user with role {role.value}"
    return None


def _user_with_role(session: Session, username: str | None, role: Role) -> User | None:
    if username is None or username == "":
        return None
    user = by_username(session, username)
    problem = role_problem(user, username, role)
    if problem is not None:
        raise InvalidInput(problem, code="unknown_user")
    return user


def _loaded() -> Select[Shelter]:
    return select(Shelter).options(joinedload(Shelter.manager), joinedload(Shelter.inspector))


def to_read(shelter: Shelter) -> ShelterRead:
    """The public view of a shelter loaded with its manager and inspector."""
    contact = manager_contact(shelter)
    return ShelterRead.model_validate(
        {
            **{
                k: getattr(shelter, k)
                for k in ShelterRead.model_fields
                if hasattr(shelter, k) and k not in ("manager", "manager_phone", "inspector")
            },
            "manager": shelter.manager.username if shelter.manager else None,
            "manager_name": contact.name,
            "manager_phone": contact.phone,
            "inspector": shelter.inspector.username if shelter.inspector else None,
        }
    )


def new_shelter_values(data: ShelterCreate, *, now: datetime) -> dict[str, Any]:
    """The columns of a new, ungraded shelter of ``data``, without its manager and inspector,
    which the caller sets once it has checked them."""
    fields = data.model_dump(exclude={"manager", "inspector"})
    return {**fields, "created_at": now, "updated_at": now, "current_class": None}


def create_shelter(
    session: Session, data: ShelterCreate, *, actor: Actor, now: datetime
) -> Shelter:
    if not can_manage_register(actor, data.district):
        raise Forbidden(OUT_OF_REACH)
    taken = session.scalar(select(Shelter).where(Shelter.code == data.code))
    if taken is not None:
        if not can_see(actor, taken):
            raise Forbidden(OUT_OF_REACH)
        raise Conflict(f"shelter {data.code!r} exists", code="shelter_exists")
    shelter = Shelter(**new_shelter_values(data, now=now))
    shelter.manager = _user_with_role(session, data.manager, Role.MANAGER)
    shelter.inspector = _user_with_role(session, data.inspector, Role.INSPECTOR)
    session.add(shelter)
    session.flush()
    audit.record(
        session,
        actor,
        "shelter.create",
        "shelter",
        shelter.code,
        at=now,
        after=audit.snapshot(shelter),
    )
    return shelter


def get_shelter(session: Session, code: str, *, actor: Actor) -> Shelter:
    """The shelter if it exists and ``actor`` may see it; else :class:`NotFound`."""
    shelter = session.scalar(_loaded().where(Shelter.code == code, shelter_scope(actor)))
    if shelter is None:
        raise NotFound(f"no shelter {code!r}", code="shelter_not_found")
    return shelter


def list_shelters(
    session: Session,
    flt: ShelterFilter,
    *,
    actor: Actor,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[list[Shelter], int]:
    """The shelters ``actor`` may see, filtered, by code; with ``now``, an inspector's list
    puts first the shelters assigned to them in a running sweep, the sweep ending first
    first (:func:`inspection.sweeps.assigned_end`)."""
    query = select(Shelter).where(shelter_scope(actor))
    if flt.district is not None:
        query = query.where(Shelter.district == flt.district)
    if flt.ungraded:
        query = query.where(Shelter.current_class.is_(None))
    elif flt.current_class is not None:
        query = query.where(Shelter.current_class == flt.current_class)
    if flt.manager is not None:
        query = query.join(User, Shelter.manager_id == User.id).where(User.username == flt.manager)
    if flt.active is not None:
        query = query.where(Shelter.active.is_(flt.active))
    if flt.q:
        # Literal text: "%" and "_" in a search match themselves, not any characters.
        query = query.where(
            Shelter.name.contains(flt.q, autoescape=True)
            | Shelter.code.contains(flt.q, autoescape=True)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order: list[Any] = [Shelter.code]
    if now is not None and actor.role == Role.INSPECTOR:
        end = sweeps.assigned_end(actor, now)
        order = [case((end.is_(None), 1), else_=0), end, Shelter.code]
    rows = session.scalars(
        query.options(joinedload(Shelter.manager), joinedload(Shelter.inspector))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def update_shelter(
    session: Session, code: str, data: ShelterUpdate, *, actor: Actor, now: datetime
) -> Shelter:
    shelter = get_shelter(session, code, actor=actor)
    changes = data.model_dump(exclude_unset=True)
    target_district = changes.get("district") or shelter.district
    if not (
        can_manage_register(actor, shelter.district) and can_manage_register(actor, target_district)
    ):
        raise Forbidden("you may not edit this shelter")
    before = audit.snapshot(shelter)
    if "manager" in changes:
        shelter.manager = _user_with_role(session, changes.pop("manager"), Role.MANAGER)
    if "inspector" in changes:
        shelter.inspector = _user_with_role(session, changes.pop("inspector"), Role.INSPECTOR)
    for key, value in changes.items():
        if value is None and key in (
            "name",
            "district",
            "use_registered",
            "signage_installed",
            "active",
            "responsible_unit_status",
            "responsible_unit_contact",
            "responsible_unit_phone",
            "manager_contact_name",
            "manager_contact_phone",
        ):
            raise InvalidInput(f"{key} cannot be null", code="null_field")
        setattr(shelter, key, value)
    shelter.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "shelter.update",
        "shelter",
        shelter.code,
        at=now,
        before=before,
        after=audit.snapshot(shelter),
    )
    return shelter


def add_sensor(
    session: Session, code: str, data: SensorCreate, *, actor: Actor, now: datetime
) -> Sensor:
    shelter = get_shelter(session, code, actor=actor)
    if not can_manage_register(actor, shelter.district):
        raise Forbidden("you may not register sensors for this shelter")
    holder = session.scalar(
        select(Shelter)
        .join(Sensor, Sensor.shelter_id == Shelter.id)
        .where(Sensor.sensor_id == data.sensor_id)
    )
    if holder is not None:
        where = f" in shelter {holder.code!r}" if can_see(actor, holder) else ""
        raise Conflict(
            f"sensor {data.sensor_id!r} is registered already{where}", code="sensor_exists"
        )
    sensor = Sensor(**data.model_dump(), shelter_id=shelter.id, created_at=now, updated_at=now)
    session.add(sensor)
    session.flush()
    audit.record(
        session,
        actor,
        "sensor.create",
        "sensor",
        sensor.sensor_id,
        at=now,
        after=audit.snapshot(sensor),
    )
    return sensor


def get_sensor(session: Session, code: str, sensor_id: str, *, actor: Actor) -> Sensor:
    """The sensor of a shelter ``actor`` may see; else :class:`NotFound`."""
    shelter = get_shelter(session, code, actor=actor)
    sensor = session.scalar(
        select(Sensor).where(Sensor.shelter_id == shelter.id, Sensor.sensor_id == sensor_id)
    )
    if sensor is None:
        raise NotFound(f"no sensor {sensor_id!r} in shelter {code!r}", code="sensor_not_found")
    return sensor


class SensorUpdated(NamedTuple):
    sensor: Sensor
    shelter_code: str
    """Where the sensor is now."""
    placed: bool
    """It moved to another shelter or came back from retirement."""


def update_sensor(
    session: Session,
    code: str,
    sensor_id: str,
    data: SensorUpdate,
    *,
    actor: Actor,
    now: datetime,
) -> SensorUpdated:
    """Change a sensor's zone or interval, move it to another shelter (``data.shelter``),
    retire it (``active=False``) or bring it back; the actor must manage the register of
    both shelters' districts (audited)."""
    shelter = get_shelter(session, code, actor=actor)
    sensor = get_sensor(session, code, sensor_id, actor=actor)
    if not can_manage_register(actor, shelter.district):
        raise Forbidden("you may not edit the sensors of this shelter")
    changes = data.model_dump(exclude_unset=True)
    for key in ("zone", "expected_interval_s", "active", "shelter"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be null", code="null_field")
    before = audit.snapshot(sensor)
    target = shelter
    target_code = changes.pop("shelter", code)
    if target_code != code:
        target = get_shelter(session, target_code, actor=actor)
        if not can_manage_register(actor, target.district):
            raise Forbidden("you may not move sensors into this shelter")
        sensor.shelter_id = target.id
    placed = target is not shelter or (changes.get("active") is True and not sensor.active)
    for key, value in changes.items():
        setattr(sensor, key, value)
    sensor.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "sensor.update",
        "sensor",
        sensor.sensor_id,
        at=now,
        before=before,
        after=audit.snapshot(sensor),
    )
    return SensorUpdated(sensor, target.code, placed and sensor.active)


def list_sensors(session: Session, code: str, *, actor: Actor) -> list[Sensor]:
    shelter = get_shelter(session, code, actor=actor)
    return list(
        session.scalars(
            select(Sensor).where(Sensor.shelter_id == shelter.id).order_by(Sensor.sensor_id)
        )
    )


def visible_codes(session: Session, codes: Collection[str], *, actor: Actor) -> set[str]:
    """Those of ``codes`` that name a shelter ``actor`` may see."""
    if not codes:
        return set()
    return set(
        session.scalars(select(Shelter.code).where(Shelter.code.in_(codes), shelter_scope(actor)))
    )


def visible_sensor_ids(session: Session, sensor_ids: Collection[str], *, actor: Actor) -> set[str]:
    """Those of ``sensor_ids`` that name a sensor of a shelter ``actor`` may see."""
    if not sensor_ids:
        return set()
    return set(
        session.scalars(
            select(Sensor.sensor_id)
            .join(Shelter, Sensor.shelter_id == Shelter.id)
            .where(Sensor.sensor_id.in_(sensor_ids), shelter_scope(actor))
        )
    )


P = TypeVar("P")
PlacementFactory = Callable[[str, str, str, str, int, int | None], P]
"""Builds a placement from (sensor_id, shelter_code, district, zone, expected_interval_s,
current_class): the telemetry side passes its own type, so its fields are written once."""


W = TypeVar("W")
WatchedFactory = Callable[[str, str, str, str, int, datetime], W]
"""Builds a watched sensor from (sensor_id, shelter_code, district, zone, expected_interval_s,
created_at), for the offline check on the telemetry side."""


def _active_sensors(last: Any) -> Select[Any]:
    """(sensor_id, shelter_code, district, zone, expected_interval_s, ``last``) of every
    active sensor of an active shelter."""
    return (
        select(
            Sensor.sensor_id,
            Shelter.code,
            Shelter.district,
            Sensor.zone,
            Sensor.expected_interval_s,
            last,
        )
        .join(Shelter, Sensor.shelter_id == Shelter.id)
        .where(Sensor.active.is_(True), Shelter.active.is_(True))
    )


def sensor_placements(session: Session, make: PlacementFactory[P]) -> list[P]:
    """Every active sensor of an active shelter (the ingester's directory), each built by
    ``make``."""
    return [make(*row) for row in session.execute(_active_sensors(Shelter.current_class))]


def watched_sensors(session: Session, make: WatchedFactory[W]) -> list[W]:
    """Every active sensor of an active shelter with when it was registered (the sensors
    expected to report), each built by ``make``."""
    return [make(*row) for row in session.execute(_active_sensors(Sensor.created_at))]
