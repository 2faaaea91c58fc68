"""The shelter register: shelters, their sensors, their inspections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api import devices
from api.http.deps import ActorDep, NowDep, OfficerDep, PageDep, SessionDep, StateDep
from api.http.errors import DocumentedRoute
from api.http.schemas import MqttLogin, Page, SensorWithLogin
from inspection import inspections, registry, resubmission, sweeps
from inspection.models import Sensor
from inspection.registry import ShelterFilter
from inspection.schemas import (
    InspectionCreate,
    InspectionRead,
    SensorCreate,
    SensorRead,
    SensorUpdate,
    ShelterCreate,
    ShelterDetail,
    ShelterListItem,
    ShelterUpdate,
)
from telemetry.ports import DeviceLogin

router = APIRouter(prefix="/api/v1/shelters", tags=["shelters"], route_class=DocumentedRoute)


@router.post("", response_model=ShelterDetail, status_code=201)
def create(
    data: ShelterCreate, session: SessionDep, actor: OfficerDep, now: NowDep
) -> ShelterDetail:
    """Register a shelter (city office anywhere, a district officer in their district)."""
    shelter = registry.create_shelter(session, data, actor=actor, now=now)
    return inspections.shelter_detail(
        session, registry.get_shelter(session, shelter.code, actor=actor), now=now
    )


@router.get("", response_model=Page[ShelterListItem])
def index(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    now: NowDep,
    district: str | None = None,
    current_class: Annotated[int | None, Query(ge=1, le=4)] = None,
    ungraded: bool = False,
    manager: str | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name or code contains")] = None,
) -> Page[ShelterListItem]:
    """Shelters the caller may see, filtered and paginated, ordered by code. An inspector's
    list puts first the shelters assigned to them in a running sweep (the sweep ending first
    first), each marked with that sweep (``sweep``: its id, name, last day and whether the
    shelter is inspected in it already); the others follow by code."""
    flt = ShelterFilter(
        district=district,
        current_class=current_class,
        ungraded=ungraded,
        manager=manager,
        active=active,
        q=q,
    )
    rows, total = registry.list_shelters(
        session, flt, actor=actor, limit=page.limit, offset=page.offset, now=now
    )
    marks = sweeps.marks(session, [s.id for s in rows], actor=actor, now=now)
    items = [
        ShelterListItem(**registry.to_read(s).model_dump(), sweep=marks.get(s.id)) for s in rows
    ]
    return Page[ShelterListItem](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{code}", response_model=ShelterDetail)
def detail(code: str, session: SessionDep, actor: ActorDep, now: NowDep) -> ShelterDetail:
    """The shelter with its current class, open findings (with deadlines) and sensors."""
    return inspections.shelter_detail(
        session, registry.get_shelter(session, code, actor=actor), now=now
    )


@router.patch("/{code}", response_model=ShelterDetail)
def update(
    code: str, data: ShelterUpdate, session: SessionDep, actor: OfficerDep, now: NowDep
) -> ShelterDetail:
    shelter = registry.update_shelter(session, code, data, actor=actor, now=now)
    return inspections.shelter_detail(session, shelter, now=now)


def _with_login(sensor: Sensor, login: DeviceLogin | None) -> SensorWithLogin:
    out = SensorWithLogin.model_validate(sensor)
    out.mqtt = None if login is None else MqttLogin.model_validate(login)
    return out


@router.post("/{code}/sensors", response_model=SensorWithLogin, status_code=201)
def add_sensor(
    code: str,
    data: SensorCreate,
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
) -> SensorWithLogin:
    """Register a sensor; the answer carries its MQTT login, shown once."""
    sensor, login = devices.register_sensor(
        session, state.devices, code, data, actor=actor, now=now
    )
    return _with_login(sensor, login)


@router.patch("/{code}/sensors/{sensor_id}", response_model=SensorWithLogin)
def update_sensor(
    code: str,
    sensor_id: str,
    data: SensorUpdate,
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
) -> SensorWithLogin:
    """Change zone or interval, move to another shelter (``shelter``; a new MQTT login,
    shown once) or retire (``active: false``; its login is revoked at once)."""
    sensor, login = devices.update_sensor(
        session, state.devices, code, sensor_id, data, actor=actor, now=now
    )
    return _with_login(sensor, login)


@router.post("/{code}/sensors/{sensor_id}/credentials", response_model=MqttLogin)
def renew_credentials(
    code: str, sensor_id: str, session: SessionDep, actor: OfficerDep, now: NowDep, state: StateDep
) -> MqttLogin:
    """A new MQTT password for the sensor, shown once; the old one stops working at once."""
    login = devices.renew_credentials(session, state.devices, code, sensor_id, actor=actor, now=now)
    return MqttLogin.model_validate(login)


@router.get("/{code}/sensors", response_model=list[SensorRead])
def sensors(code: str, session: SessionDep, actor: ActorDep) -> list[SensorRead]:
    return [SensorRead.model_validate(s) for s in registry.list_sensors(session, code, actor=actor)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="one key per inspection, chosen by the client (e.g. a UUID); a repeat "
        "with the same key and body answers 200 with the inspection already stored, the "
        "same key with another body 409 idempotency_mismatch",
    ),
]


@router.post(
    "/{code}/inspections",
    response_model=InspectionRead,
    status_code=201,
    responses={
        200: {"model": InspectionRead, "description": "a repeat: the inspection already stored"},
        409: {"description": "the Idempotency-Key was used for a different submission"},
    },
)
def submit_inspection(
    code: str,
    data: InspectionCreate,
    session: SessionDep,
    actor: ActorDep,
    now: NowDep,
    state: StateDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> InspectionRead:
    """Submit a signed inspection as the logged-in inspector; the server grades it and
    creates the follow-up, dated at ``inspected_at`` with deadlines counted from then
    (``inspected_at`` not before the records begin, ``SHELTERWATCH_RECORDS_START``, nor more
    than 5 minutes ahead; an inspection entered more than 7 days after the visit needs a
    ``late_reason``). Photos
    attach afterwards (POST /api/v1/inspections/{id}/photos). With an ``Idempotency-Key`` a
    retried submission stores one inspection."""
    tz, records_start = state.settings.timezone, state.settings.records_start_at()
    if idempotency_key is None:
        inspection = inspections.submit(
            session,
            code,
            data,
            actor=actor,
            now=now,
            policy=state.policy,
            tz=tz,
            records_start=records_start,
        )
    else:
        inspection, created = resubmission.submit_once(
            session,
            code,
            data,
            key=idempotency_key,
            actor=actor,
            now=now,
            policy=state.policy,
            tz=tz,
            records_start=records_start,
        )
        if not created:
            response.status_code = 200
    return inspections.inspection_read(session, inspection, now=now)


@router.get("/{code}/inspections", response_model=Page[InspectionRead])
def shelter_inspections(
    code: str, session: SessionDep, actor: ActorDep, page: PageDep, now: NowDep
) -> Page[InspectionRead]:
    rows, total = inspections.list_inspections(
        session, code, actor=actor, limit=page.limit, offset=page.offset
    )
    return Page[InspectionRead](
        items=[inspections.inspection_read(session, i, now=now) for i in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
