"""Corrections waiting for approval in the real headless Chromium: a district officer finds
them on the follow-ups page (counted beside 整改 in the navigation) with the shelter, the
author, the reason and the findings removed, approves one and sees the shelter's class fall,
rejects another (a reason required) and sees the class stay; the officer's own correction
offers no decision. The screen is audited with axe and fits a 390 px screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy.orm import Session

from inspection.models import Correction
from tests.waiting import wait_until
from tests.web.axe import Audit
from tests.web.browsing import check_page, click, css, log_in, text_of, wait
from tests.web.seeding import (
    CORRECTION_REASON,
    INSPECTOR,
    OFFICER,
    Site,
    seed_pending_correction,
)

pytestmark = pytest.mark.browser

FOLLOWUPS = "nav a[href='#/followups']"


def _status(site: Site, correction: int) -> tuple[str, str]:
    with Session(site.engine) as session:
        row = session.get(Correction, correction)
        assert row is not None
        return row.status, row.decision_note


def _class_is(driver: WebDriver, site: Site, code: str, label: str) -> None:
    driver.get(f"{site.base}/#/shelters/{code}")
    text_of(driver, "main p", label)


def _decided(driver: WebDriver, site: Site, correction: int, status: str) -> None:
    """Wait for the decision to be committed, then reload: the API answers before its
    transaction commits, so the list drawn right after the answer may still hold it."""
    wait_until(lambda: _status(site, correction)[0] == status, 60, f"the correction {status}")
    driver.refresh()
    css(driver, "#followup-list, .notice-info")
    selector = f"li.correction[data-correction='{correction}']"
    assert not driver.find_elements(By.CSS_SELECTOR, selector)


def test_an_officer_approves_a_correction_and_the_class_falls(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    code, other = site.shelters
    corrected, correction = seed_pending_correction(site, code, INSPECTOR)
    _, own = seed_pending_correction(site, other, OFFICER)

    log_in(browser, site, OFFICER, landing=f"{FOLLOWUPS} .corrections-waiting")
    text_of(browser, f"{FOLLOWUPS} .badge", "2")
    _class_is(browser, site, code, "当前类别：二类")
    click(browser, FOLLOWUPS)
    card = css(browser, f"li.correction[data-correction='{correction}']")
    for shown in (
        "黄浦区第1号人防工程",
        code,
        "王检查",  # the author by their real name
        CORRECTION_REASON,
        "防护设备锈蚀、油漆脱落",
        "S1 → 删除",
        "无（全部删除）",
        f"检查记录 {corrected}",
        "年",  # submitted at, written the Chinese way
    ):
        assert shown in card.text, shown
    assert INSPECTOR not in card.text
    # the officer's own correction: nothing to decide, another officer approves it
    mine = css(browser, f"li.correction[data-correction='{own}']")
    assert "须由其他官员审批" in mine.text
    assert not mine.find_elements(By.CSS_SELECTOR, "button.approve-correction")

    click(browser, f"button.approve-correction[data-correction='{correction}']")
    css(browser, "form.correction-decision textarea").send_keys("复核照片属实")
    audit = Audit(browser, site, screenshots)
    audit.check("corrections")
    click(browser, "button.approve-correction-submit")
    text_of(browser, ".notice-ok", "已批准")
    _decided(browser, site, correction, "approved")
    text_of(browser, f"{FOLLOWUPS} .badge", "1")
    check_page(browser, site, screenshots, "50-corrections-approved")
    assert _status(site, correction) == ("approved", "复核照片属实")
    _class_is(browser, site, code, "当前类别：一类")
    audit.assert_clean()


def test_a_rejected_correction_needs_a_reason_and_leaves_the_class(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    code = site.shelters[0]
    _, correction = seed_pending_correction(site, code, INSPECTOR)

    log_in(browser, site, OFFICER, landing=f"{FOLLOWUPS} .corrections-waiting")
    click(browser, FOLLOWUPS)
    click(browser, "#lang-switch")
    text_of(browser, "#corrections h2", "Corrections awaiting approval")
    text_of(browser, f"li.correction[data-correction='{correction}']", "S1 → removed")
    click(browser, f"button.reject-correction[data-correction='{correction}']")
    note = css(browser, "form.correction-decision textarea")
    click(browser, "button.reject-correction-submit")  # no reason: the browser asks for one
    assert browser.execute_script("return arguments[0].validity.valueMissing", note)
    assert _status(site, correction) == ("pending", "")
    note.send_keys("照片不清，需现场复查")
    audit = Audit(browser, site, screenshots)
    audit.check("corrections-reject-en")
    click(browser, "button.reject-correction-submit")
    text_of(browser, ".notice-ok", "Rejected")
    _decided(browser, site, correction, "rejected")
    wait(browser, "the count to go", lambda d: not d.find_elements(By.CSS_SELECTOR, ".badge"))
    assert _status(site, correction) == ("rejected", "照片不清，需现场复查")
    _class_is(browser, site, code, "Current class: Class 2")
    audit.assert_clean()
