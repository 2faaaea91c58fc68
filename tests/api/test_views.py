"""The joined per-shelter summary: exact content, the readiness rule (table-driven, then end to
end over shelters in every state), online/offline sensors, and a query count that does not
grow with the number of shelters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from api.http.views import Readiness, readiness
from inspection.models import Role
from telemetry import alert_store
from telemetry.alert_rules import TIERS, Severity
from telemetry.alert_store import AlertView, NewAlert, to_ms
from tests.api.conftest import CODE, DISTRICT_A, INSPECTED_AT, Api, World, at
from tests.conftest import FakeClock, UserFactory


def iso(ts: datetime) -> str:
    """A UTC time as the API writes it."""
    return ts.isoformat().replace("+00:00", "Z")


def add_sensor(api: Api, code: str, sensor_id: str, zone: str = "", interval_s: int = 600) -> None:
    r = api.client.post(
        f"/api/v1/shelters/{code}/sensors",
        headers=api.admin.headers,
        json={"sensor_id": sensor_id, "zone": zone, "expected_interval_s": interval_s},
    )
    assert r.status_code == 201, r.text


def put_live(
    db: Session,
    sensor_id: str,
    code: str,
    *,
    seen: datetime,
    updated: datetime | None = None,
    **values: float | bool | None,
) -> None:
    """Write a sensor's newest values as the evaluator does, and commit."""
    row: dict[str, Any] = {
        "sensor_id": sensor_id,
        "shelter_code": code,
        "last_seen_ms": to_ms(seen),
        "temperature": None,
        "humidity": None,
        "fire_risk": None,
        "dew_point": None,
        "battery": None,
        "water_leak": None,
        "updated_at_ms": to_ms(updated or seen),
    }
    row.update(values)
    alert_store.upsert_live(db, [row])
    db.commit()


def put_alert(
    db: Session,
    sensor_id: str,
    code: str,
    rule: str,
    severity: Severity,
    *,
    at: datetime,
    district: str = DISTRICT_A,
    zone: str = "",
    value: float | None = None,
) -> AlertView:
    """Raise an active alert as the evaluator does, and commit."""
    view = alert_store.raise_alert(
        db,
        NewAlert(
            sensor_id=sensor_id,
            shelter_code=code,
            district=district,
            zone=zone,
            condition=TIERS[rule][0] if rule in TIERS else rule,
            rule=rule,
            severity=severity,
            message=f"{rule} 测试",
            value=value,
            threshold=None,
            late=False,
            raised_at=at,
            condition_since=at - timedelta(hours=1),
        ),
    )
    assert view is not None
    db.commit()
    return view


@pytest.mark.parametrize(
    ("klass", "severities", "sensors", "offline", "overdue", "verdict", "reasons"),
    [
        (1, [], 2, 0, False, "ready", []),
        (2, [], 2, 0, False, "ready", []),
        (1, [], 0, 0, False, "ready", []),
        (1, ["info"], 1, 0, False, "ready", []),
        (None, [], 2, 0, False, "degraded", ["ungraded"]),
        (3, [], 2, 0, False, "degraded", ["class_3"]),
        (1, ["warning"], 2, 0, False, "degraded", ["warning_alert"]),
        (1, [], 2, 1, False, "degraded", ["sensor_offline"]),
        (2, [], 2, 0, True, "degraded", ["overdue_followup"]),
        (4, [], 2, 0, False, "not_ready", ["class_4"]),
        (1, ["critical"], 2, 0, False, "not_ready", ["critical_alert"]),
        (1, [], 2, 2, False, "not_ready", ["all_sensors_offline"]),
        (None, [], 1, 1, False, "not_ready", ["all_sensors_offline", "ungraded"]),
        (
            3,
            ["warning", "critical"],
            3,
            1,
            True,
            "not_ready",
            ["critical_alert", "class_3", "warning_alert", "sensor_offline", "overdue_followup"],
        ),
    ],
)
def test_readiness_rule(
    klass: int | None,
    severities: list[str],
    sensors: int,
    offline: int,
    overdue: bool,
    verdict: str,
    reasons: list[str],
) -> None:
    got = readiness(klass, severities, sensors=sensors, offline=offline, overdue=overdue)
    assert got == (Readiness(verdict), reasons)


