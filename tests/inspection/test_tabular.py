"""Register import from CSV/xlsx (reading within bounds, creating and updating by code,
scope, a register that changes under the import) and register/ledger export, on a real
migrated database."""

from __future__ import annotations

import csv
import io
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from inspection.access import SYSTEM, Actor
from inspection.errors import Conflict, InvalidInput
from inspection.models import Finding, Followup, FollowupFinding, Role, Shelter, User
from inspection.register_file import (
    MAX_ROWS,
    ReadLimits,
    RowResult,
    read_register_file,
)
from inspection.register_import import (
    ImportReport,
    apply_import,
    import_register,
    plan_import,
)
from inspection.registry import OUT_OF_REACH, create_shelter
from inspection.schemas import ShelterCreate, UserCreate
from inspection.tabular import (
    LEDGER_COLUMNS,
    REGISTER_COLUMNS,
    ledger_rows,
    register_rows,
    to_csv,
    to_xlsx,
)
from inspection.users import create_user

NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
PASSWORD = "correct-horse-battery"


def _user(session: Session, username: str, role: Role, **extra: Any) -> User:
    data = UserCreate(username=username, role=role, password=PASSWORD, **extra)
    user, _ = create_user(session, data, actor=SYSTEM, now=NOW)
    return user


def _seed_people(session: Session) -> None:
    _user(session, "mgr_li", Role.MANAGER, display_name="李工", phone="13800000001")
    _user(session, "insp_wang", Role.INSPECTOR)


def import_shelters(
    session: Session,
    filename: str,
    content: bytes,
    *,
    actor: Actor,
    now: datetime,
    only_valid: bool,
    dry_run: bool = False,
) -> ImportReport:
    """The import with ``session`` for both of its transactions."""
    return import_register(
        filename,
        content,
        read=lambda: nullcontext(session),
        write=lambda: nullcontext(session),
        actor=actor,
        now=now,
        only_valid=only_valid,
        dry_run=dry_run,
    )


def parse_shelter_file(filename: str, content: bytes, **limits: int) -> list[RowResult]:
    return read_register_file(filename, content, limits=ReadLimits(**limits)).rows


def _shelter(session: Session, code: str, **fields: Any) -> Shelter:
    data = ShelterCreate.model_validate({"code": code, "name": f"工程{code}", **fields})
    return create_shelter(session, data, actor=SYSTEM, now=NOW)


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def _shelters(session: Session) -> dict[str, Shelter]:
    rows = session.scalars(
        select(Shelter).options(joinedload(Shelter.manager), joinedload(Shelter.inspector))
    ).all()
    return {s.code: s for s in rows}


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_csv_with_good_rows_is_imported(session: Session) -> None:
    _seed_people(session)
    content = _csv(
        "code,name,district,address,latitude,longitude,area_m2,use_registered,"
        "responsible_unit_status,manager,inspector,signage_installed,active\n"
        "DC-001,东城一号工程,东城区,和平路1号,39.91,116.41,1200.5,yes,known,mgr_li,insp_wang,1,\n"
        "DC-002,东城二号工程,东城区,,,,,no,disputed,,,false,0\n"
    )
    report = import_shelters(
        session, "register.csv", content, actor=SYSTEM, now=NOW, only_valid=False
    )
    assert (report.imported, report.rejected, report.applied, report.errors) == (2, 0, True, [])
    shelters = _shelters(session)
    first, second = shelters["DC-001"], shelters["DC-002"]
    assert (first.name, first.district, first.address) == ("东城一号工程", "东城区", "和平路1号")
    assert (first.latitude, first.longitude, first.area_m2) == (39.91, 116.41, 1200.5)
    assert first.use_registered is True and first.signage_installed is True
    assert first.active is True
    assert first.manager is not None and first.manager.username == "mgr_li"
    assert first.inspector is not None and first.inspector.username == "insp_wang"
    assert (second.latitude, second.area_m2, second.manager) == (None, None, None)
    assert second.use_registered is False and second.active is False
    assert second.responsible_unit_status == "disputed"
    assert first.created_at == NOW and first.current_class is None


