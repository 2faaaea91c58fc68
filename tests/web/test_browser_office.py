"""The office dashboard in the real headless Chromium: an officer reads the compliance rate,
watches an alert arrive without reloading and the rate follow a verified fix, exports and
imports; the city office sees every district and the map when a tile server is configured.
Every page is checked to fit a 390 px screen and to load nothing from another origin (the map
tiles only from the configured server), and is photographed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import session_factory
from inspection import fixes, inspections, registry
from inspection.access import SYSTEM, Actor
from inspection.grading import FollowupPolicy
from inspection.models import Finding, Role, User
from inspection.schemas import FindingIn, InspectionCreate, SensorCreate
from telemetry import alert_store
from telemetry.alert_rules import TIERS, Severity
from telemetry.alert_store import NewAlert, to_ms
from telemetry.readings import Reading
from telemetry.sql_store import SqlReadingStore
from tests.conftest import PASSWORD
from tests.web.conftest import ADMIN, DISTRICT, INSPECTOR, MANAGER, OFFICER, Site, png
from tests.web.test_browser_inspector import check_page, css, text_of

pytestmark = pytest.mark.browser


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


@pytest.fixture
def office(site: Site) -> Site:
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
            tz=site.state.settings.timezone,
        )
        finding_id = session.scalars(
            select(Finding.id).where(Finding.inspection_id == inspection.id)
        ).one()
        session.commit()
    token = httpx.post(
        f"{site.base}/api/v1/auth/token", data={"username": MANAGER, "password": PASSWORD}
    ).json()["access_token"]
    fixed = httpx.post(
        f"{site.base}/api/v1/findings/{finding_id}/fix",
        headers={"Authorization": f"Bearer {token}"},
        data={"note": "已除锈刷漆"},
        files=[("files", ("fix.png", png(), "image/png"))],
    )
    assert fixed.status_code == 200, fixed.text
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


def live(driver: WebDriver, what: str, selector: str, contains: str = "", count: int = 0) -> None:
    """Wait for a part of the page that polls and redraws itself: elements may be replaced
    between being found and being read, which is retried, not failed."""

    def seen(d: WebDriver) -> bool:
        found = d.find_elements(By.CSS_SELECTOR, selector)
        if count:
            return len(found) == count
        return any(e.is_displayed() and contains in e.text for e in found)

    WebDriverWait(driver, 90, ignored_exceptions=(StaleElementReferenceException,)).until(
        seen, message=f"waiting for {what}"
    )


def log_in(driver: WebDriver, site: Site, username: str) -> None:
    """Log in and open the dashboard."""
    driver.get(site.base + "/")
    css(driver, "input[name=username]").send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    live(driver, "the navigation of the logged-in user", "#nav a")
    driver.get(site.base + "/#/dashboard")
    css(driver, "#compliance-rate")


def test_an_officer_sees_the_rate_and_alerts_arriving_live(
    office: Site, browser: WebDriver, screenshots: Path
) -> None:
    log_in(browser, office, OFFICER)
    # HP-001 is class 2 (open rust), HP-002 ungraded: 0 of 2 in class 1
    text_of(browser, "#compliance-rate", "0%")
    text_of(browser, "table.rates", DISTRICT)
    live(browser, "the grid", "#shelter-grid .cell")
    live(browser, "the open alert", "#live-alerts li", "滤毒室")
    check_page(browser, office, screenshots, "30-officer-dashboard")

    raise_alert(office, office.shelters[0], "HP-001-S1", "temperature_high", Severity.CRITICAL)
    # no reload: the list and the grid poll with their ETags
    live(browser, "the new alert on the open dashboard", "#live-alerts li", count=2)
    live(browser, "the critical outline on the grid", "#shelter-grid .cell.alert-critical")

    # the reported fix is verified (the follow-ups screen that does it is tested apart)
    with session_factory(office.engine)() as session:
        finding_id = session.scalars(select(Finding.id)).one()
        now = datetime.now(UTC)
        fixes.verify(session, finding_id, "现场确认", actor=actor(session, OFFICER), now=now)
        session.commit()
    browser.refresh()
    text_of(browser, "#compliance-rate", "50%")  # HP-001 back in class 1

    browser.get(f"{office.base}/#/exchange")
    css(browser, "#import-form")
    check_page(browser, office, screenshots, "32-officer-exchange")


def test_the_city_office_sees_every_district(
    office: Site, browser: WebDriver, screenshots: Path
) -> None:
    log_in(browser, office, ADMIN)
    text_of(browser, "table.rates", "静安区")  # JA-001, the site's other district
    live(browser, "both districts on the grid", ".grid-district", count=2)
    check_page(browser, office, screenshots, "40-admin-dashboard")
    browser.find_element(By.ID, "lang-switch").click()
    text_of(browser, "h1", "Overview")
    check_page(browser, office, screenshots, "41-admin-dashboard-en")
