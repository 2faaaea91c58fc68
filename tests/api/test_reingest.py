"""Re-ingesting rejected readings (``POST /api/v1/telemetry/rejects/reingest``): judged again
as live messages are, stored once however often asked, late alerts, continuation, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.state import AppState
from inspection.models import AuditEntry, Notification, Role
from telemetry.intake import Delivery
from telemetry.ports import Placement
from telemetry.reingest import reingest
from telemetry.sql_models import AlertRow, SensorLiveRow
from telemetry.validation import Validator
from tests.conftest import FakeClock, Login, UserFactory

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
URL = "/api/v1/telemetry/rejects/reingest"
NEW = "shelters/SH-1/S-NEW/telemetry"
GONE = "shelters/SH-1/S-GONE/telemetry"


def _received(
    state: AppState, topic: str, payload: str, at: datetime, directory: dict[str, Placement]
) -> None:
    """What the ingester keeps of a message judged against ``directory``."""
    readings, rejects = Validator(directory).validate(
        [Delivery(topic, payload.encode(), 0, 1, 0, at)]
    )
    state.readings.write(readings)
    state.rejects.add(rejects)


@pytest.fixture
def admin(client: TestClient, make_user: UserFactory, state: AppState, clock: FakeClock) -> Login:
    """SH-1 with sensor S-1; rejects kept before S-NEW was registered: a batch of two good
    readings and one out of range from S-NEW, one from S-GONE (never registered), and one
    out-of-range reading of S-1."""
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    r = client.post(
        "/api/v1/shelters",
        headers=admin.headers,
        json={"code": "SH-1", "name": "SH-1", "district": "黄浦区", "manager": manager.username},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/shelters/SH-1/sensors",
        headers=admin.headers,
        json={"sensor_id": "S-1", "zone": "滤毒室", "expected_interval_s": 600},
    )
    assert r.status_code == 201, r.text
    s1 = {"S-1": Placement("S-1", "SH-1", "黄浦区", "滤毒室", 600)}
    batch = (
        f'[{{"ts": "{T0.isoformat()}", "temperature": 18.5}},'
        f' {{"ts": "{(T0 + timedelta(minutes=1)).isoformat()}", "humidity": 130}},'
        f' {{"ts": "{(T0 + timedelta(minutes=2)).isoformat()}", "water_leak": true}}]'
    )
    _received(state, NEW, batch, T0 + timedelta(minutes=3), s1)
    gone = f'{{"ts": "{T0.isoformat()}", "temperature": 20}}'
    _received(state, GONE, gone, T0 + timedelta(hours=1), s1)
    bad = f'{{"ts": "{T0.isoformat()}", "humidity": 130}}'
    _received(state, "shelters/SH-1/S-1/telemetry", bad, T0 + timedelta(hours=2), s1)
    clock.now = T0 + timedelta(hours=3)
    return admin


def _register_new(client: TestClient, admin: Login) -> None:
    r = client.post(
        "/api/v1/shelters/SH-1/sensors",
        headers=admin.headers,
        json={"sensor_id": "S-NEW", "zone": "水泵房", "expected_interval_s": 600},
    )
    assert r.status_code == 201, r.text


def _reasons(client: TestClient, admin: Login) -> list[tuple[str, str, bool]]:
    r = client.get("/api/v1/telemetry/rejects", headers=admin.headers)
    assert r.status_code == 200, r.text
    return sorted(
        (row["topic"].split("/")[2], row["reason"], row["reingested_at"] is not None)
        for row in r.json()["items"]
    )


def _stored(state: AppState) -> dict[tuple[str, datetime], int]:
    return state.readings.hourly_counts("SH-1", T0 - timedelta(hours=1), T0 + timedelta(hours=4))


def test_registered_late_sensor_readings_are_stored_once_and_marked(
    client: TestClient, admin: Login, state: AppState, db: Session
) -> None:
    assert _reasons(client, admin) == [
        ("S-1", "out_of_range", False),
        ("S-GONE", "unknown_sensor", False),
        ("S-NEW", "out_of_range", False),
        ("S-NEW", "unknown_sensor", False),
        ("S-NEW", "unknown_sensor", False),
    ]
    _register_new(client, admin)

    r = client.post(URL, headers=admin.headers, json={"reason": "unknown_sensor"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "examined": 3,
        "reingested": 2,
        "readings_stored": 2,
        "still_rejected": {"unknown_sensor": 1},
        "next_after_id": None,
    }
    assert _stored(state) == {("S-NEW", T0): 2}
    [(s_new, ts)] = [
        (v.sensor_id, v.ts) for v in state.readings.latest("SH-1") if v.metric == "temperature"
    ]
    assert (s_new, ts) == ("S-NEW", T0)
    assert _reasons(client, admin) == [
        ("S-1", "out_of_range", False),
        ("S-GONE", "unknown_sensor", False),
        ("S-NEW", "out_of_range", False),
        ("S-NEW", "unknown_sensor", True),
        ("S-NEW", "unknown_sensor", True),
    ]

    # Asked again: nothing left to take up; judged again by force: still stored once.
    again = client.post(URL, headers=admin.headers, json={"reason": "unknown_sensor"})
    assert again.json()["examined"] == 1 and again.json()["reingested"] == 0
    everything = state.rejects.list(limit=100, offset=0)[0]
    directory = {"S-NEW": Placement("S-NEW", "SH-1", "黄浦区", "水泵房", 600)}
    reingest(everything, Validator(directory), state.readings)
    assert _stored(state) == {("S-NEW", T0): 2}

    [entry, _] = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "telemetry.reingest").order_by(AuditEntry.id)
    ).all()
    after: dict[str, Any] = entry.after or {}
    assert entry.actor == admin.username
    assert after["filter"]["reason"] == "unknown_sensor"
    assert after["result"]["reingested"] == 2 and len(after["reingested_ids"]) == 2


def test_a_reingested_leak_raises_a_late_alert_that_pages_nobody(
    client: TestClient, admin: Login, db: Session
) -> None:
    _register_new(client, admin)
    r = client.post(URL, headers=admin.headers, json={"sensor_id": "S-NEW"})
    assert r.status_code == 200, r.text
    # The out-of-range element is judged alone, and still is out of range.
    assert r.json()["still_rejected"] == {"out_of_range": 1}
    [alert] = db.scalars(select(AlertRow)).all()
    assert (alert.sensor_id, alert.condition, alert.late) == ("S-NEW", "water_leak", True)
    # The platform hears of it, marked late; no person is paged.
    [platform] = db.scalars(select(Notification)).all()
    assert (platform.recipient_id, platform.payload["late"]) == (None, True)
    # Live values stay the ingester's (these readings are not news).
    assert db.scalars(select(SensorLiveRow)).all() == []


def test_filters_and_continuation(client: TestClient, admin: Login) -> None:
    _register_new(client, admin)
    window = {
        "received_from": (T0 + timedelta(minutes=30)).isoformat(),
        "received_to": (T0 + timedelta(hours=2)).isoformat(),
    }
    r = client.post(URL, headers=admin.headers, json=window)
    assert (r.json()["examined"], r.json()["still_rejected"]) == (1, {"unknown_sensor": 1})

    seen = 0
    after = 0
    pages = 0
    while True:
        r = client.post(URL, headers=admin.headers, json={"limit": 2, "after_id": after})
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["examined"]
        pages += 1
        if body["next_after_id"] is None:
            break
        assert body["examined"] == 2
        after = body["next_after_id"]
    assert (seen, pages) == (5, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "no_such_reason"},
        {"received_from": "2026-06-01T00:00:00"},
        {"limit": 1001},
        {"limit": 0},
        {"after_id": -1},
        {"sensor_id": ""},
        {"surprise": 1},
    ],
)
def test_bad_requests_answer_422(client: TestClient, admin: Login, body: dict[str, Any]) -> None:
    r = client.post(URL, headers=admin.headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"


def test_only_admins_may_reingest(client: TestClient, admin: Login, make_user: UserFactory) -> None:
    officer = make_user(Role.DISTRICT_OFFICER, district="黄浦区")
    assert client.post(URL, headers=officer.headers, json={}).status_code == 403
