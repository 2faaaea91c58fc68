"""Benchmark of the joined shelter views against the bare SQL they are built from.

Run: ``python bench/bench_views.py`` (PostgreSQL at ``SHELTERWATCH_BENCH_PG_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; ``--sqlite-only`` skips it).
``--baseline DIR`` measures a copy of the project before a change as well, on the same
databases in the same run (``git archive main api inspection telemetry | tar -x -C DIR``);
the copy's server reads the schema of this tree, which only ever adds columns.

For SQLite and for a fresh PostgreSQL database (migrated with ``api.db.upgrade``) it registers
5,000 shelters with 2 sensors each, live values for every sensor (2 % stale), open alerts on
6 % of the shelters, and open findings with their follow-ups on 20 % (a third of them past
the deadline); one manager has 50 shelters; then the planner's statistics are gathered, as
autovacuum would. The API runs under uvicorn in a child process on a free port; one httpx
client (keep-alive) measures, one request at a time:

- ``GET /api/v1/me/shelters?limit=50`` as the manager, and again with ``If-None-Match``;
- ``GET /api/v1/platform/shelters?limit=500`` as the platform, paging through all 5,000;
  then every page again with ``If-None-Match`` of the ETag it answered (a ``304`` each).

The bare figure for each request is the exact SQL that request issues (captured once through
the same app in-process, parameters included), replayed on a raw DB-API connection with
every row fetched: what is left over is authentication, ORM, validation, JSON and HTTP.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from argparse import SUPPRESS
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.db import build_engine, session_factory, upgrade

try:
    from api.processes.heap import FrozenHeap
except ImportError:  # a copy of the project from before it (--baseline)
    FrozenHeap = None  # type: ignore[assignment,misc]
from api.http.auth import issue_token
from api.settings import Settings
from api.state import AppState
from inspection.access import SYSTEM
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import (
    Finding,
    Followup,
    FollowupFinding,
    Inspection,
    Role,
    Sensor,
    Shelter,
)
from inspection.schemas import UserCreate
from inspection.users import create_user
from telemetry.sql_models import AlertRow, SensorLiveRow
from telemetry.sql_store import SqlReadingStore, SqlRejectStore

PG_ADMIN_URL = os.environ.get(
    "SHELTERWATCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET = "b" * 48
SHELTERS = 5_000
SENSORS_PER_SHELTER = 2
MANAGED = 50
PLATFORM_PAGE = 500
ME_REQUESTS = 400
PLATFORM_PASSES = 6
NOT_MODIFIED_ROUNDS = 10
NOT_MODIFIED_ME = 20
WARMUP = 20
DISTRICTS = [f"区{n:02d}" for n in range(16)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Seeded:
    manager_token: str
    platform_key: str
    alerts: int
    findings: int


def _state(url: str, var_dir: Path) -> AppState:
    settings = Settings(
        database_url=url,
        var_dir=var_dir,
        secret_key=SECRET,
        tick_interval_seconds=0,
        _env_file=None,
    )
    engine = build_engine(url)
    return AppState(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        policy=FollowupPolicy(),
        signing_key=SECRET,
        readings=SqlReadingStore(engine),
        rejects=SqlRejectStore(engine, 1000),
        files=DirectoryFileStore(settings.resolved_files_dir()),
    )


def seed(engine: Engine, now: datetime) -> Seeded:
    """The fleet of the module docstring, in bulk inserts; deterministic."""
    rng = random.Random(7)
    now_ms = int(now.timestamp() * 1000)
    with Session(engine) as session:
        users = {}
        keys = {}
        for name, role, district in (
            ("bench-manager", Role.MANAGER, None),
            ("bench-inspector", Role.INSPECTOR, DISTRICTS[0]),
            ("bench-platform", Role.PLATFORM, None),
        ):
            user, key = create_user(
                session,
                UserCreate(
                    username=name,
                    role=role,
                    district=district,
                    password=None if role == Role.PLATFORM else "bench-password-123",
                ),
                actor=SYSTEM,
                now=now,
            )
            users[name], keys[name] = user.id, key
        session.commit()
        manager_id, inspector_id = users["bench-manager"], users["bench-inspector"]

        shelters, sensors, live, alerts = [], [], [], []
        inspections, findings, followups, links = [], [], [], []
        for i in range(1, SHELTERS + 1):
            code = f"SH-{i:05d}"
            district = DISTRICTS[i % len(DISTRICTS)]
            graded = i % 10 != 0
            with_finding = graded and i % 5 == 1
            klass = (2 if i % 3 else 3) if with_finding else (1 if graded else None)
            shelters.append(
                {
                    "id": i,
                    "code": code,
                    "name": f"人防工程 {i}",
                    "address": f"{district}某路{i}号",
                    "district": district,
                    "latitude": 31.0 + rng.random(),
                    "longitude": 121.0 + rng.random(),
                    "manager_id": manager_id if i <= MANAGED else None,
                    "current_class": klass,
                    "class_changed_at": now - timedelta(days=30) if graded else None,
                    "created_at": now - timedelta(days=60),
                    "updated_at": now - timedelta(days=60),
                    "responsible_unit_status": "known",
                }
            )
            for n in range(1, SENSORS_PER_SHELTER + 1):
                sensor_id = f"{code}-S{n}"
                sensors.append(
                    {
                        "id": (i - 1) * SENSORS_PER_SHELTER + n,
                        "sensor_id": sensor_id,
                        "shelter_id": i,
                        "zone": "滤毒室" if n == 1 else "主通道",
                        "expected_interval_s": 600,
                        "created_at": now - timedelta(days=60),
                        "updated_at": now - timedelta(days=60),
                    }
                )
                stale = rng.random() < 0.02
                seen_ms = now_ms - (3 * 3600_000 if stale else rng.randrange(0, 600_000))
                t, rh = rng.uniform(12, 28), rng.uniform(45, 90)
                live.append(
                    {
                        "sensor_id": sensor_id,
                        "shelter_code": code,
                        "last_seen_ms": seen_ms,
                        "temperature": t,
                        "humidity": rh,
                        "fire_risk": rng.uniform(0, 60),
                        "dew_point": t - (100 - rh) / 5,
                        "battery": rng.uniform(3.3, 4.1),
                        "updated_at_ms": seen_ms,
                    }
                )
            if i % 17 == 0 or i % 50 == 3:
                rule, severity = (
                    ("humidity_warning", "warning") if i % 2 else ("temperature_high", "critical")
                )
                alerts.append(
                    {
                        "sensor_id": f"{code}-S1",
                        "shelter_code": code,
                        "district": district,
                        "zone": "滤毒室",
                        "condition": "humidity" if i % 2 else "temperature_high",
                        "rule": rule,
                        "severity": severity,
                        "status": "active" if i % 3 else "acknowledged",
                        "message": "bench",
                        "value": 80.0,
                        "threshold": 75.0,
                        "late": False,
                        "raised_at_ms": now_ms - 3600_000,
                        "condition_since_ms": now_ms - 7200_000,
                        "severity_since_ms": now_ms - 3600_000,
                        "condition_holds": True,
                        "escalation_level": 0,
                        "updated_at_ms": now_ms - 3600_000,
                        "resolve_note": "",
                    }
                )
            if with_finding and klass is not None:
                issued = now - timedelta(days=20 if i % 3 == 1 else 5)
                inspections.append(
                    {
                        "id": i,
                        "shelter_id": i,
                        "inspector_id": inspector_id,
                        "inspected_at": issued,
                        "submitted_at": issued,
                        "graded_class": klass,
                        "catalogue_version": "2026.1",
                        "note": "",
                    }
                )
                findings.append(
                    {
                        "id": i,
                        "inspection_id": i,
                        "shelter_id": i,
                        "item_code": "EQ-RUST" if klass == 2 else "DOOR-NOT-CLOSING",
                        "severity": klass - 1,
                        "illegal_act": False,
                        "note": "",
                        "fixed_on_spot": False,
                        "status": "open",
                        "draft": False,
                        "created_at": issued,
                        "fix_note": "",
                        "verify_note": "",
                    }
                )
                followups.append(
                    {
                        "id": i,
                        "number": f"ZG2026-{i:06d}",
                        "kind": "notice" if klass == 2 else "ledger",
                        "shelter_id": i,
                        "inspection_id": i,
                        "class_level": klass,
                        "status": "open",
                        "issued_at": issued,
                        "due_at": issued + timedelta(days=15 if klass == 2 else 30),
                    }
                )
                links.append({"followup_id": i, "finding_id": i})
        for model, rows in (
            (Shelter, shelters),
            (Sensor, sensors),
            (SensorLiveRow, live),
            (AlertRow, alerts),
            (Inspection, inspections),
            (Finding, findings),
            (Followup, followups),
            (FollowupFinding, links),
        ):
            session.execute(insert(model), rows)
        session.commit()
    token = issue_token(manager_id, version=0, key=SECRET, now=now, minutes=24 * 60)
    platform_key = keys["bench-platform"]
    assert platform_key is not None
    return Seeded(token, platform_key, len(alerts), len(findings))


# -- the server in a child process -----------------------------------------------------------


def _serve(url: str, var_dir: str, port: int) -> None:
    import uvicorn

    state = _state(url, Path(var_dir))
    # as `shelterwatch serve` runs it (a copy of the project before FrozenHeap runs without)
    components = [FrozenHeap()] if FrozenHeap is not None else []
    app = create_app(state, components=components)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(url: str, var_dir: Path, project: Path | None = None) -> Iterator[str]:
    """The API under uvicorn in a child process: this checkout's, or with ``project`` the
    packages of that copy of the project (its ``api``, ``inspection`` and ``telemetry`` come
    first on the child's path)."""
    port = free_port()
    stop: Callable[[], None]
    alive: Callable[[], bool]
    if project is None:
        proc = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(url, str(var_dir), port), daemon=True
        )
        proc.start()
        alive = proc.is_alive

        def stop() -> None:
            proc.terminate()
            proc.join(10)

    else:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(var_dir), str(port)],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project)},
        )

        def alive() -> bool:
            return child.poll() is None

        def stop() -> None:
            child.terminate()
            child.wait(10)

    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not alive():
                raise RuntimeError("the API process did not start")
            time.sleep(0.1)
        yield base
    finally:
        stop()


