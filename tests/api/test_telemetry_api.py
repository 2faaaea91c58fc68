"""The telemetry read API over the SQL store: latest values with fire-risk level, aggregation
and its bounds, completeness, rejects, and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.processes.telemetry_wiring import build_retention_job
from api.state import AppState
from inspection.models import Role
from telemetry.readings import Reading, Rejection, RejectReason
from tests.conftest import FakeClock, Login, UserFactory

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def world(
    client: TestClient, make_user: UserFactory, state: AppState, clock: FakeClock
) -> dict[str, Login]:
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    other = make_user(Role.MANAGER)
    for code, mgr in (("SH-1", manager), ("SH-2", other)):
        r = client.post(
            "/api/v1/shelters",
            headers=admin.headers,
            json={"code": code, "name": code, "district": "黄浦区", "manager": mgr.username},
        )
        assert r.status_code == 201, r.text
    now = clock.now
    clock.now = T0 - timedelta(hours=1)  # registered before the readings below
    for sensor, interval in (("S-1", 600), ("S-2", 1800)):
        r = client.post(
            "/api/v1/shelters/SH-1/sensors",
            headers=admin.headers,
            json={"sensor_id": sensor, "zone": "滤毒室", "expected_interval_s": interval},
        )
        assert r.status_code == 201, r.text
    clock.now = now
    readings = [
        Reading(
            "SH-1",
            "S-1",
            T0 + timedelta(minutes=10 * i),
            temperature=10.0 + i,
            humidity=60.0 + i,
            fire_risk=float(8 * i),
            fire_risk_version="fri-1",
            district="黄浦区",
            zone="滤毒室",
        )
        for i in range(12)  # two hours, every 10 minutes
    ]
    readings.append(
        Reading(
            "SH-1",
            "S-2",
            T0 + timedelta(minutes=30),
            temperature=30.0,
            district="黄浦区",
            zone="滤毒室",
        )
    )
    state.readings.write(readings)
    state.rejects.add(
        [
            Rejection(
                "shelters/SH-1/S-1/telemetry",
                RejectReason.OUT_OF_RANGE,
                "humidity 130.0 outside 0..100",
                '{"humidity": 130}',
                T0,
                None,
            )
        ]
    )
    clock.now = T0 + timedelta(hours=2)
    return {"admin": admin, "manager": manager, "other": other}


def test_latest_per_sensor_with_fire_risk_level(
    client: TestClient, world: dict[str, Login]
) -> None:
    body = client.get(
        "/api/v1/shelters/SH-1/telemetry/latest", headers=world["manager"].headers
    ).json()
    sensors = {s["sensor_id"]: s for s in body["sensors"]}
    s1 = sensors["S-1"]["metrics"]
    assert s1["temperature"]["value"] == 21.0
    assert s1["temperature"]["ts"].startswith("2026-06-01T01:50:00")
    assert (s1["fire_risk"]["value"], s1["fire_risk"]["level"], s1["fire_risk"]["colour"]) == (
        88.0,
        5,
        "red",
    )
    assert sensors["S-2"]["metrics"]["temperature"]["value"] == 30.0
    assert "humidity" not in sensors["S-2"]["metrics"]
    assert sensors["S-2"]["last_seen"].startswith("2026-06-01T00:30:00")


@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        ("mean", [12.5, 18.5]),  # 10..15 and 16..21
        ("min", [10.0, 16.0]),
        ("max", [15.0, 21.0]),
        ("last", [15.0, 21.0]),
        ("count", [6.0, 6.0]),
    ],
)
def test_series_aggregates_hourly(
    client: TestClient, world: dict[str, Login], agg: str, expected: list[float]
) -> None:
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry",
        headers=world["manager"].headers,
        params={
            "metric": "temperature",
            "start": "2026-06-01T00:00:00Z",
            "end": "2026-06-01T02:00:00Z",
            "every": "1h",
            "agg": agg,
            "sensor": "S-1",
        },
    )
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert [p["value"] for p in points] == expected
    assert [p["ts"][:19] for p in points] == ["2026-06-01T00:00:00", "2026-06-01T01:00:00"]


def test_daily_buckets_align_to_local_midnight(client: TestClient, world: dict[str, Login]) -> None:
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry",
        headers=world["admin"].headers,
        params={
            "metric": "temperature",
            "start": "2026-05-31T00:00:00+08:00",
            "end": "2026-06-02T00:00:00+08:00",
            "every": "1d",
            "agg": "count",
            "sensor": "S-1",
        },
    )
    assert r.status_code == 200, r.text
    [point] = r.json()["points"]
    assert point["ts"].startswith("2026-05-31T16:00:00")  # 00:00 in Shanghai
    assert point["value"] == 12.0


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"metric": "pressure"}, "metric must be one of"),
        ({"agg": "median"}, "agg must be one of"),
        ({"every": "30s"}, "every must look like"),
        ({"every": "2d"}, "between 1m and 1d"),
        (
            {"every": "1m", "start": "2026-01-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"},
            "buckets requested",
        ),
        ({"start": "2026-06-01T00:00:00"}, "time zone offset"),
        ({"start": "2026-06-02T00:00:00Z", "end": "2026-06-01T00:00:00Z"}, "before end"),
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"sensor": "x' OR 1=1"}, "sensor id"),
    ],
)
def test_series_bounds_and_validation(
    client: TestClient, world: dict[str, Login], params: dict[str, str], fragment: str
) -> None:
    r = client.get("/api/v1/shelters/SH-1/telemetry", headers=world["admin"].headers, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_query"
    assert fragment in r.json()["error"]["message"]


def test_completeness_expected_against_received(
    client: TestClient, world: dict[str, Login]
) -> None:
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry/completeness",
        headers=world["manager"].headers,
        params={"start": "2026-06-01T00:00:00Z", "end": "2026-06-01T02:00:00Z"},
    )
    assert r.status_code == 200, r.text
    sensors = {s["sensor_id"]: s for s in r.json()["sensors"]}
    assert [(h["expected"], h["received"]) for h in sensors["S-1"]["hours"]] == [(6, 6), (6, 6)]
    assert (sensors["S-1"]["expected"], sensors["S-1"]["received"], sensors["S-1"]["ratio"]) == (
        12,
        12,
        1.0,
    )
    assert [(h["expected"], h["received"]) for h in sensors["S-2"]["hours"]] == [(2, 1), (2, 0)]
    assert sensors["S-2"]["ratio"] == 0.25


def test_completeness_counts_from_registration_up_to_now(
    client: TestClient, world: dict[str, Login], state: AppState, clock: FakeClock
) -> None:
    """A healthy 10-second sensor registered half an hour ago is complete over the default
    24 h window: the hours before it was registered, and the rest of the current hour,
    expect nothing."""
    registered = clock.now  # 02:00
    r = client.post(
        "/api/v1/shelters/SH-1/sensors",
        headers=world["admin"].headers,
        json={"sensor_id": "S-FAST", "zone": "滤毒室", "expected_interval_s": 10},
    )
    assert r.status_code == 201, r.text
    state.readings.write(
        [
            Reading("SH-1", "S-FAST", registered + timedelta(seconds=10 * i), temperature=20.0)
            for i in range(180)
        ]
    )
    clock.now = registered + timedelta(minutes=30)
    r = client.get("/api/v1/shelters/SH-1/telemetry/completeness", headers=world["admin"].headers)
    assert r.status_code == 200, r.text
    [fast] = [s for s in r.json()["sensors"] if s["sensor_id"] == "S-FAST"]
    assert (fast["expected"], fast["received"], fast["ratio"]) == (180, 180, 1.0)
    assert {h["expected"] for h in fast["hours"][:-1]} == {0}  # before registration
    assert (fast["hours"][-1]["expected"], fast["hours"][-1]["received"]) == (180, 180)


def test_rejects_are_listed_for_admins_only(client: TestClient, world: dict[str, Login]) -> None:
    r = client.get("/api/v1/telemetry/rejects", headers=world["admin"].headers)
    assert r.status_code == 200
    [row] = r.json()["items"]
    assert (row["reason"], row["raw"]) == ("out_of_range", '{"humidity": 130}')
    assert (
        client.get("/api/v1/telemetry/rejects", headers=world["manager"].headers).status_code == 403
    )


def test_other_managers_shelters_do_not_exist_for_them(
    client: TestClient, world: dict[str, Login]
) -> None:
    for path in (
        "/api/v1/shelters/SH-1/telemetry/latest",
        "/api/v1/shelters/SH-1/telemetry",
        "/api/v1/shelters/SH-1/telemetry/completeness",
    ):
        r = client.get(path, headers=world["other"].headers)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "shelter_not_found"
    assert client.get("/api/v1/shelters/SH-1/telemetry/latest").status_code == 401


@pytest.mark.parametrize(
    ("span", "every", "buckets"),
    [(timedelta(days=1), "1h", 24), (timedelta(days=7), "6h", 28), (timedelta(days=30), "1d", 31)],
)
def test_the_chart_windows_of_a_shelter_page(
    client: TestClient,
    world: dict[str, Login],
    state: AppState,
    clock: FakeClock,
    span: timedelta,
    every: str,
    buckets: int,
) -> None:
    """Day, week and month as the manager's charts ask for them: every sensor at once, one
    point per bucket that holds readings, month buckets cut at local midnight."""
    end = T0 + timedelta(days=40)
    hourly = [
        Reading("SH-1", "S-2", end - timedelta(hours=h, minutes=5), humidity=70.0 + h % 3)
        for h in range(24 * 31)
    ]
    state.readings.write(hourly)
    clock.now = end
    # The month is read from the hourly rollup, which serve's retention job keeps.
    job = build_retention_job(state.settings, state.engine, clock)
    assert job is not None
    job()
    for metric in ("temperature", "humidity", "fire_risk"):
        r = client.get(
            "/api/v1/shelters/SH-1/telemetry",
            headers=world["manager"].headers,
            params={
                "metric": metric,
                "start": (end - span).isoformat(),
                "end": end.isoformat(),
                "every": every,
                "agg": "mean",
                "tz": "Asia/Shanghai",
            },
        )
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        if metric != "humidity":
            assert points == []  # the world's own readings are 40 days older
            continue
        assert {p["sensor_id"] for p in points} == {"S-2"}
        assert len(points) == buckets
        assert all(70.0 <= p["value"] <= 72.0 for p in points)
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry/completeness",
        headers=world["manager"].headers,
        params={"start": (end - span).isoformat(), "end": end.isoformat()},
    )
    assert r.status_code == 200, r.text
    s2 = next(s for s in r.json()["sensors"] if s["sensor_id"] == "S-2")
    assert len(s2["hours"]) == span // timedelta(hours=1)
    assert s2["ratio"] == 0.5  # one reading an hour of the two a 30-minute sensor owes


def month(client: TestClient, login: Login, end: datetime, **params: str) -> dict[str, Any]:
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry",
        headers=login.headers,
        params={
            "metric": "temperature",
            "start": (end - timedelta(days=30)).isoformat(),
            "end": end.isoformat(),
            "every": "6h",
            "agg": "mean",
            "tz": "Asia/Shanghai",
            **params,
        },
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_long_windows_are_read_from_the_hourly_rollup_and_say_so(
    client: TestClient, world: dict[str, Login], state: AppState, clock: FakeClock
) -> None:
    manager = world["manager"]
    before = month(client, manager, clock.now)  # nothing rolled up: the newest bucket is raw
    assert before["resolution"] == "1h"
    job = build_retention_job(state.settings, state.engine, clock)
    assert job is not None
    clock.now = T0 + timedelta(days=1, hours=2)
    job()
    after = month(client, manager, clock.now)  # the readings' bucket is now read hourly
    assert after["resolution"] == "1h"
    assert [(p["sensor_id"], p["ts"], p["value"]) for p in after["points"]] == [
        ("S-1", "2026-06-01T00:00:00Z", 15.5),  # the mean of 10 … 21
        ("S-2", "2026-06-01T00:00:00Z", 30.0),
    ]
    assert after["points"] == before["points"]
    assert month(client, manager, clock.now, agg="max")["points"][0]["value"] == 21.0
    week = month(client, manager, clock.now, start=(clock.now - timedelta(days=7)).isoformat())
    assert week["resolution"] == "raw"
    assert month(client, manager, clock.now, agg="last")["resolution"] == "raw"
    assert month(client, manager, clock.now, every="30m")["resolution"] == "raw"


def test_a_window_past_the_raw_period_needs_whole_hours(
    client: TestClient, world: dict[str, Login], clock: FakeClock
) -> None:
    r = client.get(
        "/api/v1/shelters/SH-1/telemetry",
        headers=world["manager"].headers,
        params={
            "start": (clock.now - timedelta(days=100)).isoformat(),
            "end": (clock.now - timedelta(days=99)).isoformat(),
            "every": "5m",
        },
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_query"
    assert "older than 90 days" in r.json()["error"]["message"]
