"""The API docs in the real headless Chromium: Swagger UI and ReDoc render from the vendored
files under the pages' Content-Security-Policy, with nothing fetched from another origin;
the live server does not name itself."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.web.seeding import API_TIMEOUT, Site

pytestmark = pytest.mark.browser


def _loaded(driver: WebDriver) -> list[str]:
    urls: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls


@pytest.mark.parametrize(
    ("path", "selector"), [("/docs", ".opblock"), ("/redoc", "[data-section-id]")]
)
def test_the_docs_render_offline_under_their_policy(
    site: Site, browser: WebDriver, path: str, selector: str
) -> None:
    browser.set_window_size(1200, 900)
    browser.get(site.base + path)
    WebDriverWait(browser, 90).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, selector)) > 10,
        message=f"{path} to render the operations",
    )
    assert not [u for u in _loaded(browser) if not u.startswith(site.base)]
    refused = [
        e["message"]
        for e in browser.get_log("browser")
        if "Content Security Policy" in e["message"]
    ]
    assert not refused


def test_the_live_server_sends_the_security_headers_and_no_server_name(site: Site) -> None:
    r = httpx.get(site.base + "/", headers={"Accept-Encoding": "gzip"}, timeout=API_TIMEOUT)
    assert r.status_code == 200
    assert "server" not in r.headers
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
