"""A referral's outcome in the real headless Chromium: a district officer opens the referral on
the follow-ups page, records a fine outside the city's range and is told so by the form,
records it within the range (the referral closes and leaves the open follow-ups), finds it
among all follow-ups and corrects it with a reason; both
records stay in the outcome history, newest last. The forms are audited with axe and fit a
390 px screen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Followup, OutcomeRecord
from tests.waiting import wait_until
from tests.web.axe import Audit
from tests.web.browsing import click, css, log_in, text_of
from tests.web.seeding import OFFICER, Site, found, submit

pytestmark = pytest.mark.browser

FOLLOWUPS = "nav a[href='#/followups']"
HOUR = timedelta(hours=1)


@pytest.fixture
def referral(site: Site) -> tuple[int, str]:
    """A referral of HP-002, occupied by a warehouse found an hour ago: its id and number."""
    now = site.state.clock()
    with Session(site.engine) as session:
        submit(site, session, site.shelters[1], found("OCCUPATION", "被改作仓库", at=now - HOUR))
        row = session.execute(
            select(Followup.id, Followup.number).where(Followup.kind == "referral")
        ).one()
        session.commit()
    return row.id, row.number


def _records(site: Site, followup: int) -> list[tuple[str, int | None, str]]:
    with Session(site.engine) as session:
        rows = session.scalars(
            select(OutcomeRecord)
            .where(OutcomeRecord.followup_id == followup)
            .order_by(OutcomeRecord.id)
        ).all()
        return [(r.kind, r.fine_yuan, r.reason) for r in rows]


def _fill(form: WebElement, *, status: str, party: str, fine: str) -> None:
    Select(form.find_element(By.CSS_SELECTOR, "select[name=status]")).select_by_value(status)
    Select(form.find_element(By.CSS_SELECTOR, "select[name=party_type]")).select_by_value(party)
    box = form.find_element(By.CSS_SELECTOR, "input[name=fine_yuan]")
    box.clear()
    box.send_keys(fine)


def _card(driver: WebDriver, number: str) -> WebElement:
    return css(driver, f"li.followup[data-number='{number}']")


def test_an_officer_records_and_corrects_a_referral_outcome(
    site: Site, browser: WebDriver, screenshots: Path, referral: tuple[int, str]
) -> None:
    followup, number = referral
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, OFFICER, landing=FOLLOWUPS)
    click(browser, FOLLOWUPS)
    card = _card(browser, number)
    assert "尚未记录执法结果" in card.text
    card.find_element(By.CSS_SELECTOR, "button.record-outcome").click()
    form = css(browser, f"li.followup[data-number='{number}'] form.outcome-form")
    _fill(form, status="fined", party="unit", fine="5000")
    audit.check("50-referral-outcome-form")
    form.find_element(By.CSS_SELECTOR, "button.outcome-submit").click()
    text_of(browser, "form.outcome-form .notice-error", "罚款金额超出规定范围")
    assert _records(site, followup) == []

    _fill(form, status="fined", party="unit", fine="20000")
    form.find_element(By.CSS_SELECTOR, "button.outcome-submit").click()
    text_of(browser, ".notice-ok", "执法结果已记录")
    wait_until(lambda: len(_records(site, followup)) == 1, 60, "the outcome stored")
    assert _records(site, followup) == [("outcome", 20_000, "")]

    # closed, it leaves the open follow-ups: the officer lists them all
    browser.get(f"{site.base}/#/followups?status=all")
    card = _card(browser, number)
    assert "罚款 · 单位 · 20,000 元" in card.find_element(By.CSS_SELECTOR, "li.outcome-record").text
    # closed: only a correction, with its reason, may follow
    assert not card.find_elements(By.CSS_SELECTOR, "button.record-outcome")
    card.find_element(By.CSS_SELECTOR, "button.correct-outcome").click()
    form = css(browser, f"li.followup[data-number='{number}'] form.correction-form")
    _fill(form, status="fined", party="unit", fine="30000")
    reason = form.find_element(By.CSS_SELECTOR, "textarea[name=reason]")
    assert reason.get_attribute("required") is not None
    reason.send_keys("复核笔录：占用面积计算有误，按实际面积处罚")
    audit.check("51-referral-correction-form")
    form.find_element(By.CSS_SELECTOR, "button.outcome-submit").click()
    text_of(browser, ".notice-ok", "更正已记录，原记录保留")
    wait_until(lambda: len(_records(site, followup)) == 2, 60, "the correction stored")
    assert _records(site, followup)[1] == (
        "correction",
        30_000,
        "复核笔录：占用面积计算有误，按实际面积处罚",
    )

    browser.refresh()
    history = _card(browser, number).find_elements(By.CSS_SELECTOR, "li.outcome-record")
    assert [h.get_attribute("data-kind") for h in history] == ["outcome", "correction"]
    assert "罚款 · 单位 · 30,000 元" in history[1].text and "占用面积计算有误" in history[1].text
    audit.check("52-referral-outcome-history")
    audit.assert_clean()
