"""Benchmark of the register import on a file of two million empty rows, against reading the
file's XML, in the same run.

Run: ``python bench/bench_import.py [--rows N]``. It builds an .xlsx whose sheet holds a
header, N empty rows (``<row r="n"/>``, 2,000,000 by default) and one shelter at the end:
about 5 MB that unpack to 33 MB (numbered rows as Excel writes them; without numbers the
same rows pack into about 20 KB). Then, best of three each:

- **baseline**: the sheet's XML streamed once through ``xml.etree.ElementTree.iterparse``,
  counting rows: what any reader of the whole file pays at least;
- **before**: how the import read a file until it counted empty rows: every row through
  openpyxl's read-only mode, empty ones skipped without counting, so the whole sheet was
  read (and, until the request's actor was read in a transaction of its own, under
  SQLite's write lock);
- **after**: ``POST /api/v1/imports/shelters`` through the app on a migrated SQLite
  database, which answers ``422 too_many_rows`` once it has read 50,000 rows (the default
  ``SHELTERWATCH_IMPORT_MAX_ROWS``); the write transactions it opened are counted (none).

It prints each time and its ratio to the baseline, and before over after. Then it imports a
valid file of ``--shelters`` new shelters (10,000) and prints how long the request took and
how long of it SQLite's write lock was held (from ``BEGIN IMMEDIATE`` to the commit).
"""

from __future__ import annotations

import argparse
import io
import secrets
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import event

from api.app import create_app
from api.db import build_engine, session_factory, upgrade
from api.http.auth import issue_token
from api.settings import Settings
from api.state import AppState
from inspection.access import SYSTEM
from inspection.files import DirectoryFileStore
from inspection.grading import FollowupPolicy
from inspection.models import Role
from inspection.schemas import UserCreate
from inspection.users import create_user
from telemetry.sql_store import SqlReadingStore, SqlRejectStore

SECRET = "b" * 48
SHEET = "xl/worksheets/sheet1.xml"
REPEATS = 3


def empty_rows_workbook(rows: int) -> bytes:
    """A workbook made by openpyxl whose sheet is rewritten to hold ``rows`` empty rows
    between the header and one shelter."""
    book = Workbook()
    book.active.append(["编号", "名称", "区"])
    plain = io.BytesIO()
    book.save(plain)
    last = rows + 2
    sheet = "".join(
        [
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
            f'<dimension ref="A1:C{last}"/><sheetData>',
            '<row r="1"><c r="A1" t="inlineStr"><is><t>编号</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>名称</t></is></c>'
            '<c r="C1" t="inlineStr"><is><t>区</t></is></c></row>',
            "".join(f'<row r="{n}"/>' for n in range(2, last)),
            f'<row r="{last}"><c r="A{last}" t="inlineStr"><is><t>LAST-1</t></is></c>'
            f'<c r="B{last}" t="inlineStr"><is><t>最后一行</t></is></c>'
            f'<c r="C{last}" t="inlineStr"><is><t>黄浦区</t></is></c></row>',
            "</sheetData></worksheet>",
        ]
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            data = sheet.encode() if part.filename == SHEET else source.read(part)
            target.writestr(part.filename, data)
    return out.getvalue()


def baseline(content: bytes) -> int:
    """Stream the sheet's XML once; the number of rows."""
    count = 0
    with zipfile.ZipFile(io.BytesIO(content)) as archive, archive.open(SHEET) as xml:
        for _, element in ET.iterparse(xml, events=("end",)):  # noqa: S314 - made above
            if element.tag.endswith("}row"):
                count += 1
            element.clear()
    return count


def before(content: bytes) -> int:
    """The reading the import did before empty rows counted: every row, empty ones skipped;
    the number of non-empty data rows."""
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        next(rows)
        return sum(1 for values in rows if any(v not in (None, "") for v in values))
    finally:
        book.close()


def app_state(var: Path) -> AppState:
    url = f"sqlite:///{var / 'bench.db'}"
    engine = build_engine(url)
    upgrade(engine)
    settings = Settings(
        database_url=url,
        var_dir=var,
        secret_key=SECRET,
        tick_interval_seconds=0,
        _env_file=None,
    )  # type: ignore[call-arg]
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


def best(work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="empty rows in the sheet")
    parser.add_argument("--shelters", type=int, default=10_000, help="rows of the valid file")
    args = parser.parse_args()
    content = empty_rows_workbook(args.rows)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        unpacked = archive.getinfo(SHEET).file_size
    print(
        f"file: {len(content) / 1024:,.0f} KB, sheet XML {unpacked / 2**20:,.1f} MB, "
        f"{args.rows:,} empty rows"
    )

    base_s, counted = best(lambda: baseline(content))
    assert counted == args.rows + 2, counted
    before_s, found = best(lambda: before(content))
    assert found == 1, found

    with tempfile.TemporaryDirectory() as tmp:
        state = app_state(Path(tmp))
        writes: list[float] = []
        held: list[float] = []

        @event.listens_for(state.engine, "begin")
        def _count(conn: Any) -> None:
            if conn.get_execution_options().get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE":
                writes.append(time.perf_counter())

        @event.listens_for(state.engine, "commit")
        def _held(conn: Any) -> None:
            if conn.get_execution_options().get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE":
                held.append(time.perf_counter() - writes[-1])

        with state.sessions() as session:
            user, _ = create_user(
                session,
                UserCreate(
                    username="bench_admin", role=Role.ADMIN, password=secrets.token_urlsafe(24)
                ),
                actor=SYSTEM,
                now=state.clock(),
            )
            session.commit()
            user_id, version = user.id, user.token_version
        headers = {
            "Authorization": "Bearer "
            + issue_token(user_id, version=version, key=SECRET, now=state.clock(), minutes=60)
        }
        with TestClient(create_app(state)) as client:
            writes.clear()

            def after() -> int:
                r = client.post(
                    "/api/v1/imports/shelters",
                    headers=headers,
                    files={"file": ("empty.xlsx", content, "application/octet-stream")},
                )
                assert r.json()["error"]["code"] == "too_many_rows", r.text
                return r.status_code

            after_s, status = best(after)
            refused_writes = len(writes)
            valid = "\n".join(
                ["编号,名称,区,地址,面积"]
                + [
                    f"V-{n:06d},工程{n},黄浦区,路{n}号,{100 + n % 900}"
                    for n in range(args.shelters)
                ]
            ).encode()
            writes.clear()
            held.clear()
            started = time.perf_counter()
            r = client.post(
                "/api/v1/imports/shelters",
                headers=headers,
                files={"file": ("valid.csv", valid, "text/csv")},
            )
            request_s = time.perf_counter() - started
            assert r.json()["created"] == args.shelters, r.text
        state.engine.dispose()

    print(f"best of {REPEATS} runs")
    lines = [
        ("baseline", "stream the sheet XML (iterparse)", base_s, ""),
        ("before", "read every row (openpyxl)", before_s, ""),
        ("after", f"POST, refused {status}", after_s, f"   write transactions: {refused_writes}"),
    ]
    for label, what, seconds, extra in lines:
        print(f"{label:<9} {what:<34} {seconds:8.2f} s   ratio {seconds / base_s:5.2f}{extra}")
    print(f"before / after: {before_s / after_s:.1f}x")
    print(
        f"valid file of {args.shelters:,} new shelters: request {request_s:.2f} s, write lock "
        f"held {sum(held):.2f} s in {len(held)} transaction(s) ({sum(held) / request_s:.0%})"
    )


if __name__ == "__main__":
    main()