def test_xlsx_with_good_rows_is_imported(session: Session) -> None:
    _seed_people(session)
    content = _xlsx(
        [
            ["code", "name", "district", "latitude", "area_m2", "use_registered", "manager"],
            [1001, "西城工程", "西城区", 39.9, 800, True, "mgr_li"],
            ["XC-2", "西城二号", "西城区", "39.95", None, "否", None],
        ]
    )
    report = import_shelters(
        session, "register.xlsx", content, actor=SYSTEM, now=NOW, only_valid=False
    )
    assert (report.imported, report.rejected, report.applied) == (2, 0, True)
    shelters = _shelters(session)
    assert sorted(shelters) == ["1001", "XC-2"]
    numeric = shelters["1001"]
    assert (numeric.name, numeric.latitude, numeric.area_m2) == ("西城工程", 39.9, 800.0)
    assert numeric.use_registered is True
    assert numeric.manager is not None and numeric.manager.username == "mgr_li"
    assert (shelters["XC-2"].latitude, shelters["XC-2"].use_registered) == (39.95, False)


BAD_FILE = (
    "code,name,district,latitude,manager\n"
    "OK-1,好工程一,东城区,39.9,mgr_li\n"
    "BAD-LAT,纬度错,东城区,123,\n"
    "NO-NAME,,东城区,,\n"
    "OK-1,重复编号,东城区,,\n"
    "BAD-MGR,工程长错,东城区,,ghost\n"
    "TAKEN,已登记,东城区,,\n"
    "OK-2,好工程二,东城区,,\n"
)


def _bad_rows(report_errors: list[Any]) -> dict[int, tuple[str | None, list[str]]]:
    return {e.row: (e.code, e.errors) for e in report_errors}