def test_overview_is_exact(world: World, db: Session, clock: FakeClock) -> None:
    api, now = world.api, clock()
    body = api.inspect(world.inspector, CODE, "EQ-RUST")
    [finding] = body["findings"]
    add_sensor(api, CODE, "S1", "滤毒室", 600)
    add_sensor(api, CODE, "S2", "主通道", 300)
    put_live(
        db,
        "S1",
        CODE,
        seen=now - timedelta(minutes=5),
        temperature=22.5,
        humidity=78.0,
        fire_risk=25.0,
        dew_point=18.6,
        battery=3.6,
        water_leak=True,
    )
    alert = put_alert(
        db, "S1", CODE, "humidity_warning", Severity.WARNING, at=now, zone="滤毒室", value=78.0
    )

    r = api.client.get(f"/api/v1/shelters/{CODE}/overview", headers=world.manager.headers)

    assert r.status_code == 200, r.text
    assert r.json() == {
        "code": CODE,
        "name": f"工程 {CODE}",
        "district": DISTRICT_A,
        "address": "",
        "active": True,
        "manager": world.manager.username,
        "manager_name": None,
        "manager_phone": None,
        "current_class": 2,
        "class_changed_at": iso(now),
        "readiness": "degraded",
        "readiness_reasons": ["warning_alert"],
        "open_findings": [finding],
        "overdue_followups": 0,
        "sensors": [
            {
                "sensor_id": "S1",
                "zone": "滤毒室",
                "expected_interval_s": 600,
                "last_seen": iso(now - timedelta(minutes=5)),
                "online": True,
                "temperature": 22.5,
                "humidity": 78.0,
                "fire_risk": {"index": 25.0, "level": 2, "colour": "blue"},
                "dew_point": 18.6,
                "battery": 3.6,
                "water_leak": True,
            },
            {
                "sensor_id": "S2",
                "zone": "主通道",
                "expected_interval_s": 300,
                "last_seen": None,
                "online": True,
                "temperature": None,
                "humidity": None,
                "fire_risk": None,
                "dew_point": None,
                "battery": None,
                "water_leak": None,
            },
        ],
        "sensors_online": 2,
        "sensors_offline": 0,
        "sensors_wet": 1,
        "last_seen": iso(now - timedelta(minutes=5)),
        "open_alerts": [
            {
                "id": alert.id,
                "sensor_id": "S1",
                "shelter_code": CODE,
                "district": DISTRICT_A,
                "zone": "滤毒室",
                "condition": "humidity",
                "rule": "humidity_warning",
                "severity": "warning",
                "status": "active",
                "message": "humidity_warning 测试",
                "value": 78.0,
                "threshold": None,
                "late": False,
                "raised_at": iso(now),
                "condition_since": iso(now - timedelta(hours=1)),
                "severity_since": iso(now),
                "condition_holds": True,
                "acknowledged_at": None,
                "acknowledged_by": None,
                "cleared_at": None,
                "resolved_by": None,
                "resolve_note": "",
                "escalation_level": 0,
            }
        ],
    }
    assert finding["due_at"] == iso(at(INSPECTED_AT).astimezone(UTC) + timedelta(days=15))
    assert finding["overdue"] is False
    mine = api.client.get("/api/v1/me/shelters", headers=world.manager.headers).json()["items"]
    assert [(s["code"], s["sensors_wet"]) for s in mine] == [(CODE, 1)]


def test_overdue_deadline_shows_in_findings_and_readiness(world: World, clock: FakeClock) -> None:
    api = world.api
    api.inspect(world.inspector, CODE, "EQ-RUST")
    clock.advance(days=16)

    summary = api.client.get(
        f"/api/v1/shelters/{CODE}/overview", headers=world.manager.headers
    ).json()

    assert [f["overdue"] for f in summary["open_findings"]] == [True]
    assert (summary["overdue_followups"], summary["readiness"], summary["readiness_reasons"]) == (
        1,
        "degraded",
        ["overdue_followup"],
    )


