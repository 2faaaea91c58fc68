"""Sweeps in the real headless Chromium: the city office reads a sweep's progress and its
figures by district and inspector, and assigns a shelter with the keyboard; the inspector's
list then shows it first under 本轮巡查 with its due date. Every page is checked to fit a
390 px screen, to load nothing from another origin, and by axe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from api.db import session_factory
from inspection import sweeps
from inspection.schemas import SweepCreate
from tests.web.axe import Audit
from tests.web.browsing import click, css, log_in, log_out, text_of, wait
from tests.web.seeding import ADMIN, DISTRICT, INSPECTOR, OFFICER, Site, actor

pytestmark = pytest.mark.browser


def plan(site: Site) -> None:
    """A sweep over the district, running from yesterday to the end of next week."""
    today = datetime.now(UTC).date()
    with session_factory(site.engine)() as session:
        sweeps.create_sweep(
            session,
            SweepCreate(
                name="2026年上半年巡查",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=10),
                districts=[DISTRICT],
            ),
            actor=actor(session, ADMIN),
            now=datetime.now(UTC),
            tz=site.state.settings.timezone,
        )
        session.commit()


def test_the_office_assigns_a_shelter_that_the_inspector_sees_first(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    plan(site)
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, ADMIN, landing="nav a[href='#/sweeps']")
    click(browser, "nav a[href='#/sweeps']")
    text_of(browser, "#sweep-list li", "2026年上半年巡查")
    bar = css(browser, "#sweep-list progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("0", "2")
    click(browser, "#sweep-list details summary")
    text_of(browser, "table.sweep-table", DISTRICT)
    audit.check("sweeps")

    # assign the second shelter to the inspector, with the keyboard only
    summaries = browser.find_elements(By.CSS_SELECTOR, "details.card > summary")
    summaries[1].send_keys(Keys.ENTER)
    Select(css(browser, "#assign-form select[name=district]")).select_by_value(DISTRICT)
    wait(
        browser,
        "the district's shelters",
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "#assign-form select[name=shelters] option")) == 2
        ),
    )
    Select(css(browser, "#assign-form select[name=shelters]")).select_by_value(site.shelters[1])
    name = css(browser, "#assign-form input[name=inspector]")
    name.send_keys(INSPECTOR)
    name.send_keys(Keys.ENTER)
    text_of(browser, "#assign-form .notice-ok", "1")
    text_of(browser, "#sweep-list li", "已分配 1")
    audit.check("sweeps-assign")
    log_out(browser)

    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    text_of(browser, "#sweep-heading", "本轮巡查")
    first = browser.find_elements(By.CSS_SELECTOR, "#shelter-list a")[0]
    assert site.shelters[1] in first.text and "2026年上半年巡查" in first.text
    audit.check("shelters-sweep")
    log_out(browser)

    log_in(browser, site, OFFICER, landing="#nav a")
    browser.get(site.base + "/#/sweeps")
    text_of(browser, "#sweep-list li", "2026年上半年巡查")
    assert not browser.find_elements(By.CSS_SELECTOR, "#sweep-form")  # the office plans
    audit.check("sweeps-officer")
    audit.assert_clean()
