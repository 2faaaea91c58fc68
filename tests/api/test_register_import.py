"""The register import through the HTTP API: a file that would take long to read (rows of
nothing, or simply too slow) is refused before anything is written and without holding the
register; existing shelters are updated by code, with a dry run that shows each row's fate;
a district officer updates only their district's shelters and learns nothing of the others."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from api.db import build_engine
from api.state import AppState
from inspection.models import AuditEntry, Role, Shelter
from tests.api.conftest import DISTRICT_A, DISTRICT_B, Api, error_of
from tests.conftest import FakeMonotonic, Login, UserFactory

HEADER = ["编号", "名称", "区"]


def _xlsx(rows: list[list[object]], *, empty_rows: int = 0, gap: int = 0) -> bytes:
    """A workbook: the first row, then ``empty_rows`` empty row elements, or a ``gap`` of row
    numbers with nothing at all (which readers fill with empty rows), then the other rows."""
    out = io.BytesIO()
    if gap:
        book = Workbook()
        sheet = book.active
        sheet.append(rows[0])
        for number, row in enumerate(rows[1:], start=2 + gap):
            for column, value in enumerate(row, start=1):
                sheet.cell(row=number, column=column, value=value)
        book.save(out)
        return out.getvalue()
    stream = Workbook(write_only=True)
    written = stream.create_sheet()
    written.append(rows[0])
    for _ in range(empty_rows):
        written.append([])  # <row r="n"/>
    for row in rows[1:]:
        written.append(row)
    stream.save(out)
    return out.getvalue()


def _csv(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def _post(
    api: Api, who: Login, content: bytes, filename: str = "register.xlsx", **form: str
) -> Any:
    return api.client.post(
        "/api/v1/imports/shelters",
        headers=who.headers,
        files={"file": (filename, content, "application/octet-stream")},
        data=form,
    )


def _codes(db: Session) -> list[str]:
    db.rollback()
    return sorted(db.scalars(select(Shelter.code)))


def _audited(db: Session, action: str) -> int:
    db.rollback()
    return db.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


class Ticking:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.clock = FakeMonotonic(3.0)
        self.step = step

    def __call__(self) -> float:
        return self.clock.advance(self.step)


# ---------------------------------------------------------------- bounded reading


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param({"empty_rows": 60_000}, id="empty-rows"),
        pytest.param({"gap": 1_000_000}, id="gap"),
    ],
)
def test_an_xlsx_of_empty_rows_is_refused_and_writes_nothing(
    api: Api, db: Session, layout: dict[str, int]
) -> None:
    content = _xlsx([HEADER, ["LAST-1", "最后一行", DISTRICT_A]], **layout)
    assert len(content) < 600_000
    r = _post(api, api.admin, content)
    assert error_of(r) == (422, "too_many_rows"), r.text
    assert "50000" in r.json()["error"]["message"].replace(",", "")
    assert _codes(db) == []
    assert _audited(db, "shelter.create") == 0


def test_an_import_that_runs_out_of_time_is_refused_and_writes_nothing(
    api: Api, db: Session, state: AppState
) -> None:
    state.settings.import_max_seconds = 30
    state.monotonic = Ticking(step=1.0)  # every look at the clock: one second later
    lines = ["code,name,district", *(f"T-{i},工程{i},{DISTRICT_A}" for i in range(100))]
    r = _post(api, api.admin, _csv(*lines), "register.csv")
    assert error_of(r) == (422, "import_timeout"), r.text
    assert _codes(db) == []
    # the same file within the time imports
    state.monotonic = Ticking(step=0.001)
    r = _post(api, api.admin, _csv(*lines), "register.csv")
    assert r.status_code == 200, r.text
    assert len(_codes(db)) == 100


def test_a_row_wider_than_the_limit_is_refused(api: Api, db: Session) -> None:
    content = _xlsx([HEADER + [None] * 200 + ["地址"], ["W-1", "宽", DISTRICT_A]])
    assert error_of(_post(api, api.admin, content)) == (422, "too_many_columns")
    assert _codes(db) == []


def test_others_write_while_the_file_is_read_and_checked(
    api: Api, db: Session, state: AppState, engine: Engine
) -> None:
    """Reading and checking the file take no write lock: another writer, which would give up
    at once on a lock, commits while the import looks at its clock."""
    written: list[int] = []
    url = engine.url.render_as_string(hide_password=False)
    # on SQLite, a writer that gives up at once when another holds the write lock
    other = (
        create_engine(url, connect_args={"timeout": 0})
        if engine.dialect.name == "sqlite"
        else build_engine(url)
    )

    def writing_clock() -> float:
        with other.begin() as conn:
            conn.execute(
                text("UPDATE shelters SET address = :a WHERE code = 'BUSY'"),
                {"a": str(len(written))},
            )
        written.append(1)
        return 3.0

    api.shelter("BUSY")
    state.monotonic = writing_clock
    r = _post(api, api.admin, _csv("code,name,district", f"C-1,一号,{DISTRICT_A}"), "r.csv")
    other.dispose()
    assert r.status_code == 200, r.text
    assert len(written) >= 2  # while reading the file and while checking it against the register
    assert _codes(db) == ["BUSY", "C-1"]


# ---------------------------------------------------------------- updates and dry run


@pytest.fixture
def officers(make_user: UserFactory) -> tuple[Login, Login]:
    return (
        make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A),
        make_user(Role.DISTRICT_OFFICER, district=DISTRICT_B),
    )


def _register(api: Api, client: TestClient) -> None:
    api.shelter("A-1", DISTRICT_A)
    api.shelter("A-2", DISTRICT_A)
    api.shelter("B-1", DISTRICT_B)
    r = client.patch(
        "/api/v1/shelters/A-1",
        headers=api.admin.headers,
        json={"address": "旧地址", "area_m2": 800},
    )
    assert r.status_code == 200, r.text


FILE = _csv(
    "编号,名称,区,地址,面积",
    f"A-1,工程 A-1,{DISTRICT_A},新地址,800",  # address changes
    f"A-2,工程 A-2,{DISTRICT_A},,",  # as registered
    f"A-3,新工程,{DISTRICT_A},和平路,120.5",  # new
    f"A-4,,{DISTRICT_A},,",  # no name
)


def _rows(report: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {
        r["code"]: (r["action"], r["changes"] if r["action"] == "update" else r["errors"])
        for r in report["rows"]
    }


def test_dry_run_shows_each_rows_fate_and_changes_nothing(
    api: Api, client: TestClient, db: Session
) -> None:
    _register(api, client)
    r = _post(api, api.admin, FILE, "r.csv", dry_run="true", only_valid="true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["dry_run"], report["applied"]) == (True, False)
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (
        1,
        1,
        1,
        1,
    )
    assert _rows(report) == {
        "A-1": ("update", [{"field": "address", "before": "旧地址", "after": "新地址"}]),
        "A-2": ("unchanged", []),
        "A-3": ("create", []),
        "A-4": ("error", ["name: is required"]),
    }
    assert [r["row"] for r in report["rows"]] == [2, 3, 4, 5]
    assert _codes(db) == ["A-1", "A-2", "B-1"]
    detail = client.get("/api/v1/shelters/A-1", headers=api.admin.headers).json()
    assert detail["address"] == "旧地址"


def test_import_updates_by_code_and_audits_each_change(
    api: Api, client: TestClient, db: Session
) -> None:
    _register(api, client)
    r = _post(api, api.admin, FILE, "r.csv", only_valid="true")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["applied"], report["imported"], report["created"], report["updated"]) == (
        True,
        2,
        1,
        1,
    )
    one = client.get("/api/v1/shelters/A-1", headers=api.admin.headers).json()
    assert (one["address"], one["area_m2"], one["name"]) == ("新地址", 800, "工程 A-1")
    three = client.get("/api/v1/shelters/A-3", headers=api.admin.headers).json()
    assert (three["address"], three["area_m2"]) == ("和平路", 120.5)
    db.rollback()
    [entry] = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "shelter.update", AuditEntry.entity_id == "A-1")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    assert (entry.before, entry.after) == ({"address": "旧地址"}, {"address": "新地址"})
    assert _audited(db, "register.import") == 1


def test_columns_left_out_of_the_file_are_left_alone(
    api: Api, client: TestClient, make_user: UserFactory
) -> None:
    manager = make_user(Role.MANAGER)
    api.shelter("A-1", DISTRICT_A, manager=manager)
    content = _csv("code,name,district", f"A-1,改名,{DISTRICT_A}")
    assert _post(api, api.admin, content, "r.csv").status_code == 200
    detail = client.get("/api/v1/shelters/A-1", headers=api.admin.headers).json()
    assert (detail["name"], detail["manager"]) == ("改名", manager.username)
    # an empty cell of a column in the file clears the field, as it reads
    content = _csv("code,name,district,manager", f"A-1,改名,{DISTRICT_A},")
    assert _post(api, api.admin, content, "r.csv").status_code == 200
    detail = client.get("/api/v1/shelters/A-1", headers=api.admin.headers).json()
    assert detail["manager"] is None


def test_any_bad_row_applies_nothing_unless_only_valid(
    api: Api, client: TestClient, db: Session
) -> None:
    _register(api, client)
    r = _post(api, api.admin, FILE, "r.csv")
    assert r.status_code == 200, r.text
    assert (r.json()["applied"], r.json()["imported"], r.json()["rejected"]) == (False, 0, 1)
    assert _codes(db) == ["A-1", "A-2", "B-1"]
    assert (
        client.get("/api/v1/shelters/A-1", headers=api.admin.headers).json()["address"] == "旧地址"
    )


# ---------------------------------------------------------------- scope


def test_an_officer_updates_only_their_district_and_learns_nothing_of_others(
    api: Api, client: TestClient, officers: tuple[Login, Login]
) -> None:
    officer_a, _ = officers
    _register(api, client)
    content = _csv(
        "编号,名称,区,地址",
        f"A-1,工程 A-1,{DISTRICT_A},新地址",
        f"B-1,我的工程,{DISTRICT_A},某路",  # a code registered in district B
        f"X-9,别区工程,{DISTRICT_B},某路",  # a new code, in district B
        f"A-2,工程 A-2,{DISTRICT_B},",  # moving one of theirs out
    )
    r = _post(api, officer_a, content, "r.csv", dry_run="true")
    assert r.status_code == 200, r.text
    rows = _rows(r.json())
    assert rows["A-1"][0] == "update"
    errors = {code: rows[code] for code in ("B-1", "X-9", "A-2")}
    assert {action for action, _ in errors.values()} == {"error"}
    # the row naming another district's shelter reads like any row out of the district
    assert errors["B-1"][1] == errors["X-9"][1] == errors["A-2"][1]
    assert "exist" not in r.text and "工程 B-1" not in r.text
    r = _post(api, officer_a, content, "r.csv", only_valid="true")
    assert r.json()["imported"] == 1
    other = client.get("/api/v1/shelters/B-1", headers=api.admin.headers).json()
    assert (other["name"], other["district"], other["address"]) == ("工程 B-1", DISTRICT_B, "")
    mine = client.get("/api/v1/shelters/A-2", headers=api.admin.headers).json()
    assert mine["district"] == DISTRICT_A
