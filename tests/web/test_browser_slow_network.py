"""A slow network in the real headless Chromium. The service worker answers an inspector's
reads with the copy it kept when the network is slower than its timeout; with no copy kept
it waits for the network instead of failing, so a login on a slow server still lands (it
used to say "offline" when GET /api/v1/me took longer than the timeout)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import anyio.to_thread
import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from starlette.types import ASGIApp, Receive, Scope, Send

import api.web
from tests.web.browsing import css, log_in, wait
from tests.web.seeding import INSPECTOR, Site

pytestmark = pytest.mark.browser

TIMEOUT_MS = 300
"""The service worker's network timeout in these tests (8 s in the product)."""


class SlowNetwork:
    """Holds the answers to some paths for ``hold_s`` seconds, or until released."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.hold_s = 0.0
        self.held: list[str] = []
        self._released = threading.Event()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def slowed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] in self.paths:
                self.held.append(scope["path"])
                await anyio.to_thread.run_sync(self._released.wait, self.hold_s)
            await app(scope, receive, send)

        return slowed

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowNetwork]:
    monkeypatch.setattr(api.web, "NETWORK_TIMEOUT_MS", TIMEOUT_MS)
    slow = SlowNetwork()
    yield slow
    slow.release()


@pytest.fixture
def wrap_app(network: SlowNetwork) -> Callable[[ASGIApp], ASGIApp]:
    return network.wrap


def _controlled(driver: WebDriver, site: Site) -> None:
    driver.get(site.base + "/#/login")
    wait(
        driver,
        "the service worker to control the page",
        lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)"),
    )


def test_a_login_waits_for_a_server_slower_than_the_timeout(
    site: Site, browser: WebDriver, network: SlowNetwork
) -> None:
    _controlled(browser, site)
    network.paths = {"/api/v1/me"}
    network.hold_s = 5 * TIMEOUT_MS / 1000
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    assert network.held == ["/api/v1/me"]
    assert not browser.find_elements("css selector", ".notice-error")


def test_a_slow_network_shows_the_shelters_kept_on_the_phone(
    site: Site, browser: WebDriver, network: SlowNetwork
) -> None:
    _controlled(browser, site)
    log_in(browser, site, INSPECTOR, landing="#shelter-list a")
    shown = {a.text for a in browser.find_elements("css selector", "#shelter-list a")}

    network.paths = {"/api/v1/shelters"}
    network.hold_s = 120.0  # far longer than the wait below: only the kept copy can answer
    browser.refresh()
    try:
        css(browser, "#shelter-list a", timeout=30)
        kept = {a.text for a in browser.find_elements("css selector", "#shelter-list a")}
    finally:
        network.release()
    assert kept == shown
    assert "/api/v1/shelters" in network.held
