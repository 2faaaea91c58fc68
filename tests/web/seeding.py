"""What the browser tests' app holds: its people and shelters (seeded for every test), and
two richer scenes a test asks for by fixture: a monitored shelter (sensors, a week of
readings, an alert, a rust finding with its notice) and an office's day (live values, a
warning, a fix reported and waiting for a verifier); and a correction waiting for approval."""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.db import session_factory
from api.state import AppState
from inspection import inspections, registry
from inspection.access import SYSTEM, Actor
from inspection.models import Finding, Followup, Inspection, Role, User
from inspection.schemas import FindingIn, InspectionCreate, SensorCreate, ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry import alert_store
from telemetry.alert_rules import TIERS, Severity
from telemetry.alert_store import NewAlert
from telemetry.instants import to_ms
from telemetry.readings import Reading
from telemetry.sql_store import SqlReadingStore
from tests.conftest import PASSWORD

API_TIMEOUT = httpx.Timeout(120.0)
"""How long a request the tests send to the live server may take before it counts as hung:
an upper bound for a busy machine (httpx's own default of 5 s is not), never a wait."""

DISTRICT = "黄浦区"
INSPECTOR = "inspector-wang"
MANAGER = "manager-li"
OFFICER = "officer-zhou"
ADMIN = "admin-chen"
OTHER_MANAGER = "manager-zhao"
OUT_OF_SCOPE = "JA-001"
"""Another district's shelter, managed by OTHER_MANAGER: out of everyone else's scope but the
city office's."""
PEOPLE = (
    (INSPECTOR, Role.INSPECTOR, DISTRICT, "王检查"),
    (MANAGER, Role.MANAGER, None, "李工程长"),
    (OFFICER, Role.DISTRICT_OFFICER, DISTRICT, "周科长"),
    (ADMIN, Role.ADMIN, None, "陈管理"),
    (OTHER_MANAGER, Role.MANAGER, None, "赵工程长"),
)


@dataclass(frozen=True)
class Site:
    """The running app: its base URL, its database, the inspector's shelters and the app's
    state (to seed what the app would receive from elsewhere: readings, alerts)."""

    base: str
    engine: Engine
    shelters: tuple[str, ...]
    state: AppState


def seed_site(state: AppState) -> tuple[str, ...]:
    now = state.clock()
    codes = ("HP-001", "HP-002")
    with state.sessions() as session:
        for name, role, district, display_name in PEOPLE:
            create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=district,
                    password=PASSWORD,
                    display_name=display_name,
                    phone="13800000000" if role == Role.MANAGER else None,
                ),
                actor=SYSTEM,
                now=now,
            )
        for number, code in enumerate(codes, start=1):
            registry.create_shelter(
                session,
                ShelterCreate(
                    code=code,
                    name=f"黄浦区第{number}号人防工程（示范小区地下车库）",
                    district=DISTRICT,
                    address=f"黄浦区示范路{number}号地下一层",
                    manager=MANAGER,
                    inspector=INSPECTOR,
                    wartime_function="人员掩蔽",
                    peacetime_use="停车场",
                    responsible_unit="示范物业管理有限公司",
                ),
                actor=SYSTEM,
                now=now,
            )
        registry.create_shelter(  # another district and manager: out of the others' scope
            session,
            ShelterCreate(
                code=OUT_OF_SCOPE,
                name="静安区第1号人防工程",
                district="静安区",
                manager=OTHER_MANAGER,
            ),
            actor=SYSTEM,
            now=now,
        )
        session.commit()
    return codes


def actor(session: Session, username: str) -> Actor:
    user = session.scalars(select(User).where(User.username == username)).one()
    return Actor(id=user.id, username=user.username, role=Role(user.role), district=user.district)


