"""What the browser tests do with a page: wait for a condition (never a fixed sleep), find a
shown element, log in, and check a page (it fits the phone, loaded nothing from another
origin, broke no policy) before photographing it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import PASSWORD
from tests.web.conftest import PHONE
from tests.web.seeding import Site

WAIT = 90  # seconds: conditions are waited for, never slept on


def network(driver: WebDriver, *, offline: bool) -> None:
    """Cut the page off the network (or give it back), as a phone underground is; when
    cutting it, wait until the page sees itself offline."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    if offline:
        wait(
            driver,
            "the page to see it is offline",
            lambda d: not d.execute_script("return navigator.onLine"),
        )


def wait(driver: WebDriver, what: str, check: Any, timeout: float = WAIT) -> Any:
    """Wait for ``check`` to return something true; an element the page redrew while it was
    being read is a reason to look again, not a failure."""
    return WebDriverWait(
        driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
    ).until(check, message=f"waiting for {what}")


def css(driver: WebDriver, selector: str, timeout: float = WAIT) -> WebElement:
    """The first element matching ``selector`` once it is displayed."""

    def shown(d: WebDriver) -> WebElement | bool:
        for el in d.find_elements(By.CSS_SELECTOR, selector):
            if el.is_displayed():
                return el
        return False

    found: WebElement = wait(driver, selector, shown, timeout)
    return found


def click(driver: WebDriver, selector: str) -> None:
    """Click the shown element matching ``selector``, finding it again if the page redrew it
    in between (the header is redrawn when the user's details arrive)."""

    def clicked(d: WebDriver) -> bool:
        try:
            css(d, selector).click()
        except StaleElementReferenceException:
            return False
        return True

    wait(driver, f"a click on {selector}", clicked)


def text_of(driver: WebDriver, selector: str, contains: str) -> None:
    wait(
        driver,
        f"{selector} to read {contains!r}",
        lambda d: any(contains in e.text for e in d.find_elements(By.CSS_SELECTOR, selector)),
    )


def live(driver: WebDriver, what: str, selector: str, contains: str = "", count: int = 0) -> None:
    """Wait for a part of the page that polls and redraws itself: ``count`` elements matching
    ``selector`` when given, else a shown one whose text holds ``contains``."""

    def seen(d: WebDriver) -> bool:
        found = d.find_elements(By.CSS_SELECTOR, selector)
        if count:
            return len(found) == count
        return any(e.is_displayed() and contains in e.text for e in found)

    wait(driver, what, seen)


OUTSIDE = """
const width = document.documentElement.clientWidth;
const scrolls = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
  }
  return false;
};
const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '')
  + [...el.classList].map((c) => `.${c}`).join('');
return [...document.body.querySelectorAll('*')].filter((el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && (r.right > width + 0.5 || r.left < -0.5)
    && getComputedStyle(el).visibility !== 'hidden' && !scrolls(el);
}).map((el) => {
  const r = el.getBoundingClientRect();
  return `${name(el)} at ${Math.round(r.left)}..${Math.round(r.right)}px`;
});
"""
"""The shown elements that reach past the left or right edge of the screen, which the body's
``overflow-x: hidden`` would cut off rather than scroll; those inside a box that scrolls
sideways itself (a wide data table, allowed by WCAG 1.4.10) excepted."""


def check_page(driver: WebDriver, site: Site, shots: Path, name: str) -> None:
    """The page fits the phone, loaded nothing from elsewhere, broke no policy; photographed."""
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width}px wide"
    outside = driver.execute_script(OUTSIDE)
    assert not outside, f"{name}: cut off at the screen's edge: {outside}"
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat("
        "performance.getEntriesByType('resource')).map(e => e.name)"
    )
    foreign = [u for u in urls if not u.startswith((site.base, "blob:", "data:"))]
    assert not foreign, f"{name}: loaded from another origin: {foreign}"
    problems = [
        e["message"]
        for e in driver.get_log("browser")
        if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]
    ]
    assert not problems, f"{name}: {problems}"
    screenshot(driver, shots / f"{name}.png")


def screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, not only what the phone's screen shows (at most 4 screens long)."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    clip = {
        "x": 0,
        "y": 0,
        "width": PHONE["width"],
        "height": min(size["height"], 4 * PHONE["height"]),
        "scale": 1,
    }
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def log_in(driver: WebDriver, site: Site, username: str, *, landing: str) -> None:
    """Log in from the login page as ``username`` and wait for ``landing`` (a selector)."""
    driver.get(site.base + "/#/login")
    css(driver, "input[name=username]").send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    css(driver, landing)


def log_out(driver: WebDriver) -> None:
    css(driver, "#logout").click()
    css(driver, "input[name=username]")
