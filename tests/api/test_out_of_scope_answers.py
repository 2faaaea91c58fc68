"""What a district officer learns of another district's shelters, sensors and alert-rule
overrides: a taken shelter code or sensor id refused without naming what holds it, and only
the overrides that apply in their own district."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from inspection.registry import OUT_OF_REACH
from tests.api.conftest import DISTRICT_A, DISTRICT_B, Api, World, error_of

SHELTER_A = {"code": "SH-001", "name": "工程 SH-001", "district": DISTRICT_A}
"""The shelter of ``world`` (district A), as its register row reads."""


def _shelter(client: TestClient, world: World, who: str, body: dict[str, Any]) -> Any:
    login = world.officer if who == "a" else world.officer_b
    return client.post("/api/v1/shelters", headers=login.headers, json=body)


def _says_nothing_of_shelter_a(text: str) -> None:
    for word in (SHELTER_A["name"], DISTRICT_A):
        assert word not in text


def test_a_code_held_in_another_district_is_refused_like_a_shelter_of_that_district(
    world: World, client: TestClient
) -> None:
    taken = _shelter(
        client, world, "b", {"code": "SH-001", "name": "新工程", "district": DISTRICT_B}
    )
    elsewhere = _shelter(
        client, world, "b", {"code": "SH-NEW", "name": "新工程", "district": DISTRICT_A}
    )
    # the same answer, in the words of a register import's row out of the district
    assert (taken.status_code, taken.json()) == (elsewhere.status_code, elsewhere.json())
    assert error_of(taken) == (403, "forbidden")
    assert taken.json()["error"]["message"] == OUT_OF_REACH
    _says_nothing_of_shelter_a(taken.text)
    # the district that holds it, and the city office, are told it exists
    mine = _shelter(
        client, world, "a", {"code": "SH-001", "name": "新工程", "district": DISTRICT_A}
    )
    assert error_of(mine) == (409, "shelter_exists")
    r = client.post(
        "/api/v1/shelters",
        headers=world.api.admin.headers,
        json={"code": "SH-001", "name": "新工程", "district": DISTRICT_B},
    )
    assert error_of(r) == (409, "shelter_exists")


def _sensor(api: Api, code: str, sensor_id: str, headers: dict[str, str]) -> Any:
    return api.client.post(
        f"/api/v1/shelters/{code}/sensors",
        headers=headers,
        json={"sensor_id": sensor_id, "zone": "滤毒室", "expected_interval_s": 60},
    )


def test_a_sensor_id_held_in_another_district_is_refused_without_naming_its_shelter(
    world: World,
) -> None:
    api = world.api
    api.shelter("SH-B", DISTRICT_B)
    api.shelter("SH-A2", DISTRICT_A)
    assert _sensor(api, "SH-001", "S-1", api.admin.headers).status_code == 201
    taken = _sensor(api, "SH-B", "S-1", world.officer_b.headers)
    assert error_of(taken) == (409, "sensor_exists")
    assert taken.json()["error"]["message"] == "sensor 'S-1' is registered already"
    _says_nothing_of_shelter_a(taken.text)
    assert "SH-001" not in taken.text
    # an officer who may see the shelter holding it is told which
    mine = _sensor(api, "SH-A2", "S-1", world.officer.headers)
    assert error_of(mine) == (409, "sensor_exists")
    assert "'SH-001'" in mine.json()["error"]["message"]


OVERRIDES = [
    {"rule": "humidity_warning", "scope": "shelter", "scope_value": "SH-001", "enter": 80},
    {"rule": "humidity_warning", "scope": "shelter", "scope_value": "SH-B", "enter": 81},
    {"rule": "humidity_warning", "scope": "shelter", "scope_value": "SH-GONE", "enter": 82},
    {"rule": "fire_risk_warning", "scope": "sensor", "scope_value": "S-A", "enabled": False},
    {"rule": "fire_risk_warning", "scope": "sensor", "scope_value": "S-B", "enabled": False},
    {"rule": "temperature_high", "scope": "class", "scope_value": "4", "enter": 30, "clear": 29},
    {"rule": "condensation", "scope": "zone", "scope_value": "滤毒室", "severity": "critical"},
]


def test_alert_rule_overrides_are_read_within_the_callers_scope(world: World) -> None:
    api = world.api
    api.shelter("SH-B", DISTRICT_B)
    assert _sensor(api, "SH-001", "S-A", api.admin.headers).status_code == 201
    assert _sensor(api, "SH-B", "S-B", api.admin.headers).status_code == 201
    r = api.client.put("/api/v1/alert-rules", headers=api.admin.headers, json=OVERRIDES)
    assert r.status_code == 200, r.text

    def named(headers: dict[str, str]) -> list[str]:
        r = api.client.get("/api/v1/alert-rules", headers=headers)
        assert r.status_code == 200, r.text
        return [o["scope_value"] for o in r.json()["overrides"]]

    city_wide = ["4", "滤毒室"]
    assert named(world.officer.headers) == ["SH-001", "S-A", *city_wide]
    assert named(world.officer_b.headers) == ["SH-B", "S-B", *city_wide]
    assert named(api.admin.headers) == [o["scope_value"] for o in OVERRIDES]
