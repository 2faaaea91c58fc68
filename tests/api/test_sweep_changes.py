"""Changing a sweep after it is planned: the city office renames it and moves its period
within what keeps its figures sensible, adds shelters to a running sweep and takes out
those not yet inspected, each change audited; and an assignment tells the inspector once,
in Chinese, naming the sweep, the shelters and the last day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import AuditEntry
from tests.api.conftest import DISTRICT_A, DISTRICT_B, error_of, notifications
from tests.api.test_sweeps import SWEEPS, Town, assign, inspect, plan, progress, town
from tests.conftest import FakeClock

__all__ = ["town"]  # the fixture, used by name


def audited(db: Session, sweep: int) -> list[tuple[str, dict[str, Any] | None]]:
    db.rollback()
    rows = db.execute(
        select(AuditEntry.action, AuditEntry.after)
        .where(AuditEntry.entity == "sweep", AuditEntry.entity_id == str(sweep))
        .order_by(AuditEntry.id)
    ).all()
    return [(action, after) for action, after in rows]


def edit(town: Town, sweep: int, **body: Any) -> Any:
    return town.api.client.patch(f"{SWEEPS}/{sweep}", headers=town.api.admin.headers, json=body)


def test_the_office_renames_a_sweep_and_moves_its_period(town: Town, db: Session) -> None:
    sweep = plan(town.api, districts=[DISTRICT_A])["id"]  # 1 May to 7 June; today 20 May
    r = edit(town, sweep, name="2026年上半年巡查（延长）", ends_on="2026-06-30")
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["name"], got["starts_on"], got["ends_on"], got["status"]) == (
        "2026年上半年巡查（延长）",
        "2026-05-01",
        "2026-06-30",
        "running",
    )
    assert got["progress"]["shelters"] == 3
    # an earlier first day while running is fine; a request that changes nothing is no entry
    assert edit(town, sweep, starts_on="2026-04-20").status_code == 200
    assert edit(town, sweep, name="2026年上半年巡查（延长）").status_code == 200
    actions = audited(db, sweep)
    assert [a for a, _ in actions] == ["sweep.create", "sweep.update", "sweep.update"]
    assert actions[1][1] is not None
    assert actions[1][1]["name"] == "2026年上半年巡查（延长）"
    assert actions[1][1]["ends_on"] == "2026-06-30"
    assert actions[2][1] == {
        "starts_on": "2026-04-20",
        "starts_at": actions[2][1]["starts_at"],
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"ends_on": "2026-04-30"}, 422, "invalid_period"),  # before the first day
        ({"ends_on": "2026-05-19"}, 422, "ends_in_past"),  # yesterday
        ({"starts_on": "2026-05-21"}, 422, "sweep_started"),  # running: not after today
        ({"starts_on": "2024-01-01"}, 422, "invalid_period"),  # too long
        ({"name": ""}, 422, "validation_error"),
        ({"status": "ended"}, 422, "validation_error"),
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    town: Town, body: dict[str, Any], status: int, code: str
) -> None:
    sweep = plan(town.api, districts=[DISTRICT_A])["id"]
    r = edit(town, sweep, **body)
    assert error_of(r) == (status, code), r.text
    read = progress(town.api, town.api.admin, sweep)["sweep"]
    assert (read["name"], read["starts_on"], read["ends_on"]) == (
        "2026年上半年巡查",
        "2026-05-01",
        "2026-06-07",
    )


def test_only_the_office_changes_a_sweep(town: Town) -> None:
    api = town.api
    sweep = plan(api, districts=[DISTRICT_A])["id"]
    for who in (town.officer_a, town.inspector_a):
        r = api.client.patch(f"{SWEEPS}/{sweep}", headers=who.headers, json={"name": "x"})
        assert error_of(r) == (403, "role_forbidden")
        r = api.client.post(
            f"{SWEEPS}/{sweep}/shelters", headers=who.headers, json={"shelters": ["B1"]}
        )
        assert error_of(r) == (403, "role_forbidden")
    assert error_of(edit(town, 987654, name="x")) == (404, "sweep_not_found")


def test_shelters_join_a_running_sweep_and_leave_it_until_inspected(
    town: Town, db: Session, clock: FakeClock
) -> None:
    api = town.api
    sweep = plan(api, shelters=["A1"])["id"]
    add = f"{SWEEPS}/{sweep}/shelters"
    remove = f"{SWEEPS}/{sweep}/shelters/remove"
    h = api.admin.headers
    # a district (not its retired A9, not A1 again) and a shelter by code
    r = api.client.post(add, headers=h, json={"districts": [DISTRICT_A], "shelters": ["B1"]})
    assert r.json() == {"changed": 3}, r.text  # A2, A3, B1
    assert api.client.post(add, headers=h, json={"shelters": ["A2"]}).json() == {"changed": 0}
    r = api.client.post(add, headers=h, json={"shelters": ["A9", "NOPE"]})
    assert error_of(r) == (422, "unknown_shelters")
    assert r.json()["error"]["details"] == ["A9", "NOPE"]
    assert error_of(api.client.post(add, headers=h, json={})) == (422, "nothing_named")
    assert progress(api, api.admin, sweep)["sweep"]["progress"]["shelters"] == 4

    assign(api, api.admin, sweep, "insp-a", "A2")
    inspect(api, town.inspector_a, "A1", "2026-05-20T09:30:00+08:00")
    r = api.client.post(remove, headers=h, json={"shelters": ["A1", "A2"]})
    assert error_of(r) == (409, "already_inspected")
    assert r.json()["error"]["details"] == ["A1"]
    assert api.client.post(remove, headers=h, json={"shelters": ["A2", "B1"]}).json() == {
        "changed": 2
    }
    r = api.client.post(remove, headers=h, json={"shelters": ["A2"]})
    assert error_of(r) == (422, "unknown_shelters")  # not in the sweep any more
    got = progress(api, api.admin, sweep)["sweep"]["progress"]
    assert (got["shelters"], got["assigned"], got["inspected"]) == (2, 0, 1)

    actions = audited(db, sweep)
    assert [a for a, _ in actions] == [
        "sweep.create",
        "sweep.add_shelters",
        "sweep.assign",
        "sweep.remove_shelters",
    ]
    assert actions[1][1] == {"districts": [DISTRICT_A], "shelters": ["A2", "A3", "B1"]}
    assert actions[3][1] == {"shelters": ["A2", "B1"], "assigned": {"A2": "insp-a"}}

    r = api.client.post(remove, headers=h, json={"shelters": ["A3"]})
    assert r.json() == {"changed": 1}
    r = api.client.post(remove, headers=h, json={"shelters": ["A1"]})
    assert error_of(r) == (409, "already_inspected")

    clock.now = datetime(2026, 6, 8, 0, 0, tzinfo=UTC)  # 8 June in the city: ended
    assert error_of(api.client.post(add, headers=api.admin.headers, json={"shelters": ["A2"]})) == (
        409,
        "sweep_ended",
    )
    # an ended sweep may be prolonged from today on
    assert edit(town, sweep, ends_on="2026-06-20").json()["status"] == "running"


def test_an_assignment_tells_the_inspector_once(town: Town, db: Session) -> None:
    api = town.api
    sweep = plan(api, districts=[DISTRICT_A, DISTRICT_B])["id"]
    assert assign(api, api.admin, sweep, "insp-a", "A1", "A2").json() == {"changed": 2}
    # the same request again (a retry): nothing new to tell
    assert assign(api, api.admin, sweep, "insp-a", "A2", "A1").json() == {"changed": 2}
    [told] = notifications(db, "sweep_assigned")
    assert told.recipient_id == town.inspector_a.id
    assert told.subject == "巡查任务：2026年上半年巡查（2 处工程）"
    assert "2026年上半年巡查" in told.body and "2026年6月7日" in told.body
    assert "A1" in told.body and "A2" in told.body and "共 2 处" in told.body
    assert told.payload == {"sweep": sweep, "shelters": ["A1", "A2"], "ends_on": "2026-06-07"}

    # one more shelter: one message naming it alone; to another inspector: theirs
    assign(api, api.admin, sweep, "insp-a", "A1", "A3")
    assign(api, town.officer_b, sweep, "insp-b", "B1")
    told_again = notifications(db, "sweep_assigned")
    assert [(n.recipient_id, n.payload["shelters"]) for n in told_again[1:]] == [
        (town.inspector_a.id, ["A3"]),
        (town.inspector_b.id, ["B1"]),
    ]
    # taken off and given back: told again; an unassignment tells nothing
    api.client.post(
        f"{SWEEPS}/{sweep}/unassign", headers=api.admin.headers, json={"shelters": ["A3"]}
    )
    assign(api, api.admin, sweep, "insp-a", "A3")
    assert [n.payload["shelters"] for n in notifications(db, "sweep_assigned")][3:] == [["A3"]]
