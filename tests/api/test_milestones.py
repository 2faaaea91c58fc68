"""Class 4 milestones through the HTTP API: the 工程长 or an officer records containment and
the plan with evidence; the follow-up shows each milestone's deadline and record; the tick, run
at a moved clock, stops reporting a recorded milestone as missed; completion is the follow-up
closing when its last finding is verified."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.processes.scheduler import run_tick
from api.state import AppState
from inspection.models import AuditEntry, Role
from tests.api.conftest import CODE, DISTRICT_B, World, error_of, recipients
from tests.api.conftest import at as _at
from tests.conftest import FakeClock, Login, UserFactory
from tests.images import PNG


def _record(
    client: TestClient,
    who: Login,
    followup_id: int,
    milestone: str,
    *,
    done_at: str | None = None,
    note: str = "已设置警戒并封堵",
    files: int = 1,
) -> Response:
    data = {"note": note}
    if done_at is not None:
        data["done_at"] = done_at
    return client.post(
        f"/api/v1/followups/{followup_id}/milestones/{milestone}",
        headers=who.headers,
        data=data,
        files=[("files", (f"evidence{i}.png", PNG, "image/png")) for i in range(files)],
    )


@pytest.fixture
def key(world: World) -> dict[str, Any]:
    """Key supervision of ``CODE`` (a structural crack), issued half an hour before the clock."""
    body = world.api.inspect(world.inspector, CODE, "STRUCT-CRACK")
    [followup] = body["followups"]
    assert followup["kind"] == "key_supervision"
    return followup


def _milestones(followup: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["milestone"]: m for m in followup["milestones"]}


def test_the_read_shows_three_milestones_with_their_deadlines(
    world: World, key: dict[str, Any], clock: FakeClock
) -> None:
    by_name = _milestones(key)
    assert list(by_name) == ["containment", "plan", "completion"]
    issued = _at(key["issued_at"])
    assert _at(by_name["containment"]["due_at"]) == issued + timedelta(hours=72)
    assert _at(by_name["plan"]["due_at"]) == issued + timedelta(days=7)
    assert _at(by_name["completion"]["due_at"]) == issued + timedelta(days=90)
    assert [m["done_at"] for m in key["milestones"]] == [None, None, None]
    clock.advance(hours=72)
    [listed] = world.api.followups(kind="key_supervision")["items"]
    assert [m["overdue"] for m in listed["milestones"]] == [True, False, False]


def test_manager_records_containment_and_the_tick_stops_reporting_it(
    world: World,
    key: dict[str, Any],
    client: TestClient,
    state: AppState,
    clock: FakeClock,
    db: Session,
) -> None:
    clock.advance(hours=30)
    named = client.patch(
        f"/api/v1/users/{world.manager.username}",
        headers=world.api.admin.headers,
        json={"display_name": "王建国"},
    )
    assert named.status_code == 200, named.text
    done = (clock.now - timedelta(hours=2)).isoformat()
    r = _record(client, world.manager, key["id"], "containment", done_at=done)
    assert r.status_code == 201, r.text
    containment = _milestones(r.json())["containment"]
    assert (
        _at(containment["done_at"]),
        containment["recorded_by"],
        containment["recorded_by_name"],
    ) == (clock.now - timedelta(hours=2), world.manager.username, "王建国")
    assert (containment["note"], containment["overdue"]) == ("已设置警戒并封堵", False)
    [photo] = containment["evidence"]
    assert photo["purpose"] == "containment"
    assert client.get(photo["url"], headers=world.officer.headers).status_code == 200
    assert error_of(client.get(photo["url"], headers=world.officer_b.headers)) == (
        404,
        "attachment_not_found",
    )
    assert recipients(db, "milestone_recorded") == [world.officer.id]

    clock.advance(hours=72)  # past the containment deadline: recorded, so not reported
    report = run_tick(state)
    assert report.deadline_notices == 0
    assert recipients(db, "followup_containment-due") == []
    clock.advance(days=6)  # past the plan deadline: not recorded, reported
    assert run_tick(state).deadline_notices == 2  # the city office and the district officer
    assert recipients(db, "followup_plan-due") == sorted([world.api.admin.id, world.officer.id])

    db.rollback()
    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "followup.milestone_recorded")
    ).all()
    assert (entry.actor, entry.entity_id) == (world.manager.username, key["number"])
    assert entry.after is not None and entry.after["milestone"] == "containment"


def test_an_officer_records_the_plan_and_it_is_never_recorded_twice(
    world: World, key: dict[str, Any], client: TestClient, state: AppState, clock: FakeClock
) -> None:
    r = _record(client, world.officer, key["id"], "plan", note="方案已报送区人防办")
    assert r.status_code == 201, r.text
    plan = _milestones(r.json())["plan"]
    # An account without a real name is named by its username.
    assert (plan["recorded_by"], plan["recorded_by_name"]) == (world.officer.username,) * 2
    again = _record(client, world.manager, key["id"], "plan")
    assert error_of(again) == (409, "milestone_recorded")
    clock.advance(days=8)
    run_tick(state)
    [listed] = world.api.followups(kind="key_supervision")["items"]
    assert [(m["milestone"], m["overdue"]) for m in listed["milestones"]] == [
        ("containment", True),
        ("plan", False),
        ("completion", False),
    ]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("future", (422, "future_time")),
        ("before_issue", (422, "before_issue")),
        ("no_file", (422, "evidence_required")),
        ("completion", (422, "validation_error")),
        ("no_offset", (422, "validation_error")),
        ("inspector", (403, "role_forbidden")),
        ("other_district", (404, "followup_not_found")),
        ("notice", (409, "no_milestones")),
    ],
)
def test_recording_a_milestone_refused(
    world: World,
    key: dict[str, Any],
    client: TestClient,
    clock: FakeClock,
    make_user: UserFactory,
    case: str,
    expected: tuple[int, str],
) -> None:
    who, followup_id, milestone = world.manager, key["id"], "containment"
    done_at: str | None = None
    files = 1
    if case == "future":
        done_at = (clock.now + timedelta(hours=1)).isoformat()
    elif case == "before_issue":
        done_at = (_at(key["issued_at"]) - timedelta(minutes=1)).isoformat()
    elif case == "no_file":
        files = 0
    elif case == "completion":
        milestone = "completion"
    elif case == "no_offset":
        done_at = "2026-06-01T09:00:00"
    elif case == "inspector":
        who = world.inspector
    elif case == "other_district":
        who = world.officer_b
    elif case == "notice":
        world.api.shelter("SH-002", manager=world.manager)
        body = world.api.inspect(world.inspector, "SH-002", "EQ-RUST")
        followup_id = body["followups"][0]["id"]
    r = _record(client, who, followup_id, milestone, done_at=done_at, files=files)
    assert error_of(r) == expected
    [listed] = world.api.followups(kind="key_supervision")["items"]
    assert [m["done_at"] for m in listed["milestones"]] == [None, None, None]


def test_another_manager_learns_nothing(
    world: World, key: dict[str, Any], client: TestClient, make_user: UserFactory
) -> None:
    stranger = make_user(Role.MANAGER)
    assert error_of(_record(client, stranger, key["id"], "containment")) == (
        404,
        "followup_not_found",
    )


def test_completion_is_the_followup_closing(
    world: World, key: dict[str, Any], client: TestClient, clock: FakeClock
) -> None:
    [finding] = key["finding_ids"]
    assert world.api.fix(world.manager, finding).status_code == 200
    clock.advance(days=10)
    assert world.api.verify(world.officer, finding).status_code == 200
    [listed] = world.api.followups(kind="key_supervision")["items"]
    completion = _milestones(listed)["completion"]
    assert (listed["status"], _at(completion["done_at"])) == ("closed", clock.now)
    assert error_of(_record(client, world.manager, key["id"], "plan")) == (409, "bad_state")


def test_the_city_office_records_in_any_district(
    world: World, client: TestClient, make_user: UserFactory
) -> None:
    world.api.shelter("SH-B01", DISTRICT_B)
    body = world.api.inspect(world.api.admin, "SH-B01", "STRUCT-CRACK")
    r = _record(client, world.api.admin, body["followups"][0]["id"], "containment")
    assert r.status_code == 201, r.text
    assert error_of(_record(client, world.officer, body["followups"][0]["id"], "plan")) == (
        404,
        "followup_not_found",
    )
