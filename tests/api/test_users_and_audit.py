"""User administration (details, password, channel profiles, deactivation) and the audit
log read API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inspection.models import Role
from tests.conftest import PASSWORD, UserFactory


def test_admin_updates_a_user_and_the_change_is_audited(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    r = client.patch(
        f"/api/v1/users/{admin.username}", headers=admin.headers, json={"display_name": "刘敏"}
    )
    assert r.status_code == 200, r.text
    r = client.patch(
        f"/api/v1/users/{manager.username}",
        headers=admin.headers,
        json={
            "phone": "13800000000",
            "email": "mgr@example.com",
            "channels": {"email": True, "wecom": {"url": "https://qyapi.weixin.qq.com/x"}},
        },
    )
    assert r.status_code == 200, r.text
    assert (r.json()["phone"], r.json()["email"]) == ("13800000000", "mgr@example.com")
    log = client.get(
        "/api/v1/audit",
        headers=admin.headers,
        params={"entity": "user", "entity_id": str(manager.id)},
    ).json()
    [update, create] = log["items"]
    assert (update["action"], create["action"]) == ("user.update", "user.create")
    assert (update["actor"], update["actor_name"]) == (admin.username, "刘敏")
    assert create["actor_name"] == create["actor"]  # no account behind it: as recorded
    assert update["after"]["phone"] == "13800000000"
    assert update["before"]["phone"] is None
    assert "password_hash" not in update["after"]


def test_a_bad_channel_profile_is_refused(client: TestClient, make_user: UserFactory) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    r = client.patch(
        f"/api/v1/users/{manager.username}",
        headers=admin.headers,
        json={"channels": {"webhook": {"url": "https://h.example/x"}}},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_channels"
    r = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "username": "x1",
            "role": "manager",
            "password": PASSWORD,
            "channels": {"pager": "123"},
        },
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_channels"


def test_a_deactivated_user_can_no_longer_log_in_or_use_a_token(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    assert client.get("/api/v1/shelters", headers=manager.headers).status_code == 200
    r = client.patch(
        f"/api/v1/users/{manager.username}", headers=admin.headers, json={"active": False}
    )
    assert r.status_code == 200
    assert client.get("/api/v1/shelters", headers=manager.headers).status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": manager.username, "password": PASSWORD})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"


def test_only_admins_manage_users_and_read_the_audit_log(
    client: TestClient, make_user: UserFactory
) -> None:
    officer = make_user(Role.DISTRICT_OFFICER, district="黄浦区")
    platform = make_user(Role.PLATFORM)
    for who in (officer, platform):
        assert client.get("/api/v1/audit", headers=who.headers).status_code == 403
        assert (
            client.patch(
                f"/api/v1/users/{officer.username}", headers=who.headers, json={"phone": "1"}
            ).status_code
            == 403
        )
    admin = make_user(Role.ADMIN)
    r = client.patch("/api/v1/users/nobody", headers=admin.headers, json={"phone": "1"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "user_not_found")
