"""Every main page of every role, audited with axe-core against WCAG 2.1 level A and AA
(labels on every input, names on every button, contrast, landmarks, headings, the page's
language) in the real headless Chromium at 390x844, with the forms a user opens there shown
too; each page also fits the screen with no sideways scrolling and is photographed. A test
fails with every violation of its walk: the rule, its impact and the elements it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.axe import Audit
from tests.web.browsing import click, css, live, log_in, text_of, wait
from tests.web.seeding import ADMIN, INSPECTOR, MANAGER, OFFICER, OUT_OF_SCOPE, Monitored, Site

pytestmark = pytest.mark.browser

CHARTS = ("temperature", "humidity", "fire_risk", "completeness")


def switch_language(driver: WebDriver, lang: str) -> None:
    click(driver, "#lang-switch")
    wait(
        driver,
        f"the page in {lang}",
        lambda d: d.execute_script("return document.documentElement.lang") == lang,
    )


def test_the_login_and_the_inspectors_pages_pass_axe(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    audit = Audit(browser, site, screenshots)
    browser.get(site.base + "/#/login")
    css(browser, "input[name=username]")
    audit.check("login")
    switch_language(browser, "en")
    text_of(browser, "h1", "Log in")
    audit.check("login-en")
    switch_language(browser, "zh-CN")

    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    audit.check("shelters")
    browser.get(f"{site.base}/#/shelters/{site.shelters[0]}")
    css(browser, "#start-inspection")
    audit.check("shelter")
    click(browser, "#start-inspection")
    css(browser, "#inspect-form")
    click(browser, "label[for=found-EQ-RUST]")
    css(browser, "#sev-EQ-RUST")
    audit.check("inspect")
    click(browser, "#submit-inspection")
    text_of(browser, "#graded-class", "二类")
    css(browser, ".pdf-link")
    audit.check("inspection-result")
    browser.get(site.base + "/#/outbox")
    css(browser, "#sent-list .sent-item")
    audit.check("outbox")
    browser.get(f"{site.base}/#/shelters/{OUT_OF_SCOPE}")
    text_of(browser, "h1", "未找到")
    audit.check("not-found")
    audit.assert_clean()


def test_the_managers_pages_pass_axe(
    site: Site, browser: WebDriver, screenshots: Path, monitored: Monitored
) -> None:
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, MANAGER, landing=".shelter-card")
    css(browser, f"li.alert[data-alert='{monitored.alert_id}'] button.ack")
    audit.check("my-shelters")
    click(browser, f"li.finding[data-finding='{monitored.finding_id}'] button.report-fix")
    css(browser, "form.fix-form textarea")
    audit.check("my-report-fix")
    browser.get(f"{site.base}/#/my/{monitored.code}")
    click(browser, f"li.alert[data-alert='{monitored.alert_id}'] button.resolve")
    css(browser, "form.resolve-form textarea")
    audit.check("my-shelter-resolve")
    browser.get(f"{site.base}/#/shelters/{monitored.code}/charts")
    for chart in CHARTS:
        css(browser, f"#chart-{chart}[data-ready=true] canvas")
    audit.check("charts")
    browser.get(site.base + "/#/my")
    css(browser, ".shelter-card")
    switch_language(browser, "en")
    text_of(browser, "h1", "My shelters")
    audit.check("my-shelters-en")
    audit.assert_clean()


def test_the_officers_pages_pass_axe(office: Site, browser: WebDriver, screenshots: Path) -> None:
    audit = Audit(browser, office, screenshots)
    log_in(browser, office, OFFICER, landing="#nav a")
    browser.get(office.base + "/#/followups")
    css(browser, ".followup .pdf-link")
    wait(
        browser,
        "the photo of the fix",
        lambda d: d.execute_script(
            "const i = document.querySelector('.evidence img'); return i && i.naturalWidth > 0"
        ),
    )
    click(browser, "button.verify")
    css(browser, "form.verify-form textarea")
    audit.check("followups")
    browser.get(office.base + "/#/dashboard")
    css(browser, "#compliance-rate")
    live(browser, "the grid", "#shelter-grid .cell")
    live(browser, "the open alert", "#live-alerts li", "滤毒室")
    audit.check("dashboard")
    browser.get(office.base + "/#/exchange")
    css(browser, "#import-form")
    audit.check("exchange")
    audit.assert_clean()


def test_the_city_offices_pages_pass_axe(
    office: Site, browser: WebDriver, screenshots: Path
) -> None:
    audit = Audit(browser, office, screenshots)
    log_in(browser, office, ADMIN, landing="nav a[href='#/admin']")
    click(browser, "nav a[href='#/admin']")
    css(browser, "#exports button")
    css(browser, "#signs input[name=district]")
    audit.check("admin")
    browser.get(office.base + "/#/admin/users")
    css(browser, "#user-list li")
    click(browser, "details.new-user summary")
    css(browser, "#user-username")
    audit.check("admin-users")
    browser.get(office.base + "/#/admin/shelters")
    css(browser, "#admin-shelter-list a")
    audit.check("admin-shelters")
    browser.get(f"{office.base}/#/admin/shelters/{office.shelters[0]}")
    css(browser, "#sensor-form")
    text_of(browser, "#sensor-list", "HP-001-S1")
    audit.check("admin-shelter")
    browser.get(office.base + "/#/admin/rules")
    click(browser, "#add-override")
    css(browser, "fieldset.override")
    audit.check("admin-rules")
    browser.get(office.base + "/#/dashboard")
    live(browser, "both districts on the grid", ".grid-district", count=2)
    switch_language(browser, "en")
    text_of(browser, "h1", "Overview")
    audit.check("dashboard-en")
    audit.assert_clean()
