"""Sweeps in the real headless Chromium: the city office reads a sweep's progress and its
figures by district and inspector, and assigns a shelter with the keyboard; the inspector's
list then shows it first under 本轮巡查 with its due date, and the inspector is told in the
outbox. The office renames a running sweep, is refused a last day before today, prolongs it
and adds a shelter to it. Every page is checked to fit a 390 px screen, to load nothing
from another origin, and by axe."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from api.db import session_factory
from inspection import sweeps
from inspection.models import AuditEntry, Notification
from inspection.schemas import SweepCreate
from tests.web.axe import Audit
from tests.web.browsing import click, css, log_in, log_out, text_of, wait
from tests.web.seeding import ADMIN, DISTRICT, INSPECTOR, OFFICER, Site, actor

pytestmark = pytest.mark.browser


NAME = "2026年上半年巡查"


def plan(site: Site, *, shelters: tuple[str, ...] = ()) -> None:
    """A sweep running from yesterday to the end of next week, over the district or over
    ``shelters`` when given."""
    today = datetime.now(UTC).date()
    with session_factory(site.engine)() as session:
        sweeps.create_sweep(
            session,
            SweepCreate(
                name=NAME,
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=10),
                districts=[] if shelters else [DISTRICT],
                shelters=list(shelters),
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
    with session_factory(site.engine)() as session:
        [told] = session.scalars(
            select(Notification).where(Notification.kind == "sweep_assigned")
        ).all()
        assert NAME in told.body and site.shelters[1] in told.body, told.body
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


def _set_date(browser: WebDriver, selector: str, day: date) -> None:
    """A date field's value, as its picker would set it (typed keys depend on the locale)."""
    browser.execute_script(
        "arguments[0].value = arguments[1]", css(browser, selector), day.isoformat()
    )


def test_the_office_renames_prolongs_and_adds_a_shelter_to_a_running_sweep(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    plan(site, shelters=(site.shelters[0],))
    today = datetime.now(UTC).date()
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, ADMIN, landing="nav a[href='#/sweeps']")
    click(browser, "nav a[href='#/sweeps']")
    bar = css(browser, "#sweep-list progress")
    assert bar.get_attribute("max") == "1"
    click(browser, "#sweep-list details.sweep-edit summary")
    name = css(browser, ".sweep-edit-form input[name=name]")
    name.clear()
    name.send_keys("2026年上半年巡查（延长）")
    _set_date(browser, ".sweep-edit-form input[name=ends_on]", today - timedelta(days=1))
    click(browser, ".sweep-edit-form button[type=submit]")
    text_of(browser, ".sweep-edit-form .notice-error", "结束日期不能早于今天")
    audit.check("sweeps-edit-refused")

    _set_date(browser, ".sweep-edit-form input[name=ends_on]", today + timedelta(days=30))
    click(browser, ".sweep-edit-form button[type=submit]")
    text_of(browser, "h1 + div .notice-ok", "已保存")
    text_of(browser, "#sweep-list li", "2026年上半年巡查（延长）")

    click(browser, "#sweep-list details.sweep-edit summary")
    css(browser, ".sweep-add-form input[name=shelters]").send_keys(site.shelters[1])
    click(browser, ".sweep-add-form button[type=submit]")
    text_of(browser, "h1 + div .notice-ok", "已加入 1 处工程")
    wait(
        browser,
        "the sweep to count two shelters",
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#sweep-list progress").get_attribute("max") == "2"
        ),
    )
    click(browser, "#sweep-list details.sweep-edit summary")
    css(browser, ".sweep-add-form")
    audit.check("sweeps-edit")
    audit.assert_clean()

    with session_factory(site.engine)() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "sweep").order_by(AuditEntry.id)
        ).all()
    assert actions == ["sweep.create", "sweep.update", "sweep.add_shelters"]