def test_readiness_of_shelters_in_every_state(
    api: Api, make_user: UserFactory, db: Session, clock: FakeClock
) -> None:
    inspector = make_user(Role.INSPECTOR, district=DISTRICT_A)
    setups: dict[str, tuple[str, ...]] = {
        "R-READY": (),
        "R-UNGRADED": (),
        "R-CLASS3": ("DOOR-NOT-CLOSING",),
        "R-CLASS4": ("STRUCT-CRACK",),
        "R-CRITICAL": (),
        "R-ONE-OFF": (),
        "R-ALL-OFF": (),
        "R-OVERDUE": ("EQ-RUST",),
    }
    for code, items in setups.items():
        api.shelter(code)
        if code != "R-UNGRADED":
            api.inspect(inspector, code, *items)
    clock.advance(days=16)
    now = clock()
    for code in setups:
        if code != "R-UNGRADED":
            add_sensor(api, code, f"{code}-1")
            put_live(db, f"{code}-1", code, seen=now - timedelta(minutes=1), temperature=20.0)
    add_sensor(api, "R-ONE-OFF", "R-ONE-OFF-2")
    put_live(db, "R-ONE-OFF-2", "R-ONE-OFF", seen=now - timedelta(minutes=31))
    put_alert(db, "R-CRITICAL-1", "R-CRITICAL", "temperature_high", Severity.CRITICAL, at=now)
    put_alert(db, "R-ALL-OFF-1", "R-ALL-OFF", "sensor_offline", Severity.WARNING, at=now)

    r = api.client.get("/api/v1/me/shelters", headers=api.admin.headers, params={"limit": 20})

    assert r.status_code == 200, r.text
    got = {s["code"]: (s["readiness"], s["readiness_reasons"]) for s in r.json()["items"]}
    assert got == {
        "R-READY": ("ready", []),
        "R-UNGRADED": ("degraded", ["ungraded"]),
        "R-CLASS3": ("degraded", ["class_3"]),
        "R-CLASS4": ("not_ready", ["class_4"]),
        "R-CRITICAL": ("not_ready", ["critical_alert"]),
        "R-ONE-OFF": ("degraded", ["sensor_offline"]),
        "R-ALL-OFF": ("not_ready", ["all_sensors_offline", "warning_alert"]),
        "R-OVERDUE": ("degraded", ["overdue_followup"]),
    }
    assert r.json()["total"] == 8


def test_sensor_goes_offline_after_three_intervals(
    world: World, db: Session, clock: FakeClock
) -> None:
    api = world.api
    add_sensor(api, CODE, "NEVER", interval_s=600)
    add_sensor(api, CODE, "QUIET", interval_s=60)
    add_sensor(api, CODE, "FRESH", interval_s=60)
    clock.advance(minutes=30)
    now = clock()
    put_live(db, "QUIET", CODE, seen=now - timedelta(seconds=181))
    put_live(db, "FRESH", CODE, seen=now - timedelta(seconds=180))

    def online() -> dict[str, bool]:
        body = api.client.get(f"/api/v1/shelters/{CODE}/overview", headers=api.admin.headers)
        return {s["sensor_id"]: s["online"] for s in body.json()["sensors"]}

    assert online() == {"FRESH": True, "NEVER": True, "QUIET": False}
    clock.advance(seconds=1)
    assert online() == {"FRESH": False, "NEVER": False, "QUIET": False}


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs while the test holds the list."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_summary_query_count_does_not_grow_with_shelters(
    api: Api, make_user: UserFactory, db: Session, clock: FakeClock, statements: list[str]
) -> None:
    inspector = make_user(Role.INSPECTOR, district=DISTRICT_A)

    def add(code: str) -> None:
        api.shelter(code)
        api.inspect(inspector, code, "EQ-RUST", "DOOR-NOT-CLOSING")
        for n in (1, 2):
            add_sensor(api, code, f"{code}-{n}")
            put_live(db, f"{code}-{n}", code, seen=clock(), humidity=60.0)
        put_alert(db, f"{code}-1", code, "humidity_warning", Severity.WARNING, at=clock())

    def queries() -> int:
        headers = api.admin.headers
        statements.clear()
        r = api.client.get("/api/v1/me/shelters", headers=headers, params={"limit": 100})
        assert r.status_code == 200, r.text
        return len(statements)

    for code in ("Q-01", "Q-02"):
        add(code)
    few = queries()
    for n in range(3, 11):
        add(f"Q-{n:02d}")
    assert queries() == few
    assert few <= 11  # a fixed set: shelters, findings and their attachments, sensors, alerts…