def test_any_bad_row_stops_the_whole_import_and_every_reason_is_reported(
    session: Session,
) -> None:
    _seed_people(session)
    _shelter(session, "TAKEN", district="东城区")
    report = import_shelters(
        session, "bad.csv", _csv(BAD_FILE), actor=SYSTEM, now=NOW, only_valid=False
    )
    assert (report.imported, report.rejected, report.applied) == (0, 4, False)
    assert _bad_rows(report.errors) == {
        3: ("BAD-LAT", ["latitude: Input should be less than or equal to 90"]),
        4: ("NO-NAME", ["name: is required"]),
        5: ("OK-1", ["code: 'OK-1' repeats row 2"]),
        6: ("BAD-MGR", ["'ghost' is not a user with role manager"]),
    }
    assert [(r.row, r.action) for r in report.rows] == [
        (2, "create"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
        (7, "update"),
        (8, "create"),
    ]
    assert sorted(_shelters(session)) == ["TAKEN"]
    assert _shelters(session)["TAKEN"].name == "工程TAKEN"


def test_only_valid_imports_the_good_rows_and_reports_the_bad(session: Session) -> None:
    _seed_people(session)
    _shelter(session, "TAKEN", district="东城区")
    report = import_shelters(
        session, "bad.csv", _csv(BAD_FILE), actor=SYSTEM, now=NOW, only_valid=True
    )
    assert (report.imported, report.rejected, report.applied) == (3, 4, True)
    assert (report.created, report.updated) == (2, 1)
    assert sorted(_bad_rows(report.errors)) == [3, 4, 5, 6]
    shelters = _shelters(session)
    assert sorted(shelters) == ["OK-1", "OK-2", "TAKEN"]
    assert shelters["OK-1"].name == "好工程一"
    assert shelters["OK-1"].manager is not None
    assert shelters["OK-1"].manager.username == "mgr_li"
    assert shelters["TAKEN"].name == "已登记"


def test_district_officer_may_import_only_into_their_district(session: Session) -> None:
    officer = _user(session, "do_east", Role.DISTRICT_OFFICER, district="东城区")
    actor = Actor(id=officer.id, username="do_east", role=Role.DISTRICT_OFFICER, district="东城区")
    _shelter(session, "W-2", district="西城区")
    content = _csv(
        "编号,名称,区\nE-1,东城工程,东城区\nW-1,西城工程,西城区\nW-2,东城工程二,东城区\n"
    )
    report = import_shelters(session, "r.csv", content, actor=actor, now=NOW, only_valid=True)
    assert (report.imported, report.rejected) == (1, 2)
    assert _bad_rows(report.errors) == {3: ("W-1", [OUT_OF_REACH]), 4: ("W-2", [OUT_OF_REACH])}
    assert sorted(_shelters(session)) == ["E-1", "W-2"]
    assert _shelters(session)["W-2"].district == "西城区"


def test_a_register_changed_since_the_check_is_not_written(session: Session) -> None:
    _shelter(session, "A-1", district="东城区")
    content = _csv("code,name,district\nA-1,改名,东城区\nA-2,新,东城区\n")
    plan = plan_import(session, read_register_file("r.csv", content), actor=SYSTEM)
    assert [r.action for r in plan.rows] == ["update", "create"]
    _shelter(session, "A-2", district="东城区")  # registered meanwhile
    with pytest.raises(Conflict) as refused:
        apply_import(session, plan, filename="r.csv", actor=SYSTEM, now=NOW)
    assert refused.value.code == "register_changed"
    assert _shelters(session)["A-1"].name == "工程A-1"

    plan = plan_import(session, read_register_file("r.csv", content), actor=SYSTEM)
    assert [r.action for r in plan.rows] == ["update", "update"]
    a1 = _shelters(session)["A-1"]
    a1.address, a1.updated_at = "edited meanwhile", NOW + timedelta(minutes=1)
    session.flush()
    with pytest.raises(Conflict):
        apply_import(session, plan, filename="r.csv", actor=SYSTEM, now=NOW)
    assert _shelters(session)["A-1"].name == "工程A-1"


def test_chinese_headers_in_a_gb18030_csv(session: Session) -> None:
    _seed_people(session)
    text = (
        "编号,名称,区,地址,纬度,经度,类型,战时功能,防护等级,面积,平时用途,平时使用已登记,"
        "责任单位,责任单位状态,工程长,检查员,标识标牌,启用\n"
        "HD-01,海淀人防一号,海淀区,中关村大街1号,39.98,116.31,单建式,人员掩蔽,六级,2300,"
        "停车场,是,海淀物业公司,明确,mgr_li,insp_wang,否,是\n"
    )
    content = _csv(text, "gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    report = import_shelters(
        session, "登记表.csv", content, actor=SYSTEM, now=NOW, only_valid=False
    )
    assert (report.imported, report.rejected) == (1, 0)
    shelter = _shelters(session)["HD-01"]
    assert (shelter.name, shelter.district, shelter.address) == (
        "海淀人防一号",
        "海淀区",
        "中关村大街1号",
    )
    assert (shelter.shelter_type, shelter.wartime_function, shelter.protection_level) == (
        "单建式",
        "人员掩蔽",
        "六级",
    )
    assert (shelter.area_m2, shelter.peacetime_use, shelter.responsible_unit) == (
        2300.0,
        "停车场",
        "海淀物业公司",
    )
    assert shelter.use_registered is True and shelter.signage_installed is False
    assert shelter.responsible_unit_status == "known"


def test_utf8_bom_csv_and_row_numbers_skip_blank_lines() -> None:
    content = "\ufeff编号,名称,区,启用\nA,甲,东城区,是\n,,,\nB,乙,东城区,也许\n".encode()
    results = parse_shelter_file("r.csv", content)
    assert [(r.row, r.code) for r in results] == [(2, "A"), (4, "B")]
    assert results[0].data is not None and results[0].data.name == "甲"
    assert results[1].data is None
    assert results[1].errors == ["active: expected one of true/false/1/0/yes/no/是/否, got '也许'"]


def test_unknown_and_missing_columns_are_file_errors() -> None:
    with pytest.raises(InvalidInput) as unknown:
        parse_shelter_file("r.csv", _csv("编号,名称,区,备注,colour\nA,甲,东城区,x,red\n"))
    assert unknown.value.code == "unknown_columns"
    assert unknown.value.details == ["备注", "colour"]
    with pytest.raises(InvalidInput) as missing:
        parse_shelter_file("r.csv", _csv("code,address\nA,x\n"))
    assert missing.value.code == "missing_columns"
    assert missing.value.details == ["name", "district"]
    with pytest.raises(InvalidInput) as twice:
        parse_shelter_file("r.csv", _csv("code,编号,name,district\nA,A,x,y\n"))
    assert twice.value.code == "duplicate_columns"


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("register.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "unsupported_file"),
        ("register.pdf", b"%PDF-1.7\n", "unsupported_file"),
        ("register", b"code,name,district\n", "unsupported_file"),
        ("register.xlsx", b"code,name,district\n", "unsupported_file"),
        ("register.csv", b"PK\x03\x04rest", "unsupported_file"),
        ("register.xlsx", b"PK\x03\x04not really a zip", "unreadable_file"),
        ("register.csv", b"", "empty_file"),
    ],
)
def test_files_that_are_not_a_register_are_refused(
    filename: str, content: bytes, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_shelter_file(filename, content)
    assert refused.value.code == code


def test_more_rows_than_the_limit_are_refused() -> None:
    lines = ["code,name,district"] + [f"C{i},n,d" for i in range(MAX_ROWS + 1)]
    with pytest.raises(InvalidInput) as refused:
        parse_shelter_file("big.csv", "\n".join(lines).encode())
    assert refused.value.code == "too_many_rows"


@pytest.mark.parametrize("filename", ["r.csv", "r.xlsx"])
def test_empty_rows_count_toward_the_row_limit(filename: str) -> None:
    rows: list[list[object]] = [
        ["code", "name", "district"],
        *[[] for _ in range(5)],
        ["A", "甲", "东城区"],
    ]
    content = (
        _xlsx(rows)
        if filename.endswith("xlsx")
        else _csv("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    )
    assert [r.code for r in parse_shelter_file(filename, content, max_rows=6)] == ["A"]
    with pytest.raises(InvalidInput) as refused:
        parse_shelter_file(filename, content, max_rows=5)
    assert refused.value.code == "too_many_rows"


def test_an_xlsx_that_unpacks_too_large_is_refused_before_reading() -> None:
    content = _xlsx([["code", "name", "district"], ["A", "甲" * 2000, "东城区"]])
    assert len(parse_shelter_file("r.xlsx", content, max_unpacked_bytes=10**6)) == 1
    with pytest.raises(InvalidInput) as refused:
        parse_shelter_file("r.xlsx", content, max_unpacked_bytes=len(content))
    assert refused.value.code == "file_too_large_unpacked"


def test_an_update_changes_only_what_differs(session: Session) -> None:
    _seed_people(session)
    _shelter(session, "DC-1", district="东城区", address="旧", manager="mgr_li", area_m2=10)
    content = _csv(
        "code,name,district,address,area_m2,manager,inspector,active\n"
        "DC-1,工程DC-1,东城区,旧,10,mgr_li,insp_wang,是\n"
    )
    report = import_shelters(session, "r.csv", content, actor=SYSTEM, now=NOW, only_valid=False)
    [row] = report.rows
    assert (row.action, [(c.field, c.before, c.after) for c in row.changes]) == (
        "update",
        [("inspector", None, "insp_wang")],
    )
    shelter = _shelters(session)["DC-1"]
    assert shelter.inspector is not None and shelter.inspector.username == "insp_wang"
    assert shelter.updated_at == NOW
    again = import_shelters(session, "r.csv", content, actor=SYSTEM, now=NOW, only_valid=False)
    assert [r.action for r in again.rows] == ["unchanged"]


def _seed_register(session: Session) -> None:
    _seed_people(session)
    _shelter(
        session,
        "DC-001",
        district="东城区",
        address="和平路1号",
        latitude=39.91,
        longitude=116.41,
        area_m2=1200.5,
        use_registered=True,
        responsible_unit="东城物业",
        manager="mgr_li",
        inspector="insp_wang",
        signage_installed=True,
    )
    _shelter(
        session,
        "XC-002",
        name="=1+1",
        district="西城区",
        responsible_unit_status="unknown",
        responsible_unit_contact="赵主任",
        responsible_unit_phone="010-66001234",
        manager_contact_name="周工",
        manager_contact_phone="13700000002",
    )
    session.execute(update(Shelter).where(Shelter.code == "DC-001").values(current_class=3))


def test_register_exports_to_xlsx_and_csv(session: Session) -> None:
    _seed_register(session)
    rows = register_rows(session, actor=SYSTEM)
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, REGISTER_COLUMNS, "人防工程登记表"))).active
    assert sheet.title == "人防工程登记表"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == [label for _, label in REGISTER_COLUMNS]
    record = dict(zip(values[0], values[1], strict=True))
    assert record["编号"] == "DC-001" and record["名称"] == "工程DC-001"
    assert (record["纬度"], record["经度"], record["面积"]) == (39.91, 116.41, 1200.5)
    assert (record["平时使用已登记"], record["标识标牌"], record["启用"]) == ("是", "是", "是")
    assert (record["工程长"], record["检查员"], record["当前类别"]) == ("mgr_li", "insp_wang", 3)
    assert (record["责任单位"], record["责任单位状态"]) == ("东城物业", "known")
    assert values[2][1] == "=1+1" and sheet["B3"].data_type == "s"
    assert values[2][REGISTER_COLUMNS.index(("manager", "工程长"))] is None
    contact = dict(zip(values[0], values[2], strict=True))
    assert (contact["工程长姓名"], contact["工程长电话"]) == ("周工", "13700000002")
    assert (contact["责任单位联系人"], contact["责任单位电话"]) == ("赵主任", "010-66001234")

    content = to_csv(rows, REGISTER_COLUMNS)
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == [label for _, label in REGISTER_COLUMNS]
    assert lines[1][:6] == ["DC-001", "工程DC-001", "东城区", "和平路1号", "39.91", "116.41"]
    assert lines[1][-4:] == ["insp_wang", "是", "是", "3"]
    assert lines[2][1] == "'=1+1" and lines[2][-1] == ""


