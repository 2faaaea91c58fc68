"""Sweeps: planning, assigning, progress across the period's end, scoping, and the
inspector's list with the shelters of their running sweeps first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from inspection.models import Role
from tests.api.conftest import DISTRICT_A, DISTRICT_B, Api, error_of
from tests.conftest import FakeClock, Login, UserFactory

SWEEPS = "/api/v1/sweeps"


@dataclass
class Town:
    api: Api
    inspector_a: Login
    inspector_a2: Login
    inspector_b: Login
    officer_a: Login
    officer_b: Login
    manager: Login


@pytest.fixture
def town(api: Api, make_user: UserFactory, clock: FakeClock) -> Town:
    """A1–A3 in district A, B1 in district B, A9 in A but retired; people of both."""
    clock.now = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
    for code in ("A1", "A2", "A3", "A9"):
        api.shelter(code, DISTRICT_A)
    api.shelter("B1", DISTRICT_B)
    r = api.client.patch("/api/v1/shelters/A9", headers=api.admin.headers, json={"active": False})
    assert r.status_code == 200, r.text
    return Town(
        api,
        make_user(Role.INSPECTOR, district=DISTRICT_A, username="insp-a"),
        make_user(Role.INSPECTOR, district=DISTRICT_A, username="insp-a2"),
        make_user(Role.INSPECTOR, district=DISTRICT_B, username="insp-b"),
        make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A),
        make_user(Role.DISTRICT_OFFICER, district=DISTRICT_B),
        make_user(Role.MANAGER),
    )


def plan(api: Api, name: str = "2026年上半年巡查", **body: Any) -> dict[str, Any]:
    payload = {"name": name, "starts_on": "2026-05-01", "ends_on": "2026-06-07", **body}
    r = api.client.post(SWEEPS, headers=api.admin.headers, json=payload)
    assert r.status_code == 201, r.text
    sweep: dict[str, Any] = r.json()
    return sweep


def assign(api: Api, who: Login, sweep: int, inspector: str, *codes: str) -> Any:
    return api.client.post(
        f"{SWEEPS}/{sweep}/assign",
        headers=who.headers,
        json={"inspector": inspector, "shelters": list(codes)},
    )


def inspect(api: Api, who: Login, code: str, when: str, **extra: Any) -> dict[str, Any]:
    r = api.client.post(
        f"/api/v1/shelters/{code}/inspections",
        headers=who.headers,
        json={"inspected_at": when, "findings": [], **extra},
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def progress(api: Api, who: Login, sweep: int) -> dict[str, Any]:
    r = api.client.get(f"{SWEEPS}/{sweep}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("shelters", "assigned", "inspected", "not_yet", "overdue", "due_soon")
    return tuple(row[k] for k in keys)


def test_a_sweep_covers_the_active_shelters_it_names_when_it_is_created(town: Town) -> None:
    api = town.api
    sweep = plan(api, districts=[DISTRICT_A], shelters=["B1"])
    assert (sweep["status"], sweep["created_by"]) == ("running", "city-admin")
    assert counts(sweep["progress"]) == (4, 0, 0, 4, 0, 0)  # A1–A3 and B1, not retired A9
    api.shelter("A4", DISTRICT_A)  # registered later: not in the sweep
    assert progress(api, api.admin, sweep["id"])["sweep"]["progress"]["shelters"] == 4
    assert error_of(assign(api, api.admin, sweep["id"], "insp-a", "A4")) == (
        422,
        "unknown_shelters",
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"ends_on": "2026-04-30"}, "invalid_period"),
        ({"starts_on": "2024-01-01", "ends_on": "2026-06-07"}, "invalid_period"),
        ({"starts_on": "9999-12-31", "ends_on": "9999-12-31"}, "invalid_period"),
        ({"shelters": ["A1", "NOPE", "A9"]}, "unknown_shelters"),
        ({"districts": ["无此区"]}, "empty_sweep"),
        ({}, "empty_sweep"),
        ({"starts_on": "2026-13-01"}, "validation_error"),
    ],
)
def test_a_bad_plan_is_refused(town: Town, body: dict[str, Any], code: str) -> None:
    payload = {"name": "巡查", "starts_on": "2026-05-01", "ends_on": "2026-06-07", **body}
    r = town.api.client.post(SWEEPS, headers=town.api.admin.headers, json=payload)
    assert error_of(r) == (422, code), r.text
    if code == "unknown_shelters":
        assert r.json()["error"]["details"] == ["A9", "NOPE"]


def test_progress_counts_inspections_within_the_period_across_its_end(
    town: Town, clock: FakeClock
) -> None:
    api = town.api
    old = inspect(api, town.inspector_a, "A3", "2026-04-30T23:59:00+08:00", late_reason="补录")
    sweep = plan(api, districts=[DISTRICT_A, DISTRICT_B])["id"]
    assert assign(api, api.admin, sweep, "insp-a", "A1", "A2").json() == {"changed": 2}
    assert assign(api, town.officer_b, sweep, "insp-b", "B1").status_code == 200
    # 20 May: running, nothing inspected in the period (A3's visit was the day before it)
    got = progress(api, api.admin, sweep)
    assert got["sweep"]["status"] == "running"
    assert counts(got["sweep"]["progress"]) == (4, 3, 0, 4, 0, 0)

    clock.now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    inspect(api, town.inspector_a, "A1", "2026-06-01T09:30:00+08:00")
    # a correction of A3's earlier inspection is no visit in the sweep
    inspect(api, town.inspector_a, "A3", "2026-06-01T09:40:00+08:00", corrects=old["id"])
    got = progress(api, api.admin, sweep)
    assert counts(got["sweep"]["progress"]) == (4, 3, 1, 3, 0, 3)  # ends within 7 days

    clock.now = datetime(2026, 6, 7, 15, 59, tzinfo=UTC)  # 23:59 on the last day in the city
    inspect(api, town.inspector_b, "B1", "2026-06-07T23:58:00+08:00")
    assert counts(progress(api, api.admin, sweep)["sweep"]["progress"]) == (4, 3, 2, 2, 0, 2)

    clock.now = datetime(2026, 6, 7, 16, 0, tzinfo=UTC)  # midnight: the period has ended
    inspect(api, town.inspector_a, "A2", "2026-06-08T00:00:00+08:00")  # too late to count
    got = progress(api, api.admin, sweep)
    assert got["sweep"]["status"] == "ended"
    assert counts(got["sweep"]["progress"]) == (4, 3, 2, 2, 2, 0)
    assert {d["district"]: counts(d) for d in got["districts"]} == {
        DISTRICT_A: (3, 2, 1, 2, 2, 0),
        DISTRICT_B: (1, 1, 1, 0, 0, 0),
    }
    assert [(i["inspector"], counts(i)) for i in got["inspectors"]] == [
        ("insp-a", (2, 2, 1, 1, 1, 0)),
        ("insp-b", (1, 1, 1, 0, 0, 0)),
        (None, (1, 0, 0, 1, 1, 0)),
    ]


def test_each_role_sees_the_sweep_within_its_reach(town: Town, client: TestClient) -> None:
    api = town.api
    sweep = plan(api, districts=[DISTRICT_A, DISTRICT_B])["id"]
    assign(api, api.admin, sweep, "insp-a", "A1", "A2")
    assign(api, api.admin, sweep, "insp-b", "B1")

    officer = progress(api, town.officer_a, sweep)
    assert [d["district"] for d in officer["districts"]] == [DISTRICT_A]
    assert [i["inspector"] for i in officer["inspectors"]] == ["insp-a", None]
    assert officer["sweep"]["progress"]["shelters"] == 3

    mine = progress(api, town.inspector_a, sweep)
    assert mine["sweep"]["progress"]["shelters"] == 2
    assert [i["inspector"] for i in mine["inspectors"]] == ["insp-a"]
    held = client.get(f"{SWEEPS}/{sweep}/shelters", headers=town.officer_a.headers).json()
    assert [(s["code"], s["inspector"], s["inspected"]) for s in held["items"]] == [
        ("A1", "insp-a", False),
        ("A2", "insp-a", False),
        ("A3", None, False),
    ]
    held = client.get(f"{SWEEPS}/{sweep}/shelters", headers=town.inspector_b.headers).json()
    assert (held["total"], held["items"][0]["code"]) == (1, "B1")
    held = client.get(
        f"{SWEEPS}/{sweep}/shelters",
        headers=api.admin.headers,
        params={"district": DISTRICT_B, "limit": 1},
    ).json()
    assert (held["total"], [s["code"] for s in held["items"]]) == (1, ["B1"])
    listed = client.get(SWEEPS, headers=town.inspector_a2.headers).json()
    assert [(s["id"], s["progress"]["shelters"]) for s in listed["items"]] == [(sweep, 0)]

    # a district officer assigns in their district only; another district's shelter answers
    # like one that is not in the sweep
    assert assign(api, town.officer_a, sweep, "insp-a2", "A3").json() == {"changed": 1}
    assert error_of(assign(api, town.officer_a, sweep, "insp-b", "B1")) == (
        422,
        "unknown_shelters",
    )
    assert error_of(assign(api, town.officer_a, sweep, "insp-a", "NOPE")) == (
        422,
        "unknown_shelters",
    )
    r = client.post(
        f"{SWEEPS}/{sweep}/unassign", headers=town.officer_b.headers, json={"shelters": ["A1"]}
    )
    assert error_of(r) == (422, "unknown_shelters")
    r = client.post(
        f"{SWEEPS}/{sweep}/unassign", headers=town.officer_a.headers, json={"shelters": ["A1"]}
    )
    assert r.json() == {"changed": 1}
    assert progress(api, town.inspector_a, sweep)["sweep"]["progress"]["shelters"] == 1

    # who may not
    body = {"name": "区巡查", "starts_on": "2026-05-01", "ends_on": "2026-06-07"}
    r = client.post(SWEEPS, headers=town.officer_a.headers, json={**body, "districts": ["黄浦区"]})
    assert error_of(r) == (403, "role_forbidden")
    assert error_of(assign(api, town.inspector_a, sweep, "insp-a", "A1")) == (403, "role_forbidden")
    assert error_of(client.get(SWEEPS, headers=town.manager.headers)) == (403, "role_forbidden")
    assert error_of(client.get(f"{SWEEPS}/987654", headers=api.admin.headers)) == (
        404,
        "sweep_not_found",
    )


def test_only_an_active_inspector_of_the_district_is_assigned(
    town: Town, make_user: UserFactory
) -> None:
    api = town.api
    sweep = plan(api, districts=[DISTRICT_A, DISTRICT_B])["id"]
    make_user(Role.INSPECTOR, username="insp-nowhere")
    make_user(Role.INSPECTOR, district=DISTRICT_A, username="insp-gone")
    r = api.client.patch(
        "/api/v1/users/insp-gone", headers=api.admin.headers, json={"active": False}
    )
    assert r.status_code == 200, r.text
    for who in ("insp-b", "insp-nowhere", "insp-gone", town.manager.username, "nobody"):
        assert error_of(assign(api, api.admin, sweep, who, "A1")) == (422, "bad_assignee"), who
    # one shelter of another district spoils the whole request
    assert error_of(assign(api, api.admin, sweep, "insp-a", "A1", "B1")) == (422, "bad_assignee")
    assert progress(api, api.admin, sweep)["sweep"]["progress"]["assigned"] == 0


def test_the_inspectors_list_puts_their_running_assignments_first(
    town: Town, client: TestClient, clock: FakeClock
) -> None:
    api = town.api
    later = plan(
        api, "六月巡查", starts_on="2026-05-01", ends_on="2026-06-30", districts=[DISTRICT_A]
    )
    sooner = plan(api, "专项巡查", starts_on="2026-05-10", ends_on="2026-06-15", shelters=["A2"])
    ended = plan(api, "春季巡查", starts_on="2026-03-01", ends_on="2026-04-30", shelters=["A1"])
    future = plan(api, "下半年巡查", starts_on="2026-07-01", ends_on="2026-12-31", shelters=["A1"])
    assign(api, api.admin, later["id"], "insp-a", "A2", "A3")
    assign(api, api.admin, sooner["id"], "insp-a", "A2")
    for sweep in (ended, future):
        assign(api, api.admin, sweep["id"], "insp-a", "A1")
    assign(api, api.admin, later["id"], "insp-a2", "A1")

    def listed(who: Login, **params: Any) -> list[tuple[str, Any]]:
        r = client.get("/api/v1/shelters", headers=who.headers, params={"limit": 500, **params})
        assert r.status_code == 200, r.text
        marks = [(s["code"], s["sweep"]) for s in r.json()["items"]]
        return [(c, m and (m["sweep"], m["ends_on"], m["inspected"])) for c, m in marks]

    assert listed(town.inspector_a) == [
        ("A2", ("专项巡查", "2026-06-15", False)),
        ("A3", ("六月巡查", "2026-06-30", False)),
        ("A1", None),
        ("A9", None),
    ]
    # the district's other shelters stay reachable by search
    assert listed(town.inspector_a, q="A1") == [("A1", None)]
    # the others' lists are by code, unmarked
    assert [c for c, _ in listed(api.admin)] == ["A1", "A2", "A3", "A9", "B1"]
    assert all(m is None for _, m in listed(api.admin))
    assert listed(town.inspector_a2)[0] == ("A1", ("六月巡查", "2026-06-30", False))

    clock.now = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    inspect(api, town.inspector_a, "A3", "2026-06-01T09:30:00+08:00")
    assert listed(town.inspector_a)[1] == ("A3", ("六月巡查", "2026-06-30", True))
    clock.now = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)  # 专项巡查 has ended
    assert [c for c, _ in listed(town.inspector_a)][:2] == ["A2", "A3"]
    assert listed(town.inspector_a)[0] == ("A2", ("六月巡查", "2026-06-30", False))
