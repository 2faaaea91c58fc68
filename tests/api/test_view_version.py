"""The version of a page of shelter summaries (the ETag of ``me/shelters`` and
``platform/shelters``): every change that shows in the page changes it, including those the
clock alone makes (a deadline passing, a sensor falling silent), and nothing else does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.http.view_version import Bodies
from inspection.models import Role, Sensor
from telemetry.alert_rules import Severity
from tests.api.conftest import CODE, DISTRICT_A, Api, World
from tests.api.test_views import add_sensor, put_alert, put_live
from tests.conftest import FakeClock, Login, UserFactory

PAGES = ("/api/v1/platform/shelters", "/api/v1/me/shelters")


def bodies(client: TestClient) -> Bodies:
    """The bodies the app behind ``client`` keeps by version."""
    app = client.app
    assert isinstance(app, FastAPI)
    kept: Bodies = app.state.bodies
    return kept


@dataclass
class Seen:
    etag: str
    body: Any


class Watcher:
    """Reads both pages as a client that caches them: with ``If-None-Match`` of the copy it
    holds, keeping the copy on ``304``."""

    def __init__(self, api: Api, platform: Login, manager: Login) -> None:
        self.api = api
        self.reader = {PAGES[0]: platform, PAGES[1]: manager}
        self.held: dict[str, Seen] = {}
        for path in PAGES:
            r = api.client.get(path, headers=self.reader[path].headers)
            assert r.status_code == 200, r.text
            self.held[path] = Seen(r.headers["etag"], r.json())

    def changed(self) -> dict[str, bool]:
        """Per page: whether the server sent a new copy; asserts that the copy held after a
        304 is exactly what the server would send now."""
        out = {}
        for path in PAGES:
            held = self.held[path]
            r = self.api.client.get(
                path, headers={**self.reader[path].headers, "If-None-Match": held.etag}
            )
            # the page as built now, not a body the server kept for the version it computed
            bodies(self.api.client).clear()
            fresh = self.api.client.get(path, headers=self.reader[path].headers)
            assert fresh.status_code == 200, fresh.text
            if r.status_code == 304:
                assert r.headers["etag"] == held.etag == fresh.headers["etag"]
                assert fresh.json() == held.body, f"{path}: 304 kept a stale copy"
                out[path] = False
            else:
                assert r.status_code == 200, r.text
                assert r.headers["etag"] != held.etag
                self.held[path] = Seen(r.headers["etag"], r.json())
                out[path] = True
        return out


@pytest.fixture
def watcher(world: World, make_user: UserFactory) -> Watcher:
    return Watcher(world.api, make_user(Role.PLATFORM), world.manager)


BOTH = {PAGES[0]: True, PAGES[1]: True}
NEITHER = {PAGES[0]: False, PAGES[1]: False}


def test_nothing_changed_answers_304_also_as_time_passes(
    world: World, watcher: Watcher, db: Session, clock: FakeClock
) -> None:
    add_sensor(world.api, CODE, "S1", interval_s=600)
    put_live(db, "S1", CODE, seen=clock(), humidity=60.0)
    world.api.inspect(world.inspector, CODE, "EQ-RUST")
    assert watcher.changed() == BOTH
    assert watcher.changed() == NEITHER
    clock.advance(minutes=29)  # the sensor is still within 3 × 10 min; the notice within 15 days
    assert watcher.changed() == NEITHER


def test_register_and_people_changes(
    world: World, watcher: Watcher, make_user: UserFactory
) -> None:
    api = world.api
    r = api.client.patch(f"/api/v1/shelters/{CODE}", headers=api.admin.headers, json={"name": "新"})
    assert r.status_code == 200, r.text
    assert watcher.changed() == BOTH

    r = api.client.patch(
        f"/api/v1/users/{world.manager.username}",
        headers=api.admin.headers,
        json={"phone": "13800000000"},
    )
    assert r.status_code == 200, r.text
    assert watcher.changed() == BOTH
    assert watcher.held[PAGES[1]].body["items"][0]["manager_phone"] == "13800000000"

    api.shelter("SH-002", manager=world.manager)  # a new shelter on both pages
    assert watcher.changed() == BOTH
    api.shelter("SH-003", DISTRICT_A)  # on the platform's page only
    assert watcher.changed() == {PAGES[0]: True, PAGES[1]: False}

    add_sensor(api, CODE, "S9")
    assert watcher.changed() == BOTH


def test_live_values_and_alerts(
    world: World, watcher: Watcher, db: Session, clock: FakeClock
) -> None:
    add_sensor(world.api, CODE, "S1")
    assert watcher.changed() == BOTH
    put_live(db, "S1", CODE, seen=clock(), temperature=20.0)
    assert watcher.changed() == BOTH
    clock.advance(minutes=1)
    put_live(db, "S1", CODE, seen=clock(), temperature=21.0)
    assert watcher.changed() == BOTH

    alert = put_alert(db, "S1", CODE, "humidity_warning", Severity.WARNING, at=clock())
    assert watcher.changed() == BOTH
    clock.advance(minutes=1)
    r = world.api.client.post(f"/api/v1/alerts/{alert.id}/ack", headers=world.manager.headers)
    assert r.status_code == 200, r.text
    assert watcher.changed() == BOTH
    clock.advance(minutes=1)
    r = world.api.client.post(
        f"/api/v1/alerts/{alert.id}/resolve", headers=world.manager.headers, json={"note": "修好"}
    )
    assert r.status_code == 200, r.text
    assert watcher.changed() == BOTH


def test_findings_fixes_and_deadlines(world: World, watcher: Watcher, clock: FakeClock) -> None:
    api = world.api
    [finding] = api.inspect(world.inspector, CODE, "EQ-RUST")["findings"]
    assert watcher.changed() == BOTH

    clock.advance(days=1)
    assert api.fix(world.manager, finding["id"]).status_code == 200
    assert watcher.changed() == BOTH
    r = api.client.post(
        f"/api/v1/findings/{finding['id']}/reject",
        headers=world.officer.headers,
        json={"note": "照片不清楚"},
    )
    assert r.status_code == 200, r.text
    assert watcher.changed() == BOTH  # back to open: no timestamp of the finding moves

    clock.advance(days=13, hours=23)  # the notice is due 15 days after the visit (01:30)
    assert watcher.changed() == NEITHER
    clock.advance(hours=1)
    assert watcher.changed() == BOTH  # overdue now, by the clock alone
    assert watcher.held[PAGES[1]].body["items"][0]["overdue_followups"] == 1

    assert api.fix(world.manager, finding["id"]).status_code == 200
    assert api.verify(world.officer, finding["id"]).status_code == 200
    assert watcher.changed() == BOTH
    assert watcher.held[PAGES[1]].body["items"][0]["open_findings"] == []


def test_sensors_falling_silent(
    world: World, watcher: Watcher, db: Session, clock: FakeClock
) -> None:
    add_sensor(world.api, CODE, "NEVER", interval_s=600)
    add_sensor(world.api, CODE, "QUIET", interval_s=60)
    put_live(db, "QUIET", CODE, seen=clock())
    assert watcher.changed() == BOTH

    clock.advance(seconds=180)
    assert watcher.changed() == NEITHER
    clock.advance(seconds=1)  # QUIET: more than 3 × 60 s without a reading
    assert watcher.changed() == BOTH
    clock.advance(seconds=30 * 60 - 181)
    assert watcher.changed() == NEITHER
    clock.advance(seconds=1)  # NEVER: 3 × 10 min after its registration
    assert watcher.changed() == BOTH

    db.execute(update(Sensor).where(Sensor.sensor_id == "NEVER").values(active=False))
    db.commit()
    assert watcher.changed() == BOTH
