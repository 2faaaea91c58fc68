"""The office dashboard's reads: its figures (shelters with water among them) and grid in each
officer's scope, open alerts
polled with ETags, the fixes waiting for a verifier with their evidence files, and the map
settings (with the tile server's origin allowed as an image source)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.app import create_app
from api.settings import Settings
from api.state import AppState
from telemetry.alert_rules import Severity
from tests.api.conftest import CODE, DISTRICT_A, DISTRICT_B, World, error_of
from tests.api.test_views import add_sensor, put_alert, put_live
from tests.conftest import FakeClock


def get(world: World, who: Any, path: str, **params: Any) -> Any:
    r = world.api.client.get(path, headers=who.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_figures_in_each_scope(world: World, db: Session, clock: FakeClock) -> None:
    api = world.api
    api.shelter("B-1", DISTRICT_B)
    api.inspect(world.inspector, CODE, "EQ-RUST")  # class 2, a notice due in 15 days
    body = api.inspect(api.admin, "B-1", "STRUCT-WALL-PENETRATION")  # class 4 and a referral
    referral = next(f for f in body["followups"] if f["kind"] == "referral")
    r = api.client.post(
        f"/api/v1/followups/{referral['id']}/outcome",
        headers=world.officer_b.headers,
        json={"status": "fined", "fine_yuan": 20000},
    )
    assert r.status_code == 200, r.text
    add_sensor(api, "B-1", "B-1-S1")
    put_alert(db, "B-1-S1", "B-1", "fire_risk_critical", Severity.CRITICAL, at=clock())
    clock.advance(days=16)

    city = get(world, api.admin, "/api/v1/dashboard")
    assert (city["district"], city["compliance"]["city"]["active_shelters"]) == (None, 2)
    assert city["compliance"]["city"]["by_class"] == {
        "1": 0,
        "2": 1,
        "3": 0,
        "4": 1,
        "ungraded": 0,
    }
    assert [d["district"] for d in city["compliance"]["districts"]] == sorted(
        [DISTRICT_A, DISTRICT_B]
    )
    overdue = city["overdue"]
    assert overdue["total"] == 1 and [f["shelter_code"] for f in overdue["items"]] == [CODE]
    assert city["referrals"] == {
        "total": 1,
        "open": 0,
        "by_outcome": {
            "none": 0,
            "referred": 0,
            "warning": 0,
            "fined": 1,
            "dismissed": 0,
            "other": 0,
        },
        "fines_yuan": 20000,
    }
    assert city["alerts"]["active"] == {"info": 0, "warning": 0, "critical": 1}
    assert city["fixes_to_verify"] == 0
    assert city["map"] == {"tile_url": None, "attribution": ""}

    officer = get(world, world.officer, "/api/v1/dashboard")
    assert officer["district"] == DISTRICT_A
    assert [d["district"] for d in officer["compliance"]["districts"]] == [DISTRICT_A]
    assert officer["referrals"]["total"] == 0
    assert officer["alerts"]["active"]["critical"] == 0
    assert officer["overdue"]["total"] == 1

    narrowed = get(world, api.admin, "/api/v1/dashboard", district=DISTRICT_B)
    assert (narrowed["overdue"]["total"], narrowed["referrals"]["total"]) == (0, 1)

    for who in (world.manager, world.inspector):
        assert error_of(api.client.get("/api/v1/dashboard", headers=who.headers)) == (
            403,
            "role_forbidden",
        )


def tiles(body: dict[str, Any]) -> dict[str, tuple[str, int | None, str | None, bool]]:
    """The grid's parallel lists as code -> (district, class, alert, overdue)."""
    return {
        code: (d["district"], klass, alert, late)
        for d in body["districts"]
        for code, klass, alert, late in zip(
            d["codes"], d["classes"], d["alerts"], d["overdue"], strict=True
        )
    }


def test_grid_colours_and_its_etag(world: World, db: Session, clock: FakeClock) -> None:
    api = world.api
    api.shelter("A-2", DISTRICT_A)
    api.shelter("B-1", DISTRICT_B)
    api.inspect(world.inspector, "A-2", "DOOR-NOT-CLOSING")
    add_sensor(api, "A-2", "A-2-S1")
    put_alert(db, "A-2-S1", "A-2", "humidity_warning", Severity.WARNING, at=clock())

    r = api.client.get("/api/v1/dashboard/shelters", headers=world.officer.headers)
    assert r.status_code == 200, r.text
    assert tiles(r.json()) == {
        CODE: (DISTRICT_A, None, None, False),
        "A-2": (DISTRICT_A, 3, "warning", False),
    }
    assert r.json()["districts"][0]["latitudes"] is None

    etag = r.headers["etag"]
    again = {"If-None-Match": etag, **world.officer.headers}
    assert api.client.get("/api/v1/dashboard/shelters", headers=again).status_code == 304
    put_alert(db, "A-2-S1", "A-2", "temperature_high", Severity.CRITICAL, at=clock())
    r = api.client.get("/api/v1/dashboard/shelters", headers=again)
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert tiles(r.json())["A-2"][2] == "critical"

    etag = r.headers["etag"]
    clock.advance(days=31)  # the ledger entry of A-2 passes its 30-day deadline
    r = api.client.get(
        "/api/v1/dashboard/shelters", headers={"If-None-Match": etag, **world.officer.headers}
    )
    assert r.status_code == 200
    assert tiles(r.json())["A-2"][3] is True

    r = api.client.patch(
        "/api/v1/shelters/B-1",
        headers=api.admin.headers,
        json={"latitude": 31.2, "longitude": 121.5},
    )
    assert r.status_code == 200, r.text
    city = get(world, api.admin, "/api/v1/dashboard/shelters", coordinates="true")
    assert [d["district"] for d in city["districts"]] == sorted([DISTRICT_A, DISTRICT_B])
    b = next(d for d in city["districts"] if d["district"] == DISTRICT_B)
    assert (b["codes"], b["latitudes"], b["longitudes"]) == (["B-1"], [31.2], [121.5])


