"""The app with a keyboard only, in the real headless Chromium: an inspector logs in, opens a
shelter, marks a finding, changes its severity, writes a note and submits the inspection
with Tab, Space, Enter and the arrow keys, never a click; every control the keyboard lands
on shows the focus ring (the style's :focus-visible outline)."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import Finding
from tests.conftest import PASSWORD
from tests.web.browsing import css, screenshot, wait
from tests.web.seeding import INSPECTOR, Site

pytestmark = pytest.mark.browser

TABS = 400
"""More presses of Tab than the longest page has stops (the checklist: about 80 items)."""


class Focus(TypedDict):
    selector: str
    visible: bool
    outline: str


FOCUS = """
const el = document.activeElement;
const style = getComputedStyle(el);
return {
  selector: el.tagName.toLowerCase() + (el.id ? `#${el.id}` : ''),
  visible: el.matches(':focus-visible'),
  outline: `${style.outlineStyle} ${style.outlineWidth}`,
};
"""


def press(driver: WebDriver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def has_focus(driver: WebDriver, selector: str) -> bool:
    script = "return document.activeElement.matches(arguments[0])"
    return bool(driver.execute_script(script, selector))


def focus_ring(driver: WebDriver) -> None:
    """The focused element shows the :focus-visible ring: an outline of at least 2 px."""
    focus: Focus = driver.execute_script(FOCUS)
    style, width = focus["outline"].split()
    assert focus["visible"] and style != "none" and float(width.removesuffix("px")) >= 2, focus


def tab_to(driver: WebDriver, selector: str) -> None:
    """Press Tab until ``selector`` has the focus: it is reachable with the keyboard."""
    for _ in range(TABS):
        if has_focus(driver, selector):
            focus_ring(driver)
            return
        press(driver, Keys.TAB)
    pytest.fail(f"{selector} is not reached by {TABS} presses of Tab")


def test_an_inspector_logs_in_and_submits_an_inspection_with_the_keyboard(
    site: Site, browser: WebDriver, screenshots: Path
) -> None:
    code = site.shelters[0]
    browser.get(site.base + "/#/login")
    css(browser, "input[name=username]")
    wait(browser, "the focus in the user name", lambda d: has_focus(d, "input[name=username]"))
    press(browser, INSPECTOR, Keys.TAB)
    assert has_focus(browser, "input[name=password]")
    focus_ring(browser)
    press(browser, PASSWORD, Keys.TAB)
    assert has_focus(browser, "form button[type=submit]")
    focus_ring(browser)
    press(browser, Keys.ENTER)
    css(browser, "#shelter-list a")

    tab_to(browser, f"#shelter-list a[href$='/{code}']")
    press(browser, Keys.ENTER)
    css(browser, "#start-inspection")
    tab_to(browser, "#start-inspection")
    press(browser, Keys.ENTER)
    css(browser, "#inspect-form")

    tab_to(browser, "#found-EQ-RUST")
    press(browser, Keys.SPACE)
    css(browser, "#sev-EQ-RUST")
    assert browser.execute_script("return document.getElementById('found-EQ-RUST').checked")
    press(browser, Keys.TAB)
    assert has_focus(browser, "#sev-EQ-RUST")
    focus_ring(browser)
    press(browser, Keys.ARROW_DOWN)  # S1 -> S2: the detail is redrawn, the focus stays
    wait(
        browser,
        "the severity S2",
        lambda d: d.execute_script("return document.getElementById('sev-EQ-RUST').value") == "S2",
    )
    assert has_focus(browser, "#sev-EQ-RUST")
    screenshot(browser, screenshots / "kb-inspect-focus.png")
    press(browser, Keys.TAB)
    assert has_focus(browser, "#note-EQ-RUST")
    focus_ring(browser)
    press(browser, "防护密闭门门框锈蚀")
    tab_to(browser, "#submit-inspection")
    press(browser, Keys.ENTER)
    css(browser, "#graded-class")

    with Session(site.engine) as session:
        finding = session.scalars(select(Finding)).one()
        assert (finding.item_code, finding.severity, finding.note) == (
            "EQ-RUST",
            2,
            "防护密闭门门框锈蚀",
        )
