"""The inspector's phone flow in the real headless Chromium: log in, find a shelter, walk
the checklist, mark a finding with a photo, submit and read the class and the notice number;
the same with the network cut after the app has loaded, where the inspection waits on the
phone and is stored exactly once when the network returns. Every page is checked to fit a
390 px screen and to load nothing from another origin, and is photographed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection.models import Attachment, Finding, Followup, Inspection
from tests.web.browsing import check_page, css, log_in, network, text_of, wait
from tests.web.seeding import INSPECTOR, OUT_OF_SCOPE, Site

pytestmark = pytest.mark.browser


def count(site: Site, model: type[Any]) -> int:
    with Session(site.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def open_checklist(driver: WebDriver, site: Site, code: str) -> None:
    driver.get(f"{site.base}/#/shelters/{code}/inspect")
    css(driver, "#inspect-form")


def mark_rust_with_photo(driver: WebDriver, photo: Path) -> None:
    """EQ-RUST (防护设备锈蚀、油漆脱落, S1 by default) with a note and a photo."""
    css(driver, "label[for=found-EQ-RUST]").click()
    severity = css(driver, "#sev-EQ-RUST")
    options = [o.get_attribute("value") for o in severity.find_elements(By.TAG_NAME, "option")]
    assert options == ["S1", "S2", "S3"]
    door = css(driver, "label[for=found-DOOR-NOT-CLOSING]")
    css(driver, "#note-EQ-RUST").send_keys("防护密闭门门框锈蚀")
    item = driver.find_element(By.CSS_SELECTOR, ".item[data-code=EQ-RUST]")
    item.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(photo))
    wait(driver, "the photo preview", lambda d: item.find_elements(By.CSS_SELECTOR, ".preview img"))
    assert door.is_displayed()


def test_an_inspector_submits_an_inspection_with_a_photo(
    site: Site, browser: WebDriver, screenshots: Path, photo: Path
) -> None:
    browser.get(site.base + "/")
    css(browser, "input[name=username]")
    check_page(browser, site, screenshots, "01-login")
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    check_page(browser, site, screenshots, "02-shelters")
    search = css(browser, "#shelter-search")
    search.send_keys(site.shelters[1])
    wait(
        browser,
        "the search",
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#shelter-list a")) == 1,
    )
    browser.find_element(By.CSS_SELECTOR, "#shelter-list a").click()
    css(browser, "#start-inspection")
    check_page(browser, site, screenshots, "03-shelter")
    browser.find_element(By.CSS_SELECTOR, "#start-inspection").click()
    css(browser, "#inspect-form")
    text_of(browser, "legend", "防护设备")
    text_of(browser, ".item-title", "防护设备锈蚀、油漆脱落")
    # a door item defaults to S2: S1 is not offered
    css(browser, "label[for=found-DOOR-NOT-CLOSING]").click()
    door = css(browser, "#sev-DOOR-NOT-CLOSING")
    assert [o.get_attribute("value") for o in door.find_elements(By.TAG_NAME, "option")] == [
        "S2",
        "S3",
    ]
    css(browser, "label[for=found-DOOR-NOT-CLOSING]").click()  # changed my mind
    mark_rust_with_photo(browser, photo)
    check_page(browser, site, screenshots, "04-inspect")

    css(browser, "#submit-inspection").click()
    text_of(browser, "#graded-class", "二类")
    number = css(browser, ".notice-number").text
    assert number
    css(browser, ".pdf-link")
    check_page(browser, site, screenshots, "05-result")

    with Session(site.engine) as session:
        inspection = session.scalars(select(Inspection)).one()
        assert inspection.graded_class == 2
        assert inspection.idempotency_key  # the app always sends one
        finding = session.scalars(select(Finding)).one()
        assert (finding.item_code, finding.note) == ("EQ-RUST", "防护密闭门门框锈蚀")
        attachment = session.scalars(select(Attachment)).one()
        assert (attachment.finding_id, attachment.content_type) == (finding.id, "image/png")
        # kept in the file store, re-encoded; the row knows it by the bytes the phone sent
        assert attachment.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest()
        assert (attachment.data, attachment.width) == (None, 32)
        assert attachment.file_key and attachment.thumbnail_key
        assert session.scalars(select(Followup)).one().number == number

    browser.get(site.base + "/#/outbox")
    text_of(browser, "#sent-list", number)
    check_page(browser, site, screenshots, "06-outbox")
    browser.get(site.base + "/#/admin")
    text_of(browser, "h1", "未找到")  # not an inspector's screen: not found
    check_page(browser, site, screenshots, "07-not-found")
    browser.get(f"{site.base}/#/shelters/{OUT_OF_SCOPE}")
    text_of(browser, "h1", "未找到")  # another district's shelter: not found either
    assert not browser.find_elements(By.CSS_SELECTOR, "#start-inspection")
    css(browser, "#lang-switch").click()
    text_of(browser, "h1", "Not found")
    browser.get(site.base + "/#/shelters")
    text_of(browser, "h1", "Shelters to inspect")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#shelter-list a")) == len(site.shelters)
    check_page(browser, site, screenshots, "08-shelters-en")

    css(browser, "#logout").click()
    css(browser, "input[name=username]")
    assert browser.execute_script("return localStorage.getItem('sw.token')") is None
    wait(
        browser,
        "the kept API answers to be dropped",
        lambda d: (
            not d.execute_async_script(
                "const done = arguments[0];"
                "caches.keys().then(k => done(k.filter(n => n.startsWith('sw-data'))))"
            )
        ),
    )
    browser.get(site.base + "/#/shelters")
    css(browser, "input[name=username]")  # logged out: back to the login page


def test_an_inspection_finished_offline_waits_and_is_stored_once(
    site: Site, browser: WebDriver, screenshots: Path, photo: Path
) -> None:
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    open_checklist(browser, site, site.shelters[0])
    wait(
        browser,
        "the service worker to control the page",
        lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)"),
    )

    network(browser, offline=True)
    mark_rust_with_photo(browser, photo)
    css(browser, "#submit-inspection").click()
    css(browser, "#outbox-list .outbox-item")
    text_of(browser, "#netstate", "1 份检查待发送")
    check_page(browser, site, screenshots, "10-outbox-waiting")
    assert count(site, Inspection) == 0

    network(browser, offline=False)
    wait(
        browser,
        "the outbox to empty",
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#outbox-list .outbox-item"),
    )
    css(browser, "#sent-list .sent-item")
    text_of(browser, "#sent-list", "二类")
    check_page(browser, site, screenshots, "11-outbox-sent")
    assert count(site, Inspection) == 1
    assert count(site, Attachment) == 1
    assert count(site, Followup) == 1
