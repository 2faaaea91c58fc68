"""Sensors' MQTT logins through the API: issued once at registration, replaced when the
sensor moves or comes back, revoked when it retires, and the register left unchanged when
the broker cannot be told. The broker side is the embedded broker's account file (its
`AccessTable`), read back as the broker reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.state import AppState
from telemetry.access import Account
from telemetry.broker_access import AccessTable, EmbeddedCredentials
from telemetry.dynsec import DynsecAdmin, DynsecCredentials
from telemetry.errors import AccountConflict
from telemetry.mqtt import BrokerAddress
from telemetry.ports import DeviceLogin
from tests.api.conftest import CODE, DISTRICT_B, World, error_of
from tests.telemetry.brokers import free_port


@pytest.fixture
def accounts(state: AppState, tmp_path: Path) -> AccessTable:
    """The broker's view of the accounts the API issues."""
    path = tmp_path / "broker" / "mqtt-accounts.json"
    state.devices = EmbeddedCredentials(AccessTable(path))
    return AccessTable(path)


def _register(world: World, sensor_id: str, code: str = CODE) -> dict[str, Any]:
    r = world.api.client.post(
        f"/api/v1/shelters/{code}/sensors",
        headers=world.api.admin.headers,
        json={"sensor_id": sensor_id, "zone": "滤毒室"},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _patch(world: World, sensor_id: str, code: str = CODE, **body: Any) -> Any:
    return world.api.client.patch(
        f"/api/v1/shelters/{code}/sensors/{sensor_id}", headers=world.api.admin.headers, json=body
    )


def _admitted(accounts: AccessTable, login: dict[str, Any]) -> Account | None:
    account = accounts.account(login["username"])
    if account is None or not account.admits(login["password"], login["client_id"]):
        return None
    return account


def test_registering_a_sensor_issues_its_login_once(world: World, accounts: AccessTable) -> None:
    body = _register(world, "S1")
    login = body["mqtt"]
    assert login["username"] == login["client_id"] == "S1"
    assert login["topic"] == f"shelters/{CODE}/S1/telemetry"
    assert len(login["password"]) >= 32
    account = _admitted(accounts, login)
    assert account is not None
    assert account.may_publish(login["topic"])
    assert not account.may_publish(f"shelters/{CODE}/S2/telemetry")
    assert not account.may_publish(f"shelters/{CODE}/alerts")

    listed = world.api.client.get(
        f"/api/v1/shelters/{CODE}/sensors", headers=world.api.admin.headers
    )
    assert listed.status_code == 200
    assert login["password"] not in listed.text
    audit = world.api.client.get(
        "/api/v1/audit", headers=world.api.admin.headers, params={"entity": "sensor"}
    )
    assert audit.status_code == 200, audit.text
    assert "sensor.credentials_issued" in audit.text
    assert login["password"] not in audit.text


def test_moving_a_sensor_replaces_its_login(world: World, accounts: AccessTable) -> None:
    world.api.shelter("SH-002")
    first = _register(world, "S1")["mqtt"]
    r = _patch(world, "S1", shelter="SH-002")
    assert r.status_code == 200, r.text
    moved = r.json()["mqtt"]
    assert moved["topic"] == "shelters/SH-002/S1/telemetry"
    assert moved["password"] != first["password"]
    assert _admitted(accounts, first) is None
    account = _admitted(accounts, moved)
    assert account is not None
    assert account.may_publish(moved["topic"]) and not account.may_publish(first["topic"])
    here = world.api.client.get("/api/v1/shelters/SH-002/sensors", headers=world.api.admin.headers)
    assert [s["sensor_id"] for s in here.json()] == ["S1"]
    assert _patch(world, "S1", zone="x").status_code == 404  # no longer in CODE


def test_retiring_revokes_and_returning_issues_anew(world: World, accounts: AccessTable) -> None:
    first = _register(world, "S1")["mqtt"]
    r = _patch(world, "S1", active=False)
    assert r.status_code == 200, r.text
    assert r.json()["mqtt"] is None and r.json()["active"] is False
    assert accounts.account("S1") is None
    back = _patch(world, "S1", active=True)
    assert back.status_code == 200, back.text
    login = back.json()["mqtt"]
    assert login["password"] != first["password"]
    assert _admitted(accounts, login) is not None
    assert _admitted(accounts, first) is None


def test_other_changes_leave_the_login_alone(world: World, accounts: AccessTable) -> None:
    login = _register(world, "S1")["mqtt"]
    r = _patch(world, "S1", zone="主通道", expected_interval_s=300)
    assert r.status_code == 200, r.text
    assert r.json()["mqtt"] is None
    assert r.json()["zone"] == "主通道"
    assert _admitted(accounts, login) is not None


def test_a_new_password_on_demand(world: World, accounts: AccessTable) -> None:
    old = _register(world, "S1")["mqtt"]
    r = world.api.client.post(
        f"/api/v1/shelters/{CODE}/sensors/S1/credentials", headers=world.api.admin.headers
    )
    assert r.status_code == 200, r.text
    assert _admitted(accounts, r.json()) is not None
    assert _admitted(accounts, old) is None
    _patch(world, "S1", active=False)
    r = world.api.client.post(
        f"/api/v1/shelters/{CODE}/sensors/S1/credentials", headers=world.api.admin.headers
    )
    assert error_of(r) == (409, "sensor_retired")


def test_system_names_cannot_be_registered(world: World, accounts: AccessTable) -> None:
    for name in ("shelterwatch-ingest", "ShelterWatch-platform"):
        r = world.api.client.post(
            f"/api/v1/shelters/{CODE}/sensors",
            headers=world.api.admin.headers,
            json={"sensor_id": name},
        )
        assert error_of(r) == (422, "reserved_sensor_id")
    listed = world.api.client.get(
        f"/api/v1/shelters/{CODE}/sensors", headers=world.api.admin.headers
    )
    assert listed.json() == []


def test_an_unreachable_broker_leaves_the_register_unchanged(state: AppState, world: World) -> None:
    state.devices = EmbeddedCredentials(AccessTable(Path(state.settings.var_dir) / "acc.json"))
    _register(world, "S1")
    closed = BrokerAddress("127.0.0.1", free_port(), "shelterwatch-admin", "pw")
    state.devices = DynsecCredentials(DynsecAdmin(closed, timeout_s=2.0))
    r = world.api.client.post(
        f"/api/v1/shelters/{CODE}/sensors",
        headers=world.api.admin.headers,
        json={"sensor_id": "S2"},
    )
    assert error_of(r) == (503, "broker_unavailable")
    assert error_of(_patch(world, "S1", active=False)) == (503, "broker_unavailable")
    listed = world.api.client.get(
        f"/api/v1/shelters/{CODE}/sensors", headers=world.api.admin.headers
    )
    assert [(s["sensor_id"], s["active"]) for s in listed.json()] == [("S1", True)]


class _TakenNames:
    """Credentials whose broker holds every name already, as another account."""

    def issue(self, sensor_id: str, shelter_code: str) -> DeviceLogin:
        raise AccountConflict(f"broker account {sensor_id!r} exists and is not this sensor's")

    def revoke(self, sensor_id: str) -> None:
        raise AccountConflict(f"broker account {sensor_id!r} exists and is not this sensor's")


def test_a_name_taken_on_the_broker_is_a_conflict(state: AppState, world: World) -> None:
    state.devices = _TakenNames()
    r = world.api.client.post(
        f"/api/v1/shelters/{CODE}/sensors",
        headers=world.api.admin.headers,
        json={"sensor_id": "admin"},
    )
    assert error_of(r) == (409, "broker_account_conflict")


def test_without_managed_accounts_no_login_is_shown(world: World, state: AppState) -> None:
    assert state.devices is None
    assert _register(world, "S1")["mqtt"] is None
    r = world.api.client.post(
        f"/api/v1/shelters/{CODE}/sensors/S1/credentials", headers=world.api.admin.headers
    )
    assert error_of(r) == (409, "credentials_not_managed")


def test_who_may_move_a_sensor(world: World, accounts: AccessTable, client: TestClient) -> None:
    world.api.shelter("SH-B", district=DISTRICT_B)
    _register(world, "S1")
    url = f"/api/v1/shelters/{CODE}/sensors/S1"
    # The district A officer cannot place it in district B; district B's cannot see it.
    r = client.patch(url, headers=world.officer.headers, json={"shelter": "SH-B"})
    assert error_of(r) == (404, "shelter_not_found")
    r = client.patch(url, headers=world.officer_b.headers, json={"shelter": "SH-B"})
    assert error_of(r) == (404, "shelter_not_found")
    r = client.patch(url, headers=world.manager.headers, json={"active": False})
    assert error_of(r) == (403, "role_forbidden")
    r = client.patch(url, headers=world.officer.headers, json={"zone": "主通道"})
    assert r.status_code == 200, r.text
    r = client.patch(url, headers=world.officer.headers, json={"active": None})
    assert error_of(r) == (422, "null_field")