def test_register_export_is_scoped_to_the_actor(session: Session) -> None:
    _seed_register(session)
    officer = Actor(id=99, username="do_west", role=Role.DISTRICT_OFFICER, district="西城区")
    assert [r["code"] for r in register_rows(session, actor=officer)] == ["XC-002"]


def test_exported_register_reimports_into_a_fresh_database(
    session: Session, second_session: Session
) -> None:
    _seed_register(session)
    rows = register_rows(session, actor=SYSTEM)
    _seed_people(second_session)
    for content, filename in (
        (to_xlsx(rows, REGISTER_COLUMNS, "登记表"), "export.xlsx"),
        (to_csv(rows, REGISTER_COLUMNS), "export.csv"),
    ):
        savepoint = second_session.begin_nested()
        report = import_shelters(
            second_session, filename, content, actor=SYSTEM, now=NOW, only_valid=False
        )
        assert (report.imported, report.rejected, report.errors) == (2, 0, [])
        again = register_rows(second_session, actor=SYSTEM)
        assert [{**r, "current_class": None} for r in rows] == again
        west = again[1]
        assert (west["manager"], west["manager_contact_name"], west["manager_contact_phone"]) == (
            None,
            "周工",
            "13700000002",
        )
        assert (west["responsible_unit_contact"], west["responsible_unit_phone"]) == (
            "赵主任",
            "010-66001234",
        )
        savepoint.rollback()


