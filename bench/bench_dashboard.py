"""Benchmark of the office dashboard's server time for 5,000 shelters against the bare SQL it
runs, in the same run.

Run: ``python bench/bench_dashboard.py`` (PostgreSQL at ``SHELTERWATCH_BENCH_PG_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; ``--sqlite-only`` adds SQLite and
``--sqlite`` runs it too).

The fleet is bench_views.py's (5,000 shelters in 16 districts, 2 sensors each, open alerts on
6 %, open findings with their follow-ups on 20 %, a third of them overdue), plus what the
dashboard shows besides: twelve months of compliance history per district and city-wide, an
enforcement referral on 1 % of the shelters (half with an outcome, some fined) and a reported
fix on a tenth of the open findings; then the planner's statistics are gathered. The API runs
under uvicorn in a child process; one httpx client (keep-alive) loads the dashboard as the
page does, one request at a time, as the city office (every district) and as a district
officer (one district):

- ``GET /api/v1/dashboard`` (the figures), ``GET /api/v1/dashboard/shelters`` (the grid of
  every shelter in scope) and ``GET /api/v1/alerts?status=open&limit=50`` (the live list),
  and the three in a row (``page``), which is the dashboard's server time;
- the grid and the alert list again with ``If-None-Match``: what a dashboard left open costs
  per poll.

The bare figure of each request is the exact SQL it issues (captured once in-process,
parameters included) replayed on a raw DB-API connection with every row fetched.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from bench_views import (
    DISTRICTS,
    SECRET,
    SHELTERS,
    Timing,
    _state,
    capture,
    postgres_database,
    replay,
    seed,
    server,
    timed,
)
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from api.db import build_engine, upgrade
from api.http.auth import issue_token
from inspection.access import SYSTEM
from inspection.models import (
    Attachment,
    ComplianceSnapshot,
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    Role,
    Shelter,
)
from inspection.schemas import UserCreate
from inspection.users import create_user

REQUESTS = 200
POLLS = 200
TARGET_P99_MS = 100.0
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway login of the benchmark
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000


@dataclass
class Readers:
    city: dict[str, str]
    district: dict[str, str]


def seed_dashboard(engine: Engine, now: datetime) -> Readers:
    """What the dashboard shows on top of bench_views' fleet; deterministic."""
    rng = random.Random(11)
    with Session(engine) as session:
        ids = {}
        for name, role, district in (
            ("bench-admin", Role.ADMIN, None),
            ("bench-officer", Role.DISTRICT_OFFICER, DISTRICTS[1]),
        ):
            user, _ = create_user(
                session,
                UserCreate(username=name, role=role, district=district, password=PASSWORD),
                actor=SYSTEM,
                now=now,
            )
            ids[name] = user.id
        session.commit()
        history = []
        for months_ago in range(12, 0, -1):
            month = (now.replace(day=15) - timedelta(days=30 * months_ago)).strftime("%Y-%m")
            for district in ["", *DISTRICTS]:
                active = SHELTERS if district == "" else SHELTERS // len(DISTRICTS)
                class1 = int(active * (0.3 + 0.05 * (12 - months_ago)))
                history.append(
                    {
                        "month": month,
                        "district": district,
                        "active_shelters": active,
                        "class1_shelters": class1,
                        "rate": round(class1 / active, 4),
                        "by_class": {"1": class1},
                        "computed_at": now - timedelta(days=30 * months_ago),
                    }
                )
        session.execute(insert(ComplianceSnapshot), history)
        referrals = []
        for n, shelter_id in enumerate(range(7, SHELTERS + 1, 100), start=1):
            outcome = None
            if n % 2 == 0:
                fined = n % 4 == 0
                outcome = {
                    "status": "fined" if fined else "warning",
                    "fine_yuan": 10_000 * (1 + n % 5) if fined else None,
                    "note": "",
                }
            referrals.append(
                {
                    "id": 100_000 + n,  # the fleet's rows were inserted with their ids
                    "number": f"YJ2026-{n:06d}",
                    "kind": "referral",
                    "shelter_id": shelter_id,
                    "class_level": 4,
                    "status": "closed" if outcome else "open",
                    "issued_at": now - timedelta(days=40),
                    "due_at": now + timedelta(days=50),
                    "outcome": outcome,
                }
            )
        session.execute(insert(Followup), referrals)
        open_ids = list(
            session.scalars(select(Finding.id).where(Finding.status == FindingStatus.OPEN.value))
        )
        reported = rng.sample(open_ids, len(open_ids) // 10)
        session.execute(
            update(Finding)
            .where(Finding.id.in_(reported))
            .values(
                status=FindingStatus.FIX_REPORTED.value,
                fix_reported_at=now - timedelta(days=1),
                fix_note="已整改",
            )
        )
        session.execute(
            insert(Attachment),
            [
                {
                    "finding_id": fid,
                    "purpose": "fix",
                    "filename": "fix.png",
                    "content_type": "image/png",
                    "size": len(PNG),
                    "sha256": "0" * 64,
                    "data": PNG,
                    "uploaded_by": ids["bench-admin"],
                    "uploaded_at": now - timedelta(days=1),
                }
                for fid in reported
            ],
        )
        assert session.scalar(select(FollowupFinding.followup_id).limit(1)) is not None
        session.commit()
    return Readers(
        city={"Authorization": f"Bearer {token(ids['bench-admin'], now)}"},
        district={"Authorization": f"Bearer {token(ids['bench-officer'], now)}"},
    )


def token(user_id: int, now: datetime) -> str:
    return issue_token(user_id, version=0, key=SECRET, now=now, minutes=24 * 60)


PATHS = {
    "figures": "/api/v1/dashboard",
    "grid": "/api/v1/dashboard/shelters",
    "alerts": "/api/v1/alerts?status=open&limit=50",
}


def line(label: str, view: Timing, bare: Timing | None = None, extra: str = "") -> str:
    out = f"    {label:<28} p50 {view.p50_ms:7.2f} ms  p99 {view.p99_ms:7.2f} ms"
    if bare is not None:
        out += (
            f" | bare SQL p50 {bare.p50_ms:6.2f} ms  p99 {bare.p99_ms:6.2f} ms"
            f" | ratio p50 {view.p50_ms / bare.p50_ms:4.1f}x"
        )
    return out + extra


def measure(
    client: httpx.Client,
    engine: Engine,
    state_args: tuple[str, Path],
    who: str,
    headers: dict[str, str],
    bodies: dict[str, int],
) -> list[str]:
    state = _state(*state_args)
    sql = {name: capture(state, path, headers) for name, path in PATHS.items()}
    state.engine.dispose()
    lines = [
        f"  {who}: statements per request (authentication included) "
        + ", ".join(f"{name} {len(s)}" for name, s in sql.items())
    ]

    def request(path: str) -> Callable[[], None]:
        def run() -> None:
            r = client.get(path, headers=headers)
            assert r.status_code == 200, r.text
            bodies[path] = len(r.content)

        return run

    def page() -> None:
        for path in PATHS.values():
            request(path)()

    views = {name: timed(request(path), REQUESTS) for name, path in PATHS.items()}
    whole = timed(page, REQUESTS)
    runs = {name: replay(engine, statements) for name, statements in sql.items()}
    bare = {name: timed(run, REQUESTS) for name, run in runs.items()}

    def bare_page() -> None:
        for run in runs.values():
            run()

    bare_whole = timed(bare_page, REQUESTS)
    touch = changer(engine)
    built = {name: timed(request(PATHS[name]), REQUESTS, setup=touch) for name in ("grid",)}
    whole_built = timed(page, REQUESTS, setup=touch)
    for name, path in PATHS.items():
        lines.append(
            line(
                f"GET {path.split('?')[0]}",
                views[name],
                bare[name],
                f" | {bodies[path] / 1024:.0f} KiB",
            )
        )
    lines.append(
        line(
            "  grid, data changed before",
            built["grid"],
            bare["grid"],
            " | built, not sent as kept",
        )
    )
    for label, timing in (
        ("page (the three in a row)", whole),
        ("page, data changed before", whole_built),
    ):
        verdict = "under" if timing.p99_ms < TARGET_P99_MS else "OVER"
        lines.append(
            line(label, timing, bare_whole, f" | p99 {verdict} the {TARGET_P99_MS:.0f} ms target")
        )
    for name in ("grid", "alerts"):
        path = PATHS[name]
        etag = client.get(path, headers=headers).headers["etag"]

        def poll(path: str = path, etag: str = etag) -> None:
            r = client.get(path, headers={**headers, "If-None-Match": etag})
            assert r.status_code == 304, r.status_code

        polled = timed(poll, POLLS)
        lines.append(
            line(
                f"  poll {name} → 304",
                polled,
                None,
                f" | {views[name].p50_ms / polled.p50_ms:.1f}x faster than the 200 (p50)",
            )
        )
    return lines


def changer(engine: Engine) -> Callable[[], None]:
    """A change that moves both readers' versions (a register edit of one shelter of the
    district officer's district), so that the next grid is built instead of sent as kept."""
    with engine.connect() as conn:
        shelter_id = conn.execute(
            select(func.min(Shelter.id)).where(Shelter.district == DISTRICTS[1])
        ).scalar_one()

    def change() -> None:
        with engine.begin() as conn:
            conn.execute(
                update(Shelter)
                .where(Shelter.id == shelter_id)
                .values(revision=Shelter.revision + 1)
            )

    return change


def run_database(name: str, url: str, var_dir: Path) -> None:
    engine = build_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    now = datetime.now(UTC)
    seeded = seed(engine, now)
    readers = seed_dashboard(engine, now)
    with engine.connect() as conn:  # statistics, as autovacuum keeps them
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    print(
        f"\n{name}: {SHELTERS} shelters in {len(DISTRICTS)} districts, {seeded.alerts} open "
        f"alerts, {seeded.findings} open findings (seeded in {time.perf_counter() - started:.1f} s)"
    )
    bodies: dict[str, int] = {}
    raw_engine = build_engine(url)
    with server(url, var_dir) as base, httpx.Client(base_url=base, timeout=60) as client:
        for who, headers in (("city office", readers.city), ("district officer", readers.district)):
            for text in measure(client, raw_engine, (url, var_dir), who, headers, bodies):
                print(text, flush=True)
    raw_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true", help="SQLite as well")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sw-bench-dashboard-"))
    try:
        if args.sqlite or args.sqlite_only:
            run_database("SQLite", f"sqlite:///{work / 'dash.db'}", work / "var-sqlite")
        if not args.sqlite_only:
            with postgres_database() as url:
                run_database("PostgreSQL", url, work / "var-pg")
        print(f"\n(p50 and p99 over {REQUESTS} requests each; one request at a time)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
