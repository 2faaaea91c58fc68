"""Fixtures of the browser tests: the app served by a real uvicorn server on a free port,
the real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium at phone
size, an inspector with two shelters, the richer scenes of tests/web/seeding.py, and a place
for the screenshots of each page.

Screenshots go to $SHELTERWATCH_SCREENSHOTS when set, else under the run's temporary
directory; the path is printed."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine
from starlette.types import ASGIApp

from api.app import create_app
from api.db import session_factory
from api.settings import Settings
from api.state import AppState, utc_now
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from telemetry.sql_store import SqlReadingStore, SqlRejectStore
from tests.conftest import TEST_SECRET
from tests.waiting import wait_until
from tests.web.seeding import Monitored, Site, png, seed_monitored, seed_office, seed_site

CHROMIUM = Path(os.environ.get("SHELTERWATCH_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SHELTERWATCH_CHROMEDRIVER", "/usr/bin/chromedriver"))
PHONE = {"width": 390, "height": 844}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def wrap_app() -> Callable[[ASGIApp], ASGIApp]:
    """What stands between the server and the app: nothing, unless a test module puts
    something there (a slow network)."""
    return lambda app: app


@pytest.fixture
def site(
    db_url: str, engine: Engine, tmp_path: Path, wrap_app: Callable[[ASGIApp], ASGIApp]
) -> Iterator[Site]:
    """The app on a real uvicorn server (wall clock: the browser's times are real)."""
    settings = Settings(
        database_url=db_url,
        var_dir=tmp_path / "var",
        secret_key=TEST_SECRET,
        tick_interval_seconds=0,
        _env_file=None,
    )  # type: ignore[call-arg]
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key=TEST_SECRET,
        clock=utc_now,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
    )
    codes = seed_site(state)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        wrap_app(create_app(state)), log_config=None, server_header=False, lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 60, "the server to start")
    yield Site(f"http://127.0.0.1:{port}", engine, codes, state)
    server.should_exit = True
    thread.join(timeout=60)
    sock.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("SHELTERWATCH_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium emulating a 390x844 phone, with a fresh profile."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed (deploy/dev/services.sh)")
    profile = tempfile.mkdtemp(prefix="sw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {**PHONE, "pixelRatio": 2.0, "touch": True}}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "rust.png"
    path.write_bytes(png())
    return path


@pytest.fixture
def monitored(site: Site) -> Monitored:
    """Two sensors on the first shelter with a week of hourly readings and their live values,
    an active humidity alert, and an inspection whose rust finding started a notice."""
    return seed_monitored(site)


@pytest.fixture
def office(site: Site) -> Site:
    """On top of the site: a sensor with live values, readings and a warning on HP-001, and
    a rust finding on HP-001 whose fix the manager has reported with a photo."""
    seed_office(site)
    return site