def test_open_alerts_are_polled_with_an_etag(world: World, db: Session, clock: FakeClock) -> None:
    api = world.api
    add_sensor(api, CODE, "S1")
    alert = put_alert(db, "S1", CODE, "humidity_warning", Severity.WARNING, at=clock())
    path = "/api/v1/alerts?status=open"
    first = api.client.get(path, headers=world.officer.headers)
    assert first.status_code == 200 and first.json()["total"] == 1
    polled = {"If-None-Match": first.headers["etag"], **world.officer.headers}
    assert api.client.get(path, headers=polled).status_code == 304

    # acknowledged in the same millisecond it was raised: the state still changes the tag
    r = api.client.post(f"/api/v1/alerts/{alert.id}/ack", headers=world.manager.headers)
    assert r.status_code == 200, r.text
    after = api.client.get(path, headers=polled)
    assert after.status_code == 200
    assert after.json()["items"][0]["status"] == "acknowledged"
    other = api.client.get(path, headers=world.officer_b.headers)
    assert other.json()["total"] == 0 and other.headers["etag"] != after.headers["etag"]


def test_map_settings_and_the_tile_origin(state: AppState) -> None:
    state.settings.map_tile_url = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    state.settings.map_attribution = "© 市测绘院"
    with TestClient(create_app(state)) as client:
        policy = client.get("/").headers["content-security-policy"]
    assert "img-src 'self' blob: data: https://tiles.example.gov.cn;" in policy
    assert "default-src 'self';" in policy


def test_tile_url_must_be_a_template() -> None:
    for bad in ("ftp://x/{z}/{x}/{y}", "https://tiles/{z}/{x}.png", "/tiles/{z}/{x}/{y}.png"):
        try:
            Settings(map_tile_url=bad, _env_file=None)  # type: ignore[call-arg]
        except ValidationError:
            continue
        raise AssertionError(f"{bad} accepted")
    ok = Settings(map_tile_url="http://10.0.0.5:8080/t/{z}/{x}/{y}.png", _env_file=None)  # type: ignore[call-arg]
    assert ok.map_tile_origin == "http://10.0.0.5:8080"


def test_dashboard_deadline_list_order(world: World, clock: FakeClock) -> None:
    api = world.api
    for code in ("A-2", "A-3"):
        api.shelter(code, DISTRICT_A)
    api.inspect(world.inspector, "A-2", "EQ-RUST", inspected_at=clock.now.isoformat())
    clock.advance(days=2)
    api.inspect(world.inspector, "A-3", "EQ-RUST", inspected_at=clock.now.isoformat())
    clock.advance(days=20)
    items = get(world, world.officer, "/api/v1/dashboard")["overdue"]["items"]
    assert [f["shelter_code"] for f in items] == ["A-2", "A-3"]  # most overdue first
    assert all(f["overdue"] for f in items)
    assert items[0]["due_at"] < items[1]["due_at"]


def test_shelters_with_water_in_each_scope(world: World, db: Session, clock: FakeClock) -> None:
    """Counted as the platform summary counts them: active shelters with a sensor whose newest
    reading reported water, however many of its sensors did."""
    api = world.api
    api.shelter("B-1", DISTRICT_B)
    for code, sensor in ((CODE, "A-S1"), (CODE, "A-S2"), ("B-1", "B-S1")):
        add_sensor(api, code, sensor)
    now = clock()
    put_live(db, "A-S1", CODE, seen=now, water_leak=True)
    put_live(db, "A-S2", CODE, seen=now, water_leak=True)
    put_live(db, "B-S1", "B-1", seen=now, water_leak=False)

    def figures() -> tuple[int, int, int]:
        return (
            get(world, api.admin, "/api/v1/dashboard")["shelters_with_water"],
            get(world, world.officer, "/api/v1/dashboard")["shelters_with_water"],
            get(world, api.admin, "/api/v1/dashboard", district=DISTRICT_B)["shelters_with_water"],
        )

    assert figures() == (1, 1, 0)
    put_live(db, "B-S1", "B-1", seen=now, water_leak=True)
    assert figures() == (2, 1, 1)
    platform = world.api.client.get("/api/v1/platform/summary", headers=api.admin.headers)
    assert platform.json()["shelters_with_water"] == 2