# -- measuring -------------------------------------------------------------------------------


Statement = tuple[str, Any]


def capture(state: AppState, path: str, headers: dict[str, str]) -> list[Statement]:
    """The SQL one request issues through the same app, in order, with its parameters."""
    seen: list[Statement] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append((statement, params))

    event.listen(state.engine, "before_cursor_execute", record)
    try:
        # a fresh registry: each app registers its own metrics
        with TestClient(create_app(replace(state, metrics=CollectorRegistry()))) as client:
            r = client.get(path, headers=headers)
            assert r.status_code == 200, r.text
    finally:
        event.remove(state.engine, "before_cursor_execute", record)
    return seen


def replay(engine: Engine, statements: list[Statement]) -> Callable[[], int]:
    raw = engine.raw_connection()

    def run() -> int:
        rows = 0
        cursor = raw.cursor()
        for statement, params in statements:
            cursor.execute(statement, params)
            rows += len(cursor.fetchall())
        cursor.close()
        raw.rollback()
        return rows

    return run


@dataclass
class Timing:
    samples: list[float]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000

    @property
    def per_s(self) -> float:
        return len(self.samples) / sum(self.samples)


def timed(work: Callable[[], object], n: int, setup: Callable[[], object] | None = None) -> Timing:
    """``work`` run ``n`` times after a warm-up; ``setup``, when given, runs before each,
    outside the timing."""
    for _ in range(min(WARMUP, n)):
        work()
    samples = []
    for _ in range(n):
        if setup is not None:
            setup()
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return Timing(samples)