def _followup(
    session: Session, shelter: Shelter, number: str, *, status: str, due_in: timedelta, **kw: Any
) -> Followup:
    followup = Followup(
        number=number,
        kind=kw.pop("kind", "notice"),
        shelter_id=shelter.id,
        class_level=kw.pop("class_level", 2),
        status=status,
        issued_at=NOW - timedelta(days=20),
        due_at=NOW + due_in,
        **kw,
    )
    session.add(followup)
    session.flush()
    return followup


def _link(session: Session, followup: Followup, shelter: Shelter, *items: str) -> None:
    for item in items:
        finding = Finding(
            shelter_id=shelter.id, item_code=item, severity=1, note="", created_at=NOW
        )
        session.add(finding)
        session.flush()
        session.add(FollowupFinding(followup_id=followup.id, finding_id=finding.id))
    session.flush()


def test_ledger_rows_and_export(session: Session) -> None:
    _seed_register(session)
    tracker = _user(session, "insp_zhao", Role.INSPECTOR)
    east, west = _shelters(session)["DC-001"], _shelters(session)["XC-002"]
    late = _followup(
        session,
        east,
        "TZ-2026-0001",
        status="open",
        due_in=timedelta(days=-5),
        kind="ledger",
        class_level=3,
        checkpoint_at=NOW - timedelta(days=5, hours=1),
        tracker_id=tracker.id,
    )
    _link(session, late, east, "EQ-RUST", "CIVIL-DEBRIS")
    _followup(session, west, "TZ-2026-0002", status="closed", due_in=timedelta(days=-5))
    _followup(session, west, "TZ-2026-0003", status="open", due_in=timedelta(days=1))

    rows = {r["number"]: r for r in ledger_rows(session, actor=SYSTEM, now=NOW)}
    assert sorted(rows) == ["TZ-2026-0001", "TZ-2026-0002", "TZ-2026-0003"]
    first = rows["TZ-2026-0001"]
    assert (first["kind"], first["kind_label"], first["status_label"]) == (
        "ledger",
        "问题台账",
        "整改中",
    )
    assert (first["shelter_code"], first["shelter_name"], first["district"]) == (
        "DC-001",
        "工程DC-001",
        "东城区",
    )
    assert (first["class_level"], first["tracker"], first["overdue"]) == (3, "insp_zhao", True)
    assert first["items"] == "EQ-RUST；CIVIL-DEBRIS"
    assert first["titles"] == "防护设备锈蚀、油漆脱落；堆放杂物、环境卫生差"
    assert first["due_at"] == NOW - timedelta(days=5)
    assert rows["TZ-2026-0002"]["overdue"] is False
    assert rows["TZ-2026-0003"]["overdue"] is False
    assert rows["TZ-2026-0003"]["items"] == ""

    ordered = ledger_rows(session, actor=SYSTEM, now=NOW)
    sheet = load_workbook(io.BytesIO(to_xlsx(ordered, LEDGER_COLUMNS, "问题台账"))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == [label for _, label in LEDGER_COLUMNS]
    record = dict(zip(values[0], values[1], strict=True))
    assert record["编号"] == "TZ-2026-0001"
    assert (record["下发时间"], record["整改期限"]) == ("2026-04-11 17:30", "2026-04-26 17:30")
    assert (record["督导节点"], record["是否逾期"]) == ("2026-04-26 16:30", "是")
    assert record["问题"] == "防护设备锈蚀、油漆脱落；堆放杂物、环境卫生差"

    text = to_csv(ordered, LEDGER_COLUMNS, tz="UTC").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[1][7:12] == [
        "2026-04-11 09:30",
        "2026-04-26 09:30",
        "2026-04-26 08:30",
        "insp_zhao",
        "是",
    ]
    assert lines[3][LEDGER_COLUMNS.index(("overdue", "是否逾期"))] == "否"


def test_ledger_is_scoped_to_the_actor(session: Session) -> None:
    _seed_register(session)
    east, west = _shelters(session)["DC-001"], _shelters(session)["XC-002"]
    _followup(session, east, "TZ-1", status="open", due_in=timedelta(days=3))
    _followup(session, west, "TZ-2", status="open", due_in=timedelta(days=3))
    manager = session.scalar(select(User).where(User.username == "mgr_li"))
    assert manager is not None
    actor = Actor(id=manager.id, username="mgr_li", role=Role.MANAGER)
    assert [r["number"] for r in ledger_rows(session, actor=actor, now=NOW)] == ["TZ-1"]
