"""Who may see which shelters: the scoping rules of the roles (docs/roles.md).

admin and platform see every shelter (platform read-only); a district officer sees the
shelters of their district; an inspector those assigned to them or in their district; a
manager (工程长) their own. Anything out of scope is reported as not found.

Within a sweep (:mod:`inspection.sweeps`) the city office sees every shelter, a district
officer those of their district, an inspector those assigned to them; managers and the
platform none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true

from inspection.models import Role, Shelter, SweepShelter


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user a service acts for."""

    id: int
    username: str
    role: Role
    district: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


SYSTEM = Actor(id=0, username="system", role=Role.ADMIN)
"""The scheduler and the ingester act as this actor; the audit log names it ``system``."""


def shelter_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Shelter`` limiting rows to what ``actor`` may see."""
    if actor.role in (Role.ADMIN, Role.PLATFORM):
        return true()
    if actor.role == Role.DISTRICT_OFFICER:
        return Shelter.district == actor.district if actor.district else false()
    if actor.role == Role.INSPECTOR:
        clauses: list[ColumnElement[bool]] = [Shelter.inspector_id == actor.id]
        if actor.district:
            clauses.append(Shelter.district == actor.district)
        return or_(*clauses)
    if actor.role == Role.MANAGER:
        return Shelter.manager_id == actor.id
    return false()


def sweep_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``SweepShelter`` joined with its ``Shelter``: the shelters of a sweep
    ``actor`` may see, assign or count."""
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.DISTRICT_OFFICER:
        return Shelter.district == actor.district if actor.district else false()
    if actor.role == Role.INSPECTOR:
        return SweepShelter.inspector_id == actor.id
    return false()


def can_see(actor: Actor, shelter: Shelter) -> bool:
    """The same rule as :func:`shelter_scope`, for a loaded shelter."""
    if actor.role in (Role.ADMIN, Role.PLATFORM):
        return True
    if actor.role == Role.DISTRICT_OFFICER:
        return actor.district is not None and shelter.district == actor.district
    if actor.role == Role.INSPECTOR:
        return shelter.inspector_id == actor.id or (
            actor.district is not None and shelter.district == actor.district
        )
    if actor.role == Role.MANAGER:
        return shelter.manager_id == actor.id
    return False


def can_manage_register(actor: Actor, shelter_district: str) -> bool:
    """Register edits: the city office anywhere, a district officer in their district."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.DISTRICT_OFFICER and actor.district == shelter_district