def submit(
    site: Site,
    session: Session,
    code: str,
    data: InspectionCreate,
    *,
    username: str = INSPECTOR,
    now: datetime | None = None,
) -> Inspection:
    """``data`` submitted for ``code`` by ``username`` through the inspection service, as the
    API would (the site's policy, zone and records start), not committed."""
    state = site.state
    return inspections.submit(
        session,
        code,
        data,
        actor=actor(session, username),
        now=state.clock() if now is None else now,
        policy=state.policy,
        tz=state.settings.timezone,
        records_start=state.settings.records_start_at(),
    )


def found(item: str, note: str, *, at: datetime) -> InspectionCreate:
    """A visit at ``at`` that found one ``item``."""
    return InspectionCreate(inspected_at=at, findings=[FindingIn(item=item, note=note)])


def png(width: int = 32, height: int = 24) -> bytes:
    """A small real PNG (a colour gradient), as a phone camera would give a photo."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 8 % 256, y * 10 % 256, 128)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


SENSORS = ("HP1-A", "HP1-B")


@dataclass(frozen=True)
class Monitored:
    """What the fixture seeded on the first shelter."""

    code: str
    alert_id: int
    finding_id: int
    notice_number: str


def seed_monitored(site: Site) -> Monitored:
    """Two sensors on the first shelter with a week of hourly readings and their live values,
    an active humidity alert, and an inspection whose rust finding started a notice."""
    state = site.state
    now = state.clock()
    code = site.shelters[0]
    with state.sessions() as session:
        for number, sensor in enumerate(SENSORS):
            registry.add_sensor(
                session,
                code,
                SensorCreate(sensor_id=sensor, zone=f"{'AB'[number]}区", expected_interval_s=3600),
                actor=SYSTEM,
                now=now - timedelta(days=8),
            )
        session.commit()
    readings = [
        Reading(
            shelter_code=code,
            sensor_id=sensor,
            ts=now - timedelta(hours=hour),
            temperature=round(18 + 3 * math.sin(hour / 4) + number, 2),
            humidity=round(70 + 8 * math.cos(hour / 6), 1),
            fire_risk=round((hour * 7 + number * 20) % 95, 1),
        )
        for hour in range(1, 7 * 24)
        for number, sensor in enumerate(SENSORS)
    ]
    SqlReadingStore(site.engine).write(readings)
    with state.sessions() as session:
        alert_store.upsert_live(
            session,
            [
                {
                    "sensor_id": sensor,
                    "shelter_code": code,
                    "last_seen_ms": int((now - timedelta(minutes=5)).timestamp() * 1000),
                    "temperature": 21.5 + number,
                    "humidity": 82.0,
                    "fire_risk": 45.0 + number * 40,
                    "dew_point": None,
                    "battery": None,
                    "updated_at_ms": int(now.timestamp() * 1000),
                }
                for number, sensor in enumerate(SENSORS)
            ],
        )
        alert = alert_store.raise_alert(
            session,
            NewAlert(
                sensor_id=SENSORS[0],
                shelter_code=code,
                district=DISTRICT,
                zone="A区",
                condition="humidity",
                rule="humidity_warning",
                severity=Severity.WARNING,
                message="湿度超过75%持续24小时（当前值 82）",
                value=82.0,
                threshold=75.0,
                late=False,
                raised_at=now - timedelta(hours=1),
                condition_since=now - timedelta(hours=25),
            ),
        )
        assert alert is not None
        inspection = submit(
            site,
            session,
            code,
            found("EQ-RUST", "防护密闭门门框锈蚀", at=now - timedelta(days=1)),
            now=now,
        )
        finding = session.scalars(
            select(Finding).where(Finding.inspection_id == inspection.id)
        ).one()
        followup = session.scalars(select(Followup)).one()
        session.commit()
        return Monitored(code, alert.id, finding.id, followup.number)


def raise_alert(site: Site, code: str, sensor: str, rule: str, severity: Severity) -> int:
    with session_factory(site.engine)() as session:
        now = datetime.now(UTC)
        view = alert_store.raise_alert(
            session,
            NewAlert(
                sensor_id=sensor,
                shelter_code=code,
                district=DISTRICT,
                zone="滤毒室",
                condition=TIERS[rule][0] if rule in TIERS else rule,
                rule=rule,
                severity=severity,
                message="滤毒室湿度持续超过75%" if rule == "humidity_warning" else "温度过高",
                value=81.0,
                threshold=75.0,
                late=False,
                raised_at=now,
                condition_since=now - timedelta(hours=24),
            ),
        )
        assert view is not None
        session.commit()
        return view.id


def report_fix(site: Site, username: str, finding_id: int, note: str) -> None:
    """``username`` logs in and reports a fix of ``finding_id`` with a photo, through the live
    server as the app would."""
    token = httpx.post(
        f"{site.base}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=API_TIMEOUT,
    ).json()["access_token"]
    reported = httpx.post(
        f"{site.base}/api/v1/findings/{finding_id}/fix",
        headers={"Authorization": f"Bearer {token}"},
        data={"note": note},
        files=[("files", ("fix.png", png(), "image/png"))],
        timeout=API_TIMEOUT,
    )
    assert reported.status_code == 200, reported.text


def seed_office(site: Site) -> None:
    """On top of the site: a sensor with live values, readings and a warning on HP-001, and
    a rust finding on HP-001 whose fix the manager has reported with a photo."""
    now = datetime.now(UTC)
    with session_factory(site.engine)() as session:
        registry.add_sensor(
            session,
            site.shelters[0],
            SensorCreate(sensor_id="HP-001-S1", zone="滤毒室"),
            actor=SYSTEM,
            now=now,
        )
        alert_store.upsert_live(
            session,
            [
                {
                    "sensor_id": "HP-001-S1",
                    "shelter_code": site.shelters[0],
                    "last_seen_ms": to_ms(now),
                    "temperature": 18.5,
                    "humidity": 81.0,
                    "fire_risk": 46.0,
                    "dew_point": 15.2,
                    "battery": 3.6,
                    "updated_at_ms": to_ms(now),
                }
            ],
        )
        inspection = submit(
            site,
            session,
            site.shelters[0],
            found("EQ-RUST", "门框锈蚀", at=now - timedelta(hours=1)),
        )
        finding_id = session.scalars(
            select(Finding.id).where(Finding.inspection_id == inspection.id)
        ).one()
        session.commit()
    report_fix(site, MANAGER, finding_id, "已除锈刷漆")
    SqlReadingStore(site.engine).write(
        [
            Reading(
                site.shelters[0],
                "HP-001-S1",
                now - timedelta(minutes=30 * n),
                temperature=18.0 + (n % 7) * 0.3,
                humidity=72.0 + (n % 11),
                fire_risk=30.0 + (n % 5) * 4,
                fire_risk_version="fri-1",
                district=DISTRICT,
                zone="滤毒室",
            )
            for n in range(48)
        ]
    )
    raise_alert(site, site.shelters[0], "HP-001-S1", "humidity_warning", Severity.WARNING)


CORRECTION_REASON = "复核照片：门框为新刷油漆反光，并无锈蚀，系误判"


def seed_pending_correction(site: Site, code: str, author: str) -> tuple[int, int]:
    """An inspection of ``code`` by the site's inspector with a rust finding (class 2), and a
    correction of it by ``author`` that removes the finding, waiting for approval: the ids
    of the corrected inspection and of the correction."""
    now = datetime.now(UTC)
    visit = now - timedelta(hours=2)
    with session_factory(site.engine)() as session:
        first = submit(site, session, code, found("EQ-RUST", "门框锈蚀", at=visit), now=now).id
        correction = submit(
            site,
            session,
            code,
            InspectionCreate(
                inspected_at=visit, corrects=first, correction_reason=CORRECTION_REASON
            ),
            username=author,
            now=now,
        ).id
        session.commit()
        return first, correction
