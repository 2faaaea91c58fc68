"""GET /api/v1/me: who the credentials belong to."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inspection.models import Role
from tests.conftest import UserFactory


def test_me_names_the_user_their_role_district_and_the_city_zone(
    client: TestClient, make_user: UserFactory
) -> None:
    inspector = make_user(Role.INSPECTOR, district="黄浦区", username="wang")
    r = client.get("/api/v1/me", headers=inspector.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "username": "wang",
        "display_name": "wang",
        "role": "inspector",
        "district": "黄浦区",
        "timezone": "Asia/Shanghai",
    }


def test_me_answers_the_platform_key(client: TestClient, make_user: UserFactory) -> None:
    platform = make_user(Role.PLATFORM, username="city-platform")
    r = client.get("/api/v1/me", headers=platform.headers)
    assert (r.status_code, r.json()["role"]) == (200, "platform")


def test_me_needs_credentials(client: TestClient) -> None:
    r = client.get("/api/v1/me")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "not_authenticated")