def report(label: str, view: Timing, bare: Timing | None = None, extra: str = "") -> None:
    line = f"  {label:<40} p50 {view.p50_ms:7.2f} ms  p99 {view.p99_ms:7.2f} ms"
    if bare is not None:
        line += (
            f" | bare SQL p50 {bare.p50_ms:6.2f} ms  p99 {bare.p99_ms:6.2f} ms"
            f" | ratio p50 {view.p50_ms / bare.p50_ms:5.1f}x"
        )
    print(line + extra)


@dataclass
class Figures:
    """One contender's timings."""

    me: Timing
    me_304: Timing | None
    page: Timing
    full_pass_s: float
    page_304: Timing | None


@dataclass
class Requests:
    me_path: str
    me_headers: dict[str, str]
    pages: list[str]
    pf_headers: dict[str, str]


def _platform_pass(
    client: httpx.Client, pages: list[str], headers: dict[str, str]
) -> tuple[list[float], list[str | None]]:
    """One pass through every page: per-page seconds and ETags."""
    samples: list[float] = []
    etags: list[str | None] = []
    seen = 0
    for path in pages:
        start = time.perf_counter()
        r = client.get(path, headers=headers)
        samples.append(time.perf_counter() - start)
        assert r.status_code == 200
        seen += len(r.json()["items"])
        etags.append(r.headers.get("etag"))
    assert seen == SHELTERS
    return samples, etags


