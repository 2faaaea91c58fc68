"""The office dashboard in the real headless Chromium: an officer reads the compliance rate,
watches an alert arrive without reloading and the rate follow a verified fix, exports and
imports; the city office sees every district and the map when a tile server is configured.
Every page is checked to fit a 390 px screen and to load nothing from another origin (the map
tiles only from the configured server), and is photographed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import session_factory
from inspection import fixes, inspections, registry
from inspection.access import SYSTEM, Actor
from inspection.attachments import Upload
from inspection.grading import FollowupPolicy
from inspection.models import Finding, Role, User
from inspection.schemas import FindingIn, InspectionCreate, SensorCreate, ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry import alert_store
from telemetry.alert_rules import Severity
from telemetry.alert_store import NewAlert, to_ms
from telemetry.readings import Reading
from telemetry.sql_store import SqlReadingStore
from tests.conftest import PASSWORD
from tests.web.conftest import DISTRICT, INSPECTOR, Site, png
from tests.web.test_browser_inspector import check_page, css, text_of, wait

pytestmark = pytest.mark.browser

MANAGER = "manager-li"
OTHER_MANAGER = "manager-zhao"
OFFICER = "officer-chen"
OTHERS_SHELTER = "HP-009"


def actor(session: Session, username: str) -> Actor:
    user = session.scalars(select(User).where(User.username == username)).one()
    return Actor(id=user.id, username=user.username, role=Role(user.role), district=user.district)


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


@pytest.fixture
def office(site: Site) -> Site:
    """On top of the site: an officer of the district, another manager with a shelter of
    their own, a sensor with live values and a warning on HP-001, and a rust finding on
    HP-001 whose fix the manager has reported with a photo."""
    now = datetime.now(UTC)
    with session_factory(site.engine)() as session:
        for name, role in ((OFFICER, Role.DISTRICT_OFFICER), (OTHER_MANAGER, Role.MANAGER)):
            create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=DISTRICT if role == Role.DISTRICT_OFFICER else None,
                    password=PASSWORD,
                ),
                actor=SYSTEM,
                now=now,
            )
        registry.create_shelter(
            session,
            ShelterCreate(
                code=OTHERS_SHELTER,
                name="黄浦区第9号人防工程",
                district=DISTRICT,
                manager=OTHER_MANAGER,
            ),
            actor=SYSTEM,
            now=now,
        )
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
        inspection = inspections.submit(
            session,
            site.shelters[0],
            InspectionCreate(
                inspected_at=now - timedelta(hours=1),
                findings=[FindingIn(item="EQ-RUST", note="门框锈蚀")],
            ),
            actor=actor(session, INSPECTOR),
            now=now,
            policy=FollowupPolicy(),
        )
        finding_id = session.scalars(
            select(Finding.id).where(Finding.inspection_id == inspection.id)
        ).one()
        fixes.report_fix(
            session,
            finding_id,
            "已除锈刷漆",
            [Upload("fix.png", "image/png", png())],
            actor=actor(session, MANAGER),
            now=now,
            max_bytes=1 << 20,
        )
        session.commit()
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
    return site


def log_in(driver: WebDriver, site: Site, username: str, lands_on: str) -> None:
    driver.get(site.base + "/")
    css(driver, "input[name=username]").send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    css(driver, lands_on)


def test_an_officer_sees_the_rate_and_alerts_arriving_live(
    office: Site, browser: WebDriver, screenshots: Path
) -> None:
    log_in(browser, office, OFFICER, "#compliance-rate")
    # HP-001 is class 2 (open rust), HP-002 and HP-009 ungraded: 0 of 3 in class 1
    text_of(browser, "#compliance-rate", "0%")
    text_of(browser, "table.rates", DISTRICT)
    css(browser, "#shelter-grid .cell")
    css(browser, "#live-alerts li")
    check_page(browser, office, screenshots, "30-officer-dashboard")

    raise_alert(office, office.shelters[0], "HP-001-S1", "temperature_high", Severity.CRITICAL)
    wait(  # no reload: the list polls with its ETag
        browser,
        "the new alert on the open dashboard",
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#live-alerts li")) == 2,
        timeout=60,
    )
    css(browser, "#shelter-grid .cell.alert-critical", timeout=60)

    with session_factory(
        office.engine
    )() as session:  # the fix is verified (its screen is tested apart)
        finding_id = session.scalars(select(Finding.id)).one()
        fixes.verify(
            session, finding_id, "现场确认", actor=actor(session, OFFICER), now=datetime.now(UTC)
        )
        session.commit()
    browser.get(f"{office.base}/#/dashboard")
    text_of(browser, "#compliance-rate", "33.3%")  # HP-001 back in class 1

    browser.get(f"{office.base}/#/exchange")
    css(browser, "#import-form")
    check_page(browser, office, screenshots, "32-officer-exchange")
