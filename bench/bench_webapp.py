"""The inspector app's first load in bytes on the wire, against its budget of 300 KB.

Run: ``python bench/bench_webapp.py [--shelters N] [--budget-kb 300]`` (needs Debian's chromium
and chromium-driver, as the browser tests do).

The app runs under uvicorn on a free port over a fresh SQLite database with one inspector and
N shelters in their district (default 200). Headless Chromium, as a 390x844 phone with an
empty profile, opens ``/``, logs in, gets the shelter list, opens a shelter and its checklist,
and waits until the service worker has installed (it fetches the whole app shell, the
catalogue and the shelter list for offline use) and nothing is in flight. An ASGI wrapper
outside everything else counts what the server sends: status line, headers and body as
compressed on the wire, and the body once more uncompressed (the baseline of the same run:
what the same load costs without compression). No photo is loaded. Prints both totals by
kind of file, the ratio of the wire total to the budget, and exits 1 over budget.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from api.db import build_engine, session_factory, upgrade
from api.settings import Settings
from api.state import AppState, utc_now
from api.web import shell_files
from inspection import registry
from inspection.access import SYSTEM
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import Role
from inspection.schemas import ShelterCreate, UserCreate
from inspection.users import create_user
from telemetry.sql_store import SqlReadingStore, SqlRejectStore

PASSWORD = "bench-password-0123"  # noqa: S105 - a throwaway user of a temporary database
WAIT_S = 120


@dataclass
class Tally:
    wire: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    raw: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paths: set[str] = field(default_factory=set)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def kind(path: str) -> str:
    if path.startswith("/api/"):
        return "API (JSON)"
    if path.startswith("/static/vendor/"):
        return "vendored libraries"
    return "app shell (html, js, css, icons)"


class Counting:
    """Counts the bytes of every response as sent, and its body decompressed."""

    def __init__(self, app: ASGIApp, tally: Tally) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        which = kind(path)
        inflate: list[zlib._Decompress | None] = [None]

        async def counted(message: Message) -> None:
            with self.tally.lock:
                if message["type"] == "http.response.start":
                    headers = message.get("headers", [])
                    size = len("HTTP/1.1 200 OK\r\n\r\n") + sum(
                        len(k) + len(v) + 4 for k, v in headers
                    )
                    self.tally.wire[which] += size
                    if (b"content-encoding", b"gzip") in headers:
                        inflate[0] = zlib.decompressobj(16 + zlib.MAX_WBITS)
                elif message["type"] == "http.response.body":
                    body: bytes = message.get("body", b"")
                    self.tally.wire[which] += len(body)
                    d = inflate[0]
                    self.tally.raw[which] += len(d.decompress(body)) if d else len(body)
            await send(message)

        with self.tally.lock:
            self.tally.in_flight += 1
            self.tally.requests[which] += 1
            self.tally.paths.add(path)
        try:
            await self.app(scope, receive, counted)
        finally:
            with self.tally.lock:
                self.tally.in_flight -= 1


def build(workdir: Path, shelters: int) -> AppState:
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine = build_engine(url)
    upgrade(engine)
    settings = Settings(
        database_url=url, var_dir=workdir / "var", tick_interval_seconds=0, _env_file=None
    )
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key="b" * 40,
        clock=utc_now,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
    )
    now = utc_now()
    with state.sessions() as session:
        create_user(
            session,
            UserCreate(
                username="inspector", role=Role.INSPECTOR, district="黄浦区", password=PASSWORD
            ),
            actor=SYSTEM,
            now=now,
        )
        for n in range(1, shelters + 1):
            registry.create_shelter(
                session,
                ShelterCreate(
                    code=f"HP-{n:04d}",
                    name=f"黄浦区第{n}号人防工程",
                    district="黄浦区",
                    address=f"黄浦区示范路{n}号地下一层",
                    wartime_function="人员掩蔽",
                    peacetime_use="停车场",
                    responsible_unit="示范物业管理有限公司",
                ),
                actor=SYSTEM,
                now=now,
            )
        session.commit()
    return state


def first_load(base: str, tally: Tally) -> None:
    profile = tempfile.mkdtemp(prefix="sw-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
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
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0}}
    )
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    wait = WebDriverWait(driver, WAIT_S)
    try:
        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.NAME, "username"))
        driver.find_element(By.NAME, "username").send_keys("inspector")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#shelter-list a"))
        driver.find_element(By.CSS_SELECTOR, "#shelter-list a").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#start-inspection"))
        driver.find_element(By.CSS_SELECTOR, "#start-inspection").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#inspect-form"))
        wait.until(lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)"))
        wanted = {u for u in shell_files() if u.startswith("/static/")}
        wait.until(lambda _d: wanted <= tally.paths and tally.in_flight == 0)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shelters", type=int, default=200, help="shelters in the inspector's list")
    p.add_argument("--budget-kb", type=float, default=300.0)
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sw-bench-webapp-"))
    tally = Tally()
    try:
        state = build(workdir, args.shelters)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            Counting(create_app(state), tally), log_config=None, server_header=False, ws="none"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.05)
        first_load(f"http://127.0.0.1:{sock.getsockname()[1]}", tally)
        server.should_exit = True
        thread.join(timeout=60)
        state.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    budget = args.budget_kb * 1024
    wire = sum(tally.wire.values())
    raw = sum(tally.raw.values())
    print(
        f"first load of the inspector app: login, a list of {args.shelters} shelters, one "
        "shelter, its checklist; service worker installed"
    )
    print(f"{'':34} {'requests':>8} {'on the wire':>12} {'uncompressed':>13}")
    for which in sorted(tally.requests):
        print(
            f"{which:34} {tally.requests[which]:8d} {tally.wire[which] / 1024:9.1f} KB "
            f"{tally.raw[which] / 1024:10.1f} KB"
        )
    total = sum(tally.requests.values())
    print(f"{'total':34} {total:8d} {wire / 1024:9.1f} KB {raw / 1024:10.1f} KB")
    print(f"compression: {wire / raw:.2f} of the uncompressed bytes (baseline, same run)")
    verdict = "within" if wire <= budget else "OVER"
    print(
        f"budget {args.budget_kb:.0f} KB: ratio {wire / budget:.2f} "
        f"({verdict} budget; photos excluded)"
    )
    return 0 if wire <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
