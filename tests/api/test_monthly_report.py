"""The monthly report (月报) over HTTP: its figures equal the statistics the API gives for the
same data, months are taken in the city's zone, each officer gets their own scope, the xlsx
has one sheet a table and the PDF embeds its font (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from telemetry.alert_rules import Severity
from tests import pdf_tools
from tests.api.conftest import CODE, DISTRICT_A, DISTRICT_B, World, error_of
from tests.api.test_views import add_sensor, put_alert
from tests.conftest import FakeClock, Login

SHEETS = ["达标率", "达标率趋势", "分类情况", "整改督办", "逾期事项", "执法移送", "监测告警"]


def _xlsx(client: TestClient, who: Login, month: str, **params: Any) -> dict[str, list[list[Any]]]:
    r = client.get(
        "/api/v1/reports/monthly.xlsx", headers=who.headers, params={"month": month, **params}
    )
    assert r.status_code == 200, r.text
    book = load_workbook(BytesIO(r.content), read_only=True)
    assert book.sheetnames == SHEETS
    # two lines of notes (the heading, what the table shows), then the header and the rows
    return {
        name: [list(row) for row in book[name].iter_rows(values_only=True)][2:] for name in SHEETS
    }


def _rows(sheet: list[list[Any]]) -> dict[str, dict[str, Any]]:
    head, *body = sheet
    return {str(row[0]): dict(zip(head, row, strict=True)) for row in body}


def _get(client: TestClient, who: Login, path: str, **params: Any) -> Any:
    r = client.get(path, headers=who.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def month_of_june(world: World, db: Session, clock: FakeClock) -> World:
    """A notice in district A (overdue after 16 days), key supervision and a fined referral in
    district B, a sensor and a critical alert in district B; the clock on 17 June."""
    api = world.api
    api.shelter("B-1", DISTRICT_B)
    api.shelter("B-2", DISTRICT_B)
    api.inspect(world.inspector, CODE, "EQ-RUST")
    body = api.inspect(api.admin, "B-1", "STRUCT-WALL-PENETRATION")
    referral = next(f for f in body["followups"] if f["kind"] == "referral")
    r = api.client.post(
        f"/api/v1/followups/{referral['id']}/outcome",
        headers=world.officer_b.headers,
        json={"status": "fined", "fine_yuan": 20000},
    )
    assert r.status_code == 200, r.text
    add_sensor(api, "B-1", "B-1-S1")
    put_alert(
        db,
        "B-1-S1",
        "B-1",
        "fire_risk_critical",
        Severity.CRITICAL,
        at=clock(),
        district=DISTRICT_B,
    )
    clock.advance(days=16)
    return world


def test_the_figures_are_those_of_the_api(month_of_june: World, client: TestClient) -> None:
    world = month_of_june
    admin = world.api.admin
    report = _xlsx(client, admin, "2026-06")
    stats = _get(client, admin, "/api/v1/stats/compliance")
    dashboard = _get(client, admin, "/api/v1/dashboard")

    rates = _rows(report["达标率"])
    for row in [*stats["districts"], stats["city"]]:
        got = rates[row["district"] or "全市"]
        assert (got["在册工程"], got["一类工程"]) == (
            row["active_shelters"],
            row["class1_shelters"],
        )
        rate = "—" if row["rate"] is None else f"{row['rate'] * 100:.2f}%"
        assert got["达标率"] == rate
    classes = _rows(report["分类情况"])
    for row in [*stats["districts"], stats["city"]]:
        got = classes[row["district"] or "全市"]
        assert [got[f"{n}类"] for n in "一二三四"] + [got["未评级"]] == [
            row["by_class"][k] for k in ("1", "2", "3", "4", "ungraded")
        ]
    trend = _rows(report["达标率趋势"])
    assert list(trend)[-1] == "2026-06" and len(trend) == 12
    assert trend["2026-06"]["达标率"] == rates["全市"]["达标率"]

    followups = _rows(report["整改督办"])
    assert followups["合计"]["逾期"] == dashboard["overdue"]["total"] == 1
    assert followups["合计"]["在办"] == stats["city"]["open_followups"]
    assert followups["整改通知书"]["本月新增"] == 1
    assert followups["重点督导"]["本月新增"] == 1
    assert followups["移交执法"]["本月新增"] == 1
    assert followups["移交执法"]["本月销号"] == 1  # closed by the fine
    [overdue] = report["逾期事项"][1:]
    assert overdue[0] == dashboard["overdue"]["items"][0]["number"]

    referrals = _rows(report["执法移送"])
    figures = dashboard["referrals"]
    assert referrals["累计移送"]["件数"] == figures["total"]
    assert referrals["累计移送"]["罚款（元）"] == figures["fines_yuan"] == 20000
    assert referrals["累计现结果：罚款"]["件数"] == figures["by_outcome"]["fined"] == 1
    assert referrals["本月新移送"]["件数"] == 1
    assert referrals["本月记录：罚款"]["件数"] == 1

    monitoring = _rows(report["监测告警"])
    assert monitoring[DISTRICT_B]["装有传感器"] == 1
    assert monitoring[DISTRICT_B]["严重"] == 1
    assert monitoring[DISTRICT_A]["装有传感器"] == 0
    assert monitoring["全市"]["在册工程"] == 3
    assert monitoring["全市"]["严重"] == sum(dashboard["alerts"]["active"].values())


def test_months_are_taken_in_the_citys_zone(
    world: World, client: TestClient, clock: FakeClock
) -> None:
    api = world.api
    api.shelter("SH-002")
    # 23:30 on 30 June in Beijing (15:30 UTC): June; 00:30 on 1 July (16:30 UTC, still
    # 30 June in UTC): July
    clock.now = datetime(2026, 6, 30, 16, 35, tzinfo=UTC)
    for code, when in (
        (CODE, "2026-06-30T23:30:00+08:00"),
        ("SH-002", "2026-07-01T00:30:00+08:00"),
    ):
        r = api.submit(world.inspector, code, "EQ-RUST", inspected_at=when)
        assert r.status_code == 201, r.text
    june = _rows(_xlsx(client, api.admin, "2026-06")["整改督办"])
    july = _rows(_xlsx(client, api.admin, "2026-07")["整改督办"])
    assert june["整改通知书"]["本月新增"] == 1
    assert july["整改通知书"]["本月新增"] == 1
    assert july["整改通知书"]["在办"] == 2
    assert june["整改通知书"]["在办"] == 1  # at the end of June only the first was issued
    r = client.get(
        "/api/v1/reports/monthly.xlsx", headers=api.admin.headers, params={"month": "2026-08"}
    )
    assert error_of(r) == (422, "future_month")


def test_each_officer_gets_their_scope(month_of_june: World, client: TestClient) -> None:
    world = month_of_june
    report = _xlsx(client, world.officer_b, "2026-06")
    assert list(_rows(report["达标率"])) == [DISTRICT_B]
    assert list(_rows(report["监测告警"])) == [DISTRICT_B]
    assert _rows(report["整改督办"])["整改通知书"]["本月新增"] == 0
    narrowed = _xlsx(client, world.api.admin, "2026-06", district=DISTRICT_A)
    assert list(_rows(narrowed["达标率"])) == [DISTRICT_A]
    url = "/api/v1/reports/monthly.pdf"
    june = {"month": "2026-06"}
    r = client.get(url, headers=world.officer_b.headers, params=june | {"district": DISTRICT_A})
    assert error_of(r) == (404, "district_not_found")
    for who in (world.inspector, world.manager):
        assert error_of(client.get(url, headers=who.headers, params=june))[0] == 403
    for bad in ("2026-13", "June"):
        r = client.get(url, headers=world.api.admin.headers, params={"month": bad})
        assert r.status_code == 422, r.text


def test_the_pdf_reads_as_a_report(
    month_of_june: World, client: TestClient, tmp_path: Path
) -> None:
    r = client.get(
        "/api/v1/reports/monthly.pdf",
        headers=month_of_june.api.admin.headers,
        params={"month": "2026-06"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    path = tmp_path / "monthly.pdf"
    path.write_bytes(r.content)
    text = pdf_tools.text(path)
    assert "人防工程维护管理月报（2026年6月）" in text
    for heading in ("一、维护管理达标率", "二、达标率走势", "七、监测设备与告警"):
        assert heading in text
    assert "达标率＝当前为一类的人防工程数÷在册启用的人防工程数" in text
    assert DISTRICT_A in text and DISTRICT_B in text
    assert all(f.embedded and f.subset for f in pdf_tools.fonts(path))
    assert not pdf_tools.chinese_is_drawn(path, tmp_path)
