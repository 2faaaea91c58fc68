"""Fixtures of the API tests: a cheap password hash, ``shelterwatch`` commands on the test's
database, and helpers that register shelters, submit inspections and read the outbox, audit
log and class history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select
from sqlalchemy.orm import Session

import inspection.users
from api.alerting.sink import OutboxAlertSink, build_sink
from api.processes import cli
from api.settings import Settings
from api.state import AppState
from inspection.models import ClassChange, Notification, Role
from tests.conftest import TEST_SECRET, Login, UserFactory
from tests.images import PNG

INSPECTED_AT = "2026-06-01T09:30:00+08:00"  # 01:30 UTC, half an hour before the test clock
DISTRICT_A = "黄浦区"
DISTRICT_B = "静安区"
CODE = "SH-001"


@pytest.fixture(autouse=True)
def cheap_password_hash(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 with minimal cost: the tests log in dozens of users; the algorithm is the same."""
    hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(inspection.users, "_hasher", lambda: hasher)
    yield


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``shelterwatch`` commands run against the test's database, logging left to pytest."""
    monkeypatch.setenv("SHELTERWATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SHELTERWATCH_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("SHELTERWATCH_VAR_DIR", str(tmp_path / "cli"))
    monkeypatch.setattr(cli.logs, "configure", lambda *_a, **_k: None)


@pytest.fixture
def small_uploads(state: AppState) -> int:
    """Uploads limited to 1 KiB (the smallest limit the settings accept)."""
    state.settings.upload_max_bytes = 1024
    return 1024


@dataclass
class Api:
    """Arranging through the HTTP API, as an admin unless a login is given."""

    client: TestClient
    admin: Login

    def shelter(
        self,
        code: str,
        district: str = DISTRICT_A,
        *,
        manager: Login | None = None,
        inspector: Login | None = None,
    ) -> None:
        body: dict[str, Any] = {"code": code, "name": f"工程 {code}", "district": district}
        if manager is not None:
            body["manager"] = manager.username
        if inspector is not None:
            body["inspector"] = inspector.username
        r = self.client.post("/api/v1/shelters", headers=self.admin.headers, json=body)
        assert r.status_code == 201, r.text

    def submit(self, who: Login, code: str, *items: str | dict[str, Any], **extra: Any) -> Response:
        findings = [{"item": i} if isinstance(i, str) else i for i in items]
        body = {"inspected_at": INSPECTED_AT, "findings": findings, **extra}
        return self.client.post(
            f"/api/v1/shelters/{code}/inspections", headers=who.headers, json=body
        )

    def inspect(
        self, who: Login, code: str, *items: str | dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        r = self.submit(who, code, *items, **extra)
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def fix(self, who: Login, finding_id: int, note: str = "已整改") -> Response:
        return self.client.post(
            f"/api/v1/findings/{finding_id}/fix",
            headers=who.headers,
            data={"note": note},
            files=[("files", ("fix.png", PNG, "image/png"))],
        )

    def verify(self, who: Login, finding_id: int, note: str = "核验通过") -> Response:
        return self.client.post(
            f"/api/v1/findings/{finding_id}/verify", headers=who.headers, json={"note": note}
        )

    def current_class(self, code: str) -> int | None:
        r = self.client.get(f"/api/v1/shelters/{code}", headers=self.admin.headers)
        assert r.status_code == 200, r.text
        value: int | None = r.json()["current_class"]
        return value

    def followups(self, **params: Any) -> dict[str, Any]:
        r = self.client.get("/api/v1/followups", headers=self.admin.headers, params=params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def api(client: TestClient, make_user: UserFactory) -> Api:
    return Api(client, make_user(Role.ADMIN, username="city-admin"))


@dataclass
class World:
    """Shelter ``CODE`` in district A with its manager; an inspector and an officer of
    district A, an officer of district B."""

    api: Api
    manager: Login
    inspector: Login
    officer: Login
    officer_b: Login


@pytest.fixture
def world(api: Api, make_user: UserFactory) -> World:
    manager = make_user(Role.MANAGER)
    inspector = make_user(Role.INSPECTOR, district=DISTRICT_A)
    officer = make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A)
    officer_b = make_user(Role.DISTRICT_OFFICER, district=DISTRICT_B)
    api.shelter(CODE, manager=manager)
    return World(api, manager, inspector, officer, officer_b)


@pytest.fixture
def people(client: TestClient, make_user: UserFactory) -> dict[str, Login]:
    """Shelter SH-1 of 黄浦区 with its manager and sensor SH-1-S1 (zone 滤毒室, every 60 s);
    an admin and a district officer of 黄浦区 (the alert-evaluation tests)."""
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    officer = make_user(Role.DISTRICT_OFFICER, district="黄浦区")
    r = client.post(
        "/api/v1/shelters",
        headers=admin.headers,
        json={
            "code": "SH-1",
            "name": "一号工程",
            "district": "黄浦区",
            "manager": manager.username,
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/shelters/SH-1/sensors",
        headers=admin.headers,
        json={"sensor_id": "SH-1-S1", "zone": "滤毒室", "expected_interval_s": 60},
    )
    assert r.status_code == 201, r.text
    return {"admin": admin, "manager": manager, "officer": officer}


@pytest.fixture
def sink(state: AppState) -> OutboxAlertSink:
    return build_sink(
        clock=state.clock,
        signing_key=state.signing_key,
        base_url="http://sw.test",
        link_hours=24,
        warning_hours=12,
        timezone=state.settings.timezone,
    )


def at(text: str) -> datetime:
    """A time as the API writes it."""
    return datetime.fromisoformat(text)


def error_of(response: Response) -> tuple[int, str]:
    """Status and error code of a refused request."""
    return response.status_code, response.json()["error"]["code"]


def notifications(db: Session, kind: str | None = None) -> list[Notification]:
    """Outbox rows (oldest first), read afresh from the database."""
    db.rollback()
    query = select(Notification).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(db.scalars(query))


def recipients(db: Session, kind: str) -> list[int]:
    """Sorted recipient ids of the outbox rows of one kind."""
    return sorted(n.recipient_id for n in notifications(db, kind) if n.recipient_id is not None)


def class_changes(db: Session) -> list[tuple[int | None, int | None, str]]:
    db.rollback()
    rows = db.scalars(select(ClassChange).order_by(ClassChange.id))
    return [(c.from_class, c.to_class, c.reason) for c in rows]
