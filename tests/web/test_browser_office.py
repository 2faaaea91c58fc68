"""The office dashboard in the real headless Chromium: an officer reads the compliance rate,
watches an alert arrive without reloading and the rate follow a verified fix, exports and
imports; the city office sees every district, the shelters with water, and the map when a tile
server is configured.
Every page is checked to fit a 390 px screen and to load nothing from another origin (the map
tiles only from the configured server), and is photographed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select

from api.db import session_factory
from inspection import fixes
from inspection.models import Finding
from telemetry.alert_rules import Severity
from tests.web.browsing import check_page, css, live, log_in, text_of
from tests.web.seeding import ADMIN, DISTRICT, OFFICER, Site, actor, raise_alert

pytestmark = pytest.mark.browser


def open_dashboard(driver: WebDriver, site: Site, username: str) -> None:
    log_in(driver, site, username, landing="#nav a")
    driver.get(site.base + "/#/dashboard")
    css(driver, "#compliance-rate")


def test_an_officer_sees_the_rate_and_alerts_arriving_live(
    office: Site, browser: WebDriver, screenshots: Path
) -> None:
    open_dashboard(browser, office, OFFICER)
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
    open_dashboard(browser, office, ADMIN)
    text_of(browser, "table.rates", "静安区")  # JA-001, the site's other district
    live(browser, "both districts on the grid", ".grid-district", count=2)
    text_of(browser, "#shelters-with-water", "水浸工程 0 处")  # beside the open alerts
    check_page(browser, office, screenshots, "40-admin-dashboard")
    browser.find_element(By.ID, "lang-switch").click()
    text_of(browser, "h1", "Overview")
    text_of(browser, "#shelters-with-water", "Shelters with water: 0")
    check_page(browser, office, screenshots, "41-admin-dashboard-en")