def _not_modified(
    client: httpx.Client, paths: list[str], etags: list[str | None], headers: dict[str, str]
) -> Timing | None:
    """Every path asked again with the ETag it answered, NOT_MODIFIED_ROUNDS times over."""
    if any(e is None for e in etags):
        return None  # a contender without ETags
    samples: list[float] = []
    for n in range(NOT_MODIFIED_ROUNDS + 1):
        for path, etag in zip(paths, etags, strict=True):
            assert etag is not None
            start = time.perf_counter()
            r = client.get(path, headers={**headers, "If-None-Match": etag})
            if n:  # the first round warms up
                samples.append(time.perf_counter() - start)
            assert r.status_code == 304, (path, r.status_code)
    return Timing(samples)


def measure(client: httpx.Client, req: Requests) -> Figures:
    def me() -> None:
        r = client.get(req.me_path, headers=req.me_headers)
        assert r.status_code == 200 and len(r.json()["items"]) == MANAGED

    me_timing = timed(me, ME_REQUESTS)
    me_etag = client.get(req.me_path, headers=req.me_headers).headers.get("etag")
    _platform_pass(client, req.pages, req.pf_headers)
    passes = [_platform_pass(client, req.pages, req.pf_headers) for _ in range(PLATFORM_PASSES)]
    return Figures(
        me=me_timing,
        me_304=_not_modified(
            client, [req.me_path] * NOT_MODIFIED_ME, [me_etag] * NOT_MODIFIED_ME, req.me_headers
        ),
        page=Timing([t for samples, _ in passes for t in samples]),
        full_pass_s=statistics.median(sum(samples) for samples, _ in passes),
        page_304=_not_modified(client, req.pages, passes[-1][1], req.pf_headers),
    )


def _bare_pass(runs: list[Callable[[], int]]) -> list[float]:
    samples = []
    for run in runs:
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return samples


