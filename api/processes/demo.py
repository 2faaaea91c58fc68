"""Demo data for a first run on the embedded default: people of every role, a fleet of
simulated shelters with sensors, and inspections that put them in every class. Runs once:
an existing database is left as it is. Credentials are written to ``var_dir/demo-login.txt``.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from api.db import unit_of_work
from api.state import AppState
from inspection import inspections, registry
from inspection.access import SYSTEM, Actor
from inspection.models import Role, User
from inspection.schemas import FindingIn, InspectionCreate, SensorCreate, ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry.mqtt import BrokerAddress
from telemetry.sim_model import Fleet
from telemetry.simulate import Simulator

DEMO_FINDINGS: tuple[tuple[str, ...], ...] = (
    (),
    ("EQ-RUST", "SIGN-INCOMPLETE"),
    ("DOOR-NOT-CLOSING", "CIVIL-SEEPAGE"),
    ("STRUCT-WALL-PENETRATION",),
    (),
    ("CIVIL-DEBRIS",),
)

DEMO_MANAGERS = (("王建国", "13900000001"), ("李秀英", "13900000002"), ("张伟", "13900000003"))


def demo_fleet(interval_s: int = 10) -> Fleet:
    return Fleet.generate(12, 2, seed=7, interval_s=interval_s)


def seed(state: AppState, fleet: Fleet, login_file: Path) -> bool:
    """Create the demo data unless users exist; returns True when it did."""
    now = state.clock()
    with unit_of_work(state.sessions) as session:
        if session.scalar(select(func.count()).select_from(User)):
            return False
        lines = []

        def person(
            name: str,
            role: Role,
            district: str | None = None,
            *,
            real_name: str = "",
            phone: str | None = None,
        ) -> User:
            password = secrets.token_urlsafe(12)  # one per account: none opens another
            user, key = create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=district,
                    password=None if role == Role.PLATFORM else password,
                    display_name=real_name,
                    phone=phone,
                ),
                actor=SYSTEM,
                now=now,
            )
            lines.append(
                f"{role.value:<17} {name:<14} "
                + (f"X-API-Key: {key}" if key else f"password: {password}")
            )
            return user

        person("admin", Role.ADMIN)
        districts = sorted({s.district for s in fleet.sensors})
        for i, district in enumerate(districts, 1):
            person(f"officer{i}", Role.DISTRICT_OFFICER, district)
        inspector = person("inspector", Role.INSPECTOR)
        managers = [
            person(f"manager{i}", Role.MANAGER, real_name=real_name, phone=phone)
            for i, (real_name, phone) in enumerate(DEMO_MANAGERS, 1)
        ]
        person("platform", Role.PLATFORM)
        shelters = fleet.shelters
        for n, code in enumerate(shelters):
            sensor = next(s for s in fleet.sensors if s.shelter_code == code)
            registry.create_shelter(
                session,
                ShelterCreate(
                    code=code,
                    name=f"示范人防工程{n + 1:02d}号",
                    district=sensor.district,
                    address=f"{sensor.district}示范路{n + 1}号",
                    latitude=31.2 + n / 100,
                    longitude=121.4 + n / 100,
                    shelter_type="地下室",
                    wartime_function="人员掩蔽",
                    protection_level="6级",
                    area_m2=800.0 + 50 * n,
                    peacetime_use="停车场",
                    use_registered=True,
                    responsible_unit="示范物业公司",
                    manager=managers[n % len(managers)].username,
                    inspector=inspector.username,
                    signage_installed=n % 4 != 1,
                ),
                actor=SYSTEM,
                now=now,
            )
            for s in fleet.sensors:
                if s.shelter_code == code:
                    registry.add_sensor(
                        session,
                        code,
                        SensorCreate(
                            sensor_id=s.sensor_id,
                            zone=s.zone,
                            expected_interval_s=s.interval_s,
                        ),
                        actor=SYSTEM,
                        now=now,
                    )
        actor = Actor(inspector.id, inspector.username, Role.INSPECTOR)
        for n, code in enumerate(shelters[: len(shelters) - 2]):
            items = DEMO_FINDINGS[n % len(DEMO_FINDINGS)]
            inspections.submit(
                session,
                code,
                InspectionCreate(
                    inspected_at=now - timedelta(days=1),
                    findings=[FindingIn(item=item) for item in items],
                ),
                actor=actor,
                now=now,
                policy=state.policy,
                tz=state.settings.timezone,
                records_start=state.settings.records_start_at(),
            )
    login_file.parent.mkdir(parents=True, exist_ok=True)
    login_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    login_file.chmod(0o600)
    return True


class SimulatorComponent:
    """The simulator publishing the demo fleet in a thread, started and stopped with the app."""

    def __init__(
        self, broker_url: str, fleet: Fleet, *, protocol: str, malformed_every: int = 500
    ) -> None:
        self.simulator = Simulator(
            BrokerAddress.parse(broker_url),
            fleet=fleet,
            protocol=protocol,
            malformed_every=malformed_every,
            fire_shelter=fleet.shelters[-1],
            silent_fraction=0.05,
            silent_after_s=120.0,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.simulator.run, name="simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.simulator.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
