"""The directory of protective-equipment manufacturers and a class 3 ledger entry's help in
reaching one, in the real headless Chromium: the city office adds a manufacturer, is told a
name already listed is refused, edits the entry and finds it by product; a district officer
names it on the ledger entry of the follow-ups page and records a contact (when, what came of
it), which the page then shows with the officer's name, in Chinese and in English; the
officer reads the directory without editing it. Every page is audited with axe and fits a
390 px screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Followup, Manufacturer, ManufacturerContact, User
from tests.waiting import wait_until
from tests.web.axe import Audit
from tests.web.browsing import click, css, log_in, log_out, text_of
from tests.web.seeding import ADMIN, OFFICER, Site, found, submit

pytestmark = pytest.mark.browser

HOUR = timedelta(hours=1)
MAKER = "华北人防设备有限公司"
CONTACTED = "2026-06-02T10:30"
"""When the officer says the manufacturer was called, as the city (Asia/Shanghai) writes it."""


@pytest.fixture
def ledger(site: Site) -> str:
    """A class 3 ledger entry of HP-001 (seal parts missing, found an hour ago): its number."""
    now = site.state.clock()
    with Session(site.engine) as session:
        submit(
            site,
            session,
            site.shelters[0],
            found("SEAL-PARTS-MISSING", "密封条缺失", at=now - HOUR),
        )
        number = session.scalars(select(Followup.number).where(Followup.kind == "ledger")).one()
        session.commit()
    return number


def _fill(form: WebElement, **values: str) -> None:
    for name, value in values.items():
        box = form.find_element(By.CSS_SELECTOR, f"[name={name}]")
        box.clear()
        box.send_keys(value)


def _entry(site: Site) -> Manufacturer | None:
    with Session(site.engine) as session:
        return session.scalars(select(Manufacturer).where(Manufacturer.name == MAKER)).first()


def _contacts(site: Site) -> list[tuple[datetime, str, str]]:
    with Session(site.engine) as session:
        rows = session.execute(
            select(ManufacturerContact.contacted_at, ManufacturerContact.outcome, User.username)
            .join(User, User.id == ManufacturerContact.recorded_by)
            .order_by(ManufacturerContact.id)
        ).all()
        return [(at.replace(tzinfo=at.tzinfo or UTC), outcome, who) for at, outcome, who in rows]


def test_the_office_keeps_the_directory_and_an_officer_contacts_a_ledgers_manufacturer(
    site: Site, browser: WebDriver, screenshots: Path, ledger: str
) -> None:
    audit = Audit(browser, site, screenshots)
    log_in(browser, site, ADMIN, landing="nav a[href='#/admin']")
    click(browser, "nav a[href='#/admin']")
    click(browser, "a[href='#/manufacturers']")
    text_of(browser, "main .notice-info", "名录中还没有厂家")
    click(browser, "details.new-maker > summary")
    form = css(browser, "#maker-form")
    _fill(
        form,
        name=MAKER,
        products="防护密闭门、密闭阀门",
        region="北京",
        contact_name="孙经理",
        contact_phone="010-88886666",
    )
    audit.check("60-maker-new")
    form.find_element(By.CSS_SELECTOR, "button.maker-submit").click()
    text_of(browser, ".notice-ok", f"已添加厂家 {MAKER}")
    text_of(browser, "#maker-list li.maker-entry", "孙经理")
    wait_until(lambda: _entry(site) is not None, 60, "the manufacturer stored")

    # a name already listed is refused in words
    _fill(css(browser, "#maker-form"), name=MAKER)
    css(browser, "#maker-form button.maker-submit").click()
    text_of(browser, "#maker-form .notice-error", f"名录中已有名为“{MAKER}”的厂家")

    # the city office edits the entry in place
    item = css(browser, "#maker-list li.maker-entry")
    item.find_element(By.CSS_SELECTOR, "button.edit-maker").click()
    edit = css(browser, "#maker-list form.maker-edit-form")
    _fill(edit, contact_name="钱经理", contact_phone="010-88887777")
    audit.check("61-maker-edit")
    edit.find_element(By.CSS_SELECTOR, "button.maker-submit").click()
    text_of(browser, ".notice-ok", f"已保存 {MAKER} 的修改")
    text_of(browser, "#maker-list li.maker-entry", "钱经理 010-88887777")
    entry = _entry(site)
    assert entry is not None
    assert (entry.contact_name, entry.region, entry.products) == (
        "钱经理",
        "北京",
        "防护密闭门、密闭阀门",
    )

    # found by product
    search = css(browser, "#maker-search")
    search.send_keys("密闭阀门")
    css(browser, "form.search-form button[type=submit]").click()
    text_of(browser, "#maker-count", "共 1 家")
    audit.check("62-maker-directory")
    log_out(browser)

    # a district officer names it on the ledger entry and records a contact
    log_in(browser, site, OFFICER, landing="nav a[href='#/followups']")
    browser.get(f"{site.base}/#/followups?status=open&class=3")
    card = css(browser, f"li.followup[data-number='{ledger}']")
    assert "尚未指定厂家" in card.text
    assert not card.find_elements(By.CSS_SELECTOR, "button.record-contact")  # none named yet
    card.find_element(By.CSS_SELECTOR, "button.choose-maker").click()
    choice = css(browser, f"li.followup[data-number='{ledger}'] form.maker-choice-form")
    Select(choice.find_element(By.CSS_SELECTOR, "select")).select_by_visible_text(
        f"{MAKER}（北京）"
    )
    audit.check("63-ledger-maker-choice")
    choice.find_element(By.CSS_SELECTOR, "button.maker-choice-submit").click()
    text_of(browser, ".notice-ok", f"已指定厂家：{MAKER}")
    card = css(browser, f"li.followup[data-number='{ledger}']")
    assert "钱经理" in card.find_element(By.CSS_SELECTOR, ".maker-named").text
    card.find_element(By.CSS_SELECTOR, "button.record-contact").click()
    contact = css(browser, f"li.followup[data-number='{ledger}'] form.maker-contact-form")
    assert "记录人：周科长" in contact.text
    when = contact.find_element(By.CSS_SELECTOR, "input[name=contacted_at]")
    browser.execute_script("arguments[0].value = arguments[1]", when, CONTACTED)
    _fill(contact, outcome="厂家答复一周内供货，派人上门安装")
    audit.check("64-ledger-maker-contact-form")
    contact.find_element(By.CSS_SELECTOR, "button.maker-contact-submit").click()
    text_of(browser, ".notice-ok", "联系记录已保存")
    wait_until(lambda: len(_contacts(site)) == 1, 60, "the contact stored")
    assert _contacts(site) == [
        (datetime(2026, 6, 2, 2, 30, tzinfo=UTC), "厂家答复一周内供货，派人上门安装", OFFICER)
    ]
    record = css(browser, f"li.followup[data-number='{ledger}'] li.maker-contact-record")
    assert "周科长" in record.text and "2026年6月2日 10:30" in record.text
    assert "厂家答复一周内供货" in record.text
    audit.check("65-ledger-maker-contacted")

    # in English; the officer reads the directory but does not edit it
    click(browser, "#lang-switch")
    text_of(browser, f"li.followup[data-number='{ledger}'] section.maker", "Contacts made")
    audit.check("66-ledger-maker-en")
    click(browser, "#maker-directory")
    text_of(browser, "#maker-list li.maker-entry", "010-88887777")
    assert not browser.find_elements(By.CSS_SELECTOR, "button.edit-maker, details.new-maker")
    audit.check("67-maker-directory-officer-en")
    audit.assert_clean()
