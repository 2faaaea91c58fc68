"""Documents over HTTP: the rectification notice as issued from a real inspection, document
numbers, late inspections dated at the visit, shelter signs one by one and by district, and
what happens when the server has no font (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.processes.scheduler import run_tick
from api.state import AppState
from inspection.models import Role
from tests import pdf_tools
from tests.api.conftest import CODE, DISTRICT_A, DISTRICT_B, World, at, error_of
from tests.conftest import FakeClock, Login, UserFactory

BASE = "https://rf.example.gov.cn/app"


def _pdf(response: Response, tmp_path: Path, name: str = "doc.pdf") -> Path:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def _register(world: World, code: str = CODE, **fields: Any) -> None:
    r = world.api.client.patch(
        f"/api/v1/shelters/{code}", headers=world.api.admin.headers, json=fields
    )
    assert r.status_code == 200, r.text


def _name_manager(world: World, who: Login, name: str, phone: str) -> None:
    r = world.api.client.patch(
        f"/api/v1/users/{who.username}",
        headers=world.api.admin.headers,
        json={"display_name": name, "phone": phone},
    )
    assert r.status_code == 200, r.text


@pytest.fixture
def registered(world: World) -> World:
    """Shelter CODE with the register filled in and a manager with a real name and phone."""
    _register(
        world,
        address=f"{DISTRICT_A}中山东一路1号地下一层",
        responsible_unit="外滩物业管理有限公司",
        wartime_function="人员掩蔽",
        peacetime_use="地下停车场",
    )
    _name_manager(world, world.manager, "王建国", "13912345678")
    return world


# ----------------------------------------------------------------------------- notices


def test_a_class2_notice_reads_as_issued_on_the_spot(
    registered: World, client: TestClient, tmp_path: Path
) -> None:
    world = registered
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST", "SIGN-INCOMPLETE")
    [notice] = body["followups"]
    assert notice["number"] == "ZG2026-0001"
    path = _pdf(
        client.get(f"/api/v1/notices/{notice['id']}.pdf", headers=world.manager.headers),
        tmp_path,
    )
    text = pdf_tools.text(path)
    assert "编号：ZG2026-0001" in text
    assert "外滩物业管理有限公司：" in text
    assert "2026年6月1日，市人民防空办公室" in text
    assert f"位于{DISTRICT_A}中山东一路1号地下一层）" in text
    assert f"{DISTRICT_A}{DISTRICT_A}" not in text
    assert "防护设备锈蚀、油漆脱落" in text
    assert "标识标牌缺失或信息不全（名称、用途、工程长联系方式）" in text
    assert "SIGN-INCOMPLETE" not in text and "EQ-RUST" not in text
    assert "请于2026年6月16日前完成整改" in text
    assert "工程长：王建国；联系电话：13912345678。" in text
    assert world.manager.username not in text and "—" not in text
    fonts = pdf_tools.fonts(path)
    assert fonts and all(f.embedded and f.subset for f in fonts), fonts
    assert pdf_tools.chinese_is_drawn(path, tmp_path) == []


def test_a_class4_notice_carries_its_milestones(
    registered: World, client: TestClient, tmp_path: Path
) -> None:
    world = registered
    body = world.api.inspect(world.inspector, CODE, "STRUCT-WALL-PENETRATION")
    key, referral = body["followups"]
    assert (key["number"], referral["number"]) == ("DB2026-0001", "YJ2026-0001")
    path = _pdf(
        client.get(f"/api/v1/notices/{key['id']}.pdf", headers=world.officer.headers), tmp_path
    )
    text = pdf_tools.text(path)
    assert "评定为四类" in text
    assert "控制险情72小时内采取措施控制险情，消除安全隐患2026年6月4日9时30分前" in text
    assert "报送方案7日内报送整改方案2026年6月8日前" in text
    assert "完成整改90日内完成全面整改，报请核查销号2026年8月30日前" in text
    assert "将依法移交执法部门查处" in text
    r = client.get(f"/api/v1/notices/{referral['id']}.pdf", headers=world.officer.headers)
    assert error_of(r) == (422, "not_a_notice")
    r = client.get(f"/api/v1/notices/{key['id']}.pdf", headers=world.officer_b.headers)
    assert error_of(r) == (404, "followup_not_found")


def test_each_kind_of_document_has_its_own_sequence(world: World) -> None:
    api = world.api
    for code in ("SH-002", "SH-003", "SH-004"):
        api.shelter(code)
    numbers = [
        f["number"]
        for code, item in (
            (CODE, "EQ-RUST"),
            ("SH-002", "CIVIL-DEBRIS"),
            ("SH-003", "DOOR-NOT-CLOSING"),
            ("SH-004", "OCCUPATION"),
        )
        for f in api.inspect(world.inspector, code, item)["followups"]
    ]
    assert numbers == [
        "ZG2026-0001",
        "ZG2026-0002",
        "TZ2026-0001",
        "DB2026-0001",
        "YJ2026-0001",
    ]


# ------------------------------------------------------------------- late inspections


LATE_VISIT = "2026-03-01T10:00:00+08:00"  # three months before the test clock


def test_a_late_inspection_needs_a_reason(world: World, clock: FakeClock) -> None:
    r = world.api.submit(world.inspector, CODE, "EQ-RUST", inspected_at=LATE_VISIT)
    assert error_of(r) == (422, "late_reason_required")
    r = world.api.submit(
        world.inspector, CODE, "EQ-RUST", inspected_at=LATE_VISIT, late_reason="   "
    )
    assert error_of(r) == (422, "late_reason_required")
    # A week after the visit is not late yet.
    week = (clock.now - timedelta(days=7)).isoformat()
    assert world.api.submit(world.inspector, CODE, inspected_at=week).status_code == 201


def test_a_late_inspection_is_dated_at_the_visit_and_may_be_overdue_at_once(
    registered: World, client: TestClient, state: AppState, tmp_path: Path
) -> None:
    world = registered
    reason = "纸质检查表补录：检查员3月至5月借调防汛"
    body = world.api.inspect(
        world.inspector, CODE, "EQ-RUST", inspected_at=LATE_VISIT, late_reason=reason
    )
    assert body["late_reason"] == reason
    [notice] = body["followups"]
    visit = at(LATE_VISIT)
    assert at(notice["issued_at"]) == visit
    assert at(notice["due_at"]) == visit + timedelta(days=15)
    assert notice["overdue"] is True
    audit = client.get(
        "/api/v1/audit",
        headers=world.api.admin.headers,
        params={"entity": "inspection", "entity_id": str(body["id"])},
    ).json()["items"]
    assert [e["after"]["late_reason"] for e in audit if e["action"] == "inspection.submit"] == [
        reason
    ]
    text = pdf_tools.text(
        _pdf(
            client.get(f"/api/v1/notices/{notice['id']}.pdf", headers=world.manager.headers),
            tmp_path,
        )
    )
    assert "2026年3月1日，市人民防空办公室" in text
    assert "请于2026年3月16日前完成整改" in text
    # The tick treats it as any other: far more than 7 days late, it rises to class 3.
    run_tick(state)
    assert world.api.current_class(CODE) == 3
    assert world.api.followups(kind="ledger")["items"][0]["number"] == "TZ2026-0001"


# ---------------------------------------------------------------------------- signs


def test_a_shelter_sign_links_to_its_page_in_the_web_app(
    registered: World, client: TestClient, state: AppState, tmp_path: Path
) -> None:
    world = registered
    state.settings.public_base_url = BASE + "/"
    path = _pdf(
        client.get(f"/api/v1/shelters/{CODE}/sign.pdf", headers=world.manager.headers), tmp_path
    )
    text = pdf_tools.text(path)
    for expected in (
        f"工程{CODE}",  # the name the fixture registers
        f"工程编号{CODE}",
        "战时功能人员掩蔽",
        "平时用途地下停车场",
        "维护管理单位外滩物业管理有限公司",
        "工程长王建国",
        "联系电话13912345678",
        f"工程地址{DISTRICT_A}中山东一路1号地下一层",
    ):
        assert expected in text
    assert pdf_tools.qr_codes(path, tmp_path) == [[f"{BASE}/#/shelters/{CODE}/inspect"]]
    fonts = pdf_tools.fonts(path)
    assert fonts and all(f.embedded and f.subset for f in fonts), fonts
    assert pdf_tools.chinese_is_drawn(path, tmp_path) == []


def test_a_sign_out_of_scope_is_not_found(
    world: World, client: TestClient, make_user: UserFactory
) -> None:
    other = make_user(Role.MANAGER)
    for who, code in ((other, CODE), (world.officer_b, CODE), (world.api.admin, "NOPE")):
        r = client.get(f"/api/v1/shelters/{code}/sign.pdf", headers=who.headers)
        assert error_of(r) == (404, "shelter_not_found")
    assert client.get(f"/api/v1/shelters/{CODE}/sign.pdf").status_code == 401


@pytest.fixture
def district(world: World, make_user: UserFactory) -> dict[str, Login]:
    """District A: CODE (world's manager), SH-002 and SH-003 (another manager), SH-004
    inactive; district B: SH-101."""
    api = world.api
    other = make_user(Role.MANAGER)
    api.shelter("SH-003", manager=other)
    api.shelter("SH-002", manager=other)
    api.shelter("SH-004")
    _register(world, "SH-004", active=False)
    api.shelter("SH-101", DISTRICT_B)
    return {"other": other}


def _batch(client: TestClient, who: Login, tmp_path: Path, **params: Any) -> list[str]:
    r = client.get("/api/v1/signs.pdf", headers=who.headers, params=params)
    path = _pdf(r, tmp_path, f"batch-{who.username}.pdf")
    codes = [url.rsplit("/", 2)[1] for [url] in pdf_tools.qr_codes(path, tmp_path)]
    assert r.headers["X-Total-Count"].isdigit()
    return codes


def test_a_districts_signs_come_as_one_document_in_the_callers_scope(
    world: World,
    district: dict[str, Login],
    client: TestClient,
    tmp_path: Path,
) -> None:
    a = {"district": DISTRICT_A}
    assert _batch(client, world.officer, tmp_path, **a) == [CODE, "SH-002", "SH-003"]
    assert _batch(client, world.api.admin, tmp_path, **a, limit=1, offset=1) == ["SH-002"]
    assert _batch(client, world.manager, tmp_path, **a) == [CODE]
    assert _batch(client, district["other"], tmp_path, **a) == ["SH-002", "SH-003"]
    assert _batch(client, world.inspector, tmp_path, **a) == [CODE, "SH-002", "SH-003"]
    # An officer of another district learns nothing of district A.
    r = client.get("/api/v1/signs.pdf", headers=world.officer_b.headers, params=a)
    assert error_of(r) == (404, "shelter_not_found")
    r = client.get("/api/v1/signs.pdf", headers=world.officer.headers, params=a | {"offset": 3})
    assert error_of(r) == (404, "shelter_not_found")
    r = client.get("/api/v1/signs.pdf", headers=world.officer.headers)
    assert error_of(r) == (422, "validation_error")
    r = client.get("/api/v1/signs.pdf", headers=world.officer.headers, params=a | {"limit": 101})
    assert error_of(r) == (422, "validation_error")


def test_without_a_font_the_server_says_what_to_do(
    world: World, client: TestClient, state: AppState, tmp_path: Path
) -> None:
    state.settings.pdf_font = tmp_path / "missing.ttf"
    r = client.get(f"/api/v1/shelters/{CODE}/sign.pdf", headers=world.api.admin.headers)
    assert error_of(r) == (503, "pdf_font_missing")
    assert "SHELTERWATCH_PDF_FONT" in r.json()["error"]["message"]


def test_the_pdf_endpoints_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/shelters/{code}/sign.pdf",
        "/api/v1/signs.pdf",
        "/api/v1/notices/{followup_id}.pdf",
        "/api/v1/referrals/{followup_id}.pdf",
    ):
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["content"] == {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}
        }
        assert {"404", "503"} <= responses.keys()
