"""An inspection from submission through fix, verification and the class coming back to 1."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inspection.models import Role
from tests.conftest import FakeClock, UserFactory
from tests.images import PNG


def test_class3_inspection_fix_and_verify(
    client: TestClient, make_user: UserFactory, clock: FakeClock
) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    inspector = make_user(Role.INSPECTOR, district="黄浦区")
    officer = make_user(Role.DISTRICT_OFFICER, district="黄浦区")
    r = client.post(
        "/api/v1/shelters",
        headers=admin.headers,
        json={
            "code": "SH-001",
            "name": "人民广场人防工程",
            "district": "黄浦区",
            "manager": manager.username,
        },
    )
    assert r.status_code == 201, r.text

    r = client.post(
        "/api/v1/shelters/SH-001/inspections",
        headers=inspector.headers,
        json={
            "inspected_at": "2026-06-01T09:30:00+08:00",
            "findings": [
                {"item": "EQ-RUST", "fixed_on_spot": True},
                {"item": "DOOR-NOT-CLOSING", "note": "东侧"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["graded_class"] == 3
    assert [f["status"] for f in body["findings"]] == ["closed", "open"]
    [ledger] = body["followups"]
    assert ledger["kind"] == "ledger"
    assert ledger["tracker"] == inspector.username
    assert ledger["due_at"].startswith("2026-07-01T01:30")  # 30 days after the visit
    assert ledger["checkpoint_at"].startswith("2026-06-16T01:30")
    door = body["findings"][1]["id"]

    shelter = client.get("/api/v1/shelters/SH-001", headers=manager.headers).json()
    assert shelter["current_class"] == 3
    assert [f["item"] for f in shelter["open_findings"]] == ["DOOR-NOT-CLOSING"]

    clock.advance(days=3)
    r = client.post(
        f"/api/v1/findings/{door}/fix",
        headers=manager.headers,
        data={"note": "已更换门铰"},
        files=[("files", ("door.png", PNG, "image/png"))],
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fix_reported"

    r = client.post(f"/api/v1/findings/{door}/verify", headers=officer.headers, json={"note": "ok"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"

    shelter = client.get("/api/v1/shelters/SH-001", headers=manager.headers).json()
    assert shelter["current_class"] == 1
    assert shelter["open_findings"] == []
    followups = client.get("/api/v1/followups", headers=officer.headers).json()
    assert [f["status"] for f in followups["items"]] == ["closed"]