def print_figures(figures: Figures, me_bare: Timing, page_bare: Timing, pass_bare: float) -> None:
    report("GET me/shelters?limit=50", figures.me, me_bare)
    if figures.me_304 is not None:
        report("  If-None-Match → 304", figures.me_304)
    report(
        "GET platform/shelters?limit=500",
        figures.page,
        page_bare,
        f" | full pass of 5,000: view {figures.full_pass_s:.2f} s, bare {pass_bare:.3f} s",
    )
    if figures.page_304 is not None:
        report(
            "  If-None-Match → 304",
            figures.page_304,
            extra=f" | {figures.page.p50_ms / figures.page_304.p50_ms:.1f}x faster than the "
            "page (p50)",
        )
    else:
        print("  (no ETag on these pages)")


def run_database(name: str, url: str, var_dir: Path, baseline: Path | None) -> None:
    engine = build_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    seeded = seed(engine, datetime.now(UTC))
    with engine.connect() as conn:  # statistics, as autovacuum (or sqlite's optimize) keeps
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    print(
        f"\n{name}: {SHELTERS} shelters, {SHELTERS * SENSORS_PER_SHELTER} sensors, "
        f"{seeded.alerts} open alerts, {seeded.findings} open findings "
        f"(seeded in {time.perf_counter() - started:.1f} s)"
    )
    state = _state(url, var_dir)
    req = Requests(
        me_path=f"/api/v1/me/shelters?limit={MANAGED}",
        me_headers={"Authorization": f"Bearer {seeded.manager_token}"},
        pages=[
            f"/api/v1/platform/shelters?limit={PLATFORM_PAGE}&offset={o}"
            for o in range(0, SHELTERS, PLATFORM_PAGE)
        ],
        pf_headers={"X-API-Key": seeded.platform_key},
    )
    me_sql = capture(state, req.me_path, req.me_headers)
    page_sql = [capture(state, p, req.pf_headers) for p in req.pages]
    print(
        f"  statements per request (authentication and version included): me/shelters "
        f"{len(me_sql)}, platform page {sorted({len(s) for s in page_sql})}"
    )
    me_bare = timed(replay(state.engine, me_sql), ME_REQUESTS)
    runs = [replay(state.engine, s) for s in page_sql]
    _bare_pass(runs)
    bare_passes = [_bare_pass(runs) for _ in range(PLATFORM_PASSES)]
    page_bare = Timing([t for samples in bare_passes for t in samples])
    pass_bare = statistics.median(sum(s) for s in bare_passes)

    contenders: list[tuple[str, Path | None]] = [("this tree", None)]
    if baseline is not None:
        contenders.append((f"baseline {baseline}", baseline))
    figures: dict[str, Figures] = {}
    for label, project in contenders:
        with (
            server(url, var_dir, project) as base,
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            figures[label] = measure(client, req)
    for label, got in figures.items():
        print(f" {label}:")
        print_figures(got, me_bare, page_bare, pass_bare)
    if baseline is not None:
        after, before = figures["this tree"], figures[f"baseline {baseline}"]
        print(
            f" after/before p50: me/shelters {after.me.p50_ms / before.me.p50_ms:.2f}, "
            f"p99 {after.me.p99_ms / before.me.p99_ms:.2f}; platform page "
            f"{after.page.p50_ms / before.page.p50_ms:.2f}; a 304 against what it cost "
            f"before (the page built and hashed) "
            f"{(after.page_304 or after.page).p50_ms / before.page.p50_ms:.3f}"
        )
    state.engine.dispose()


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"sw_bench_views_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a copy of the project before a change (e.g. `git archive main`): its API is "
        "measured as well, on the same databases",
    )
    parser.add_argument("--serve", nargs=3, metavar=("URL", "VAR_DIR", "PORT"), help=SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        url, var_dir, port = args.serve
        _serve(url, var_dir, int(port))
        return
    baseline = args.baseline.resolve() if args.baseline else None
    work = Path(tempfile.mkdtemp(prefix="sw-bench-views-"))
    try:
        run_database("SQLite", f"sqlite:///{work / 'views.db'}", work / "var-sqlite", baseline)
        if not args.sqlite_only:
            with postgres_database() as url:
                run_database("PostgreSQL", url, work / "var-pg", baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
