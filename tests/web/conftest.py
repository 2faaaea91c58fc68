"""Fixtures of the browser tests: the app served by a real uvicorn server on a free port,
the real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium at phone
size, an inspector with two shelters, and a place for the screenshots of each page.

Screenshots go to $SHELTERWATCH_SCREENSHOTS when set, else under the run's temporary
directory; the path is printed."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import Engine

from api.app import create_app
from api.db import session_factory
from api.settings import Settings
from api.state import AppState, utc_now
from inspection import registry
from inspection.access import SYSTEM
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import Role
from inspection.schemas import ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry.sql_store import SqlReadingStore, SqlRejectStore
from tests.conftest import PASSWORD, TEST_SECRET
from tests.waiting import wait_until

CHROMIUM = Path(os.environ.get("SHELTERWATCH_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SHELTERWATCH_CHROMEDRIVER", "/usr/bin/chromedriver"))
PHONE = {"width": 390, "height": 844}
DISTRICT = "黄浦区"
INSPECTOR = "inspector-wang"
MANAGER = "manager-li"
OFFICER = "officer-zhou"
ADMIN = "admin-chen"
OTHER_MANAGER = "manager-zhao"
OUT_OF_SCOPE = "JA-001"
"""Another district's shelter, managed by OTHER_MANAGER: out of everyone else's scope but the
city office's."""
PEOPLE = (
    (INSPECTOR, Role.INSPECTOR, DISTRICT, "王检查"),
    (MANAGER, Role.MANAGER, None, "李工程长"),
    (OFFICER, Role.DISTRICT_OFFICER, DISTRICT, "周科长"),
    (ADMIN, Role.ADMIN, None, "陈管理"),
    (OTHER_MANAGER, Role.MANAGER, None, "赵工程长"),
)


@dataclass(frozen=True)
class Site:
    """The running app: its base URL, its database, the inspector's shelters and the app's
    state (to seed what the app would receive from elsewhere: readings, alerts)."""

    base: str
    engine: Engine
    shelters: tuple[str, ...]
    state: AppState


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _seed(state: AppState) -> tuple[str, ...]:
    now = state.clock()
    codes = ("HP-001", "HP-002")
    with state.sessions() as session:
        for name, role, district, display_name in PEOPLE:
            create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=district,
                    password=PASSWORD,
                    display_name=display_name,
                    phone="13800000000" if role == Role.MANAGER else None,
                ),
                actor=SYSTEM,
                now=now,
            )
        for number, code in enumerate(codes, start=1):
            registry.create_shelter(
                session,
                ShelterCreate(
                    code=code,
                    name=f"黄浦区第{number}号人防工程（示范小区地下车库）",
                    district=DISTRICT,
                    address=f"黄浦区示范路{number}号地下一层",
                    manager=MANAGER,
                    inspector=INSPECTOR,
                    wartime_function="人员掩蔽",
                    peacetime_use="停车场",
                    responsible_unit="示范物业管理有限公司",
                ),
                actor=SYSTEM,
                now=now,
            )
        registry.create_shelter(  # another district and manager: out of the others' scope
            session,
            ShelterCreate(
                code=OUT_OF_SCOPE,
                name="静安区第1号人防工程",
                district="静安区",
                manager=OTHER_MANAGER,
            ),
            actor=SYSTEM,
            now=now,
        )
        session.commit()
    return codes


@pytest.fixture
def site(db_url: str, engine: Engine, tmp_path: Path) -> Iterator[Site]:
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
    codes = _seed(state)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(state), log_config=None, server_header=False, lifespan="on", ws="none"
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


def png(width: int = 32, height: int = 24) -> bytes:
    """A small real PNG (a colour gradient), as a phone camera would give a photo."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 8 % 256, y * 10 % 256, 128)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "rust.png"
    path.write_bytes(png())
    return path
