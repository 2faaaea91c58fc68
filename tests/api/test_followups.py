"""Follow-up through the HTTP API and the scheduled tick (run directly after moving the clock):
reminders, deadline notices and escalation per class; the rules of reporting, verifying and
rejecting fixes; the follow-up list; referral outcomes; compliance statistics."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.processes.scheduler import run_tick
from api.state import AppState
from inspection.models import Role
from tests.api.conftest import (
    CODE,
    DISTRICT_A,
    DISTRICT_B,
    Api,
    World,
    class_changes,
    error_of,
    notifications,
    recipients,
)
from tests.api.conftest import at as _at
from tests.conftest import FakeClock, UserFactory


def _tick(state: AppState) -> tuple[int, int, int]:
    report = run_tick(state)
    return report.reminders, report.deadline_notices, report.escalations


def _by_kind(api: Api) -> dict[str, dict[str, Any]]:
    return {f["kind"]: f for f in api.followups()["items"]}


# ---------------------------------------------------------------- class 2 notice


def test_class2_notice_reminds_tells_district_and_escalates_to_class3(
    world: World, state: AppState, clock: FakeClock, db: Session
) -> None:
    issued = clock.now
    notice = world.api.inspect(world.inspector, CODE, "EQ-RUST", "CIVIL-DEBRIS")["followups"][0]

    clock.advance(days=11, hours=23)
    assert _tick(state) == (0, 0, 0)
    clock.advance(hours=1)  # due − 3 d
    assert _tick(state) == (1, 0, 0)
    assert recipients(db, "followup_remind-3d") == [world.manager.id]
    clock.advance(days=3)  # due
    assert _tick(state) == (0, 1, 0)
    assert recipients(db, "followup_due") == [world.officer.id]
    clock.advance(days=6, hours=23)
    assert _tick(state) == (0, 0, 0)
    assert world.api.current_class(CODE) == 2

    clock.advance(hours=1)  # due + 7 d
    assert _tick(state) == (0, 0, 1)
    by_kind = _by_kind(world.api)
    assert (by_kind["notice"]["status"], by_kind["notice"]["escalated_class"]) == ("escalated", 3)
    ledger = by_kind["ledger"]
    assert (ledger["status"], ledger["class_level"]) == ("open", 3)
    assert ledger["finding_ids"] == notice["finding_ids"]
    assert _at(ledger["issued_at"]) == issued + timedelta(days=22)
    assert _at(ledger["due_at"]) == issued + timedelta(days=52)
    # nobody is assigned to the shelter: the inspector who found the problems tracks it
    assert ledger["tracker"] == world.inspector.username
    assert ledger["tracker_name"] == world.inspector.username  # no real name: the username
    assert world.api.current_class(CODE) == 3
    assert class_changes(db) == [(None, 2, "inspection"), (2, 3, "overdue_escalation")]
    assert recipients(db, "ledger_issued") == sorted([world.manager.id, world.inspector.id])

    before = len(notifications(db))
    assert _tick(state) == (0, 0, 0)
    assert len(notifications(db)) == before
    assert len(world.api.followups()["items"]) == 2
    assert len(class_changes(db)) == 2


def test_escalated_ledger_is_tracked_by_the_assigned_inspector(
    world: World, state: AppState, clock: FakeClock, make_user: UserFactory
) -> None:
    assigned = make_user(Role.INSPECTOR)
    world.api.shelter("SH-002", manager=world.manager, inspector=assigned)
    world.api.inspect(world.inspector, "SH-002", "EQ-RUST")
    clock.advance(days=22)
    # one late pass: the deadline notice and the escalation, no reminder after the deadline
    assert _tick(state) == (0, 1, 1)
    assert _by_kind(world.api)["ledger"]["tracker"] == assigned.username


def test_verifying_an_escalated_finding_returns_the_shelter_to_class1(
    world: World, state: AppState, clock: FakeClock, db: Session
) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    clock.advance(days=22)
    _tick(state)
    finding = body["findings"][0]["id"]
    assert world.api.fix(world.manager, finding).status_code == 200
    assert world.api.verify(world.officer, finding).status_code == 200
    assert {f["kind"]: f["status"] for f in world.api.followups()["items"]} == {
        "notice": "closed",
        "ledger": "closed",
    }
    assert world.api.current_class(CODE) == 1
    assert class_changes(db)[-1] == (3, 1, "verification")
    # Messages name the item by its title in the catalogue, never by its code.
    for kind in ("fix_reported", "fix_verified"):
        messages = notifications(db, kind)
        assert messages, kind
        for message in messages:
            assert "防护设备锈蚀、油漆脱落" in message.subject + message.body
            assert "EQ-RUST" not in message.subject + message.body


# ---------------------------------------------------------------- class 3 ledger


LEDGER_STEPS = [
    # (days after issue, (reminders, deadline notices, escalations), outbox kind or None)
    (14.9, (0, 0, 0), None),
    (15, (2, 0, 0), "followup_checkpoint"),
    (22.9, (0, 0, 0), None),
    (23, (2, 0, 0), "followup_remind-7d"),
    (29, (2, 0, 0), "followup_remind-1d"),
    (30, (0, 1, 0), "followup_due"),
    (59.9, (0, 0, 0), None),
    (60, (0, 0, 1), "key_supervision_issued"),
    (60, (0, 0, 0), None),  # idempotent
]


def test_class3_ledger_checkpoint_reminders_deadline_and_escalation(
    world: World, state: AppState, clock: FakeClock, db: Session
) -> None:
    issued = clock.now
    world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING")
    tracker_and_manager = sorted([world.inspector.id, world.manager.id])
    expected_recipients = {
        "followup_checkpoint": tracker_and_manager,
        "followup_remind-7d": tracker_and_manager,
        "followup_remind-1d": tracker_and_manager,
        "followup_due": [world.officer.id],
        "key_supervision_issued": sorted([world.manager.id, world.officer.id, world.api.admin.id]),
    }
    for day, counts, kind in LEDGER_STEPS:
        clock.now = issued + timedelta(days=day)
        before = len(notifications(db))
        assert _tick(state) == counts, day
        if kind is None:
            assert len(notifications(db)) == before, day
        else:
            assert recipients(db, kind) == expected_recipients[kind], day
    by_kind = _by_kind(world.api)
    assert (by_kind["ledger"]["status"], by_kind["ledger"]["escalated_class"]) == ("escalated", 4)
    key = by_kind["key_supervision"]
    assert key["finding_ids"] == by_kind["ledger"]["finding_ids"]
    assert _at(key["containment_due_at"]) == issued + timedelta(days=60, hours=72)
    assert world.api.current_class(CODE) == 4
    assert class_changes(db) == [(None, 3, "inspection"), (3, 4, "overdue_escalation")]


# ---------------------------------------------------------------- class 4 key supervision


def test_class4_missed_containment_and_plan_reach_city_and_district(
    world: World, state: AppState, clock: FakeClock, db: Session
) -> None:
    world.api.inspect(world.inspector, CODE, "STRUCT-CRACK", "OCCUPATION")
    city_and_district = sorted([world.api.admin.id, world.officer.id])
    clock.advance(hours=71)
    assert _tick(state) == (0, 0, 0)
    clock.advance(hours=1)  # 72 h: containment missed; the referral is due too
    assert _tick(state) == (0, 3, 0)
    assert recipients(db, "followup_containment-due") == city_and_district
    assert recipients(db, "followup_due") == [world.api.admin.id]  # referral → city office
    assert recipients(db, "followup_plan-due") == []
    clock.advance(days=4)  # 7 d: the plan is missed
    assert _tick(state) == (0, 2, 0)
    assert recipients(db, "followup_plan-due") == city_and_district
    assert _tick(state) == (0, 0, 0)
    assert world.api.current_class(CODE) == 4


def _local(value: str, state: AppState, *, minutes: bool = False) -> str:
    """``value`` (as the API writes it) the way a message writes it: the city's zone, 年月日."""
    local = _at(value).astimezone(ZoneInfo(state.settings.timezone))
    day = f"{local.year}年{local.month}月{local.day}日"
    return f"{day}{local.hour}时{local.minute:02d}分" if minutes else day


def test_messages_write_deadlines_in_the_citys_zone_the_chinese_way(
    world: World, state: AppState, clock: FakeClock, db: Session
) -> None:
    clock.now = clock.now.replace(hour=20, minute=30)  # 04:30 the next day in Asia/Shanghai
    notice = world.api.inspect(world.inspector, CODE, "EQ-RUST")["followups"][0]
    key = world.api.inspect(world.inspector, CODE, "STRUCT-CRACK")
    supervision = next(f for f in key["followups"] if f["kind"] == "key_supervision")
    issued = notifications(db, "notice_issued")[0].body
    assert f"请于 {_local(notice['due_at'], state)} 前完成整改" in issued
    clock.advance(hours=72)  # the containment of the key supervision is missed
    _tick(state)
    missed = notifications(db, "followup_containment-due")[0].body
    containment = supervision["milestones"][0]
    assert containment["milestone"] == "containment"
    assert f"期限 {_local(containment['due_at'], state, minutes=True)} 已过" in missed
    clock.advance(days=9)  # the notice is due within 3 days
    _tick(state)
    reminder = notifications(db, "followup_remind-3d")[0].body
    assert f"将于 {_local(notice['due_at'], state)} 到期" in reminder
    for body in (issued, missed, reminder):
        assert re.search(r"\d{4}-\d{2}-\d{2}T", body) is None, body


# ---------------------------------------------------------------- fix and verification


@pytest.fixture
def two_findings(world: World) -> tuple[int, int]:
    """A class 3 inspection: (S2 door, S1 rust), both open."""
    body = world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING", "EQ-RUST")
    return body["findings"][0]["id"], body["findings"][1]["id"]


def test_fix_needs_a_file(world: World, client: TestClient, two_findings: tuple[int, int]) -> None:
    door, _ = two_findings
    r = client.post(
        f"/api/v1/findings/{door}/fix", headers=world.manager.headers, data={"note": "x"}
    )
    assert error_of(r) == (422, "evidence_required")
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert [f["status"] for f in detail["open_findings"]] == ["open", "open"]


def test_fix_rules(world: World, db: Session, two_findings: tuple[int, int]) -> None:
    door, _ = two_findings
    assert error_of(world.api.fix(world.officer, door)) == (403, "role_forbidden")
    assert error_of(world.api.fix(world.inspector, door)) == (403, "role_forbidden")
    r = world.api.fix(world.manager, door, note="换了门铰")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["fix_note"]) == ("fix_reported", "换了门铰")
    assert recipients(db, "fix_reported") == [world.officer.id]
    assert error_of(world.api.fix(world.manager, door)) == (409, "bad_state")


def test_verify_rules(
    world: World, client: TestClient, two_findings: tuple[int, int], make_user: UserFactory
) -> None:
    door, rust = two_findings
    assert error_of(world.api.verify(world.officer, door)) == (409, "bad_state")
    second_admin = make_user(Role.ADMIN)
    assert world.api.fix(world.api.admin, door).status_code == 200
    assert error_of(world.api.verify(world.api.admin, door)) == (403, "same_person")
    assert error_of(world.api.verify(world.manager, door)) == (403, "role_forbidden")
    assert world.api.verify(second_admin, door).json()["status"] == "closed"
    assert world.api.fix(world.manager, rust).status_code == 200
    r = client.post(f"/api/v1/findings/{rust}/verify", headers=world.inspector.headers)
    assert r.status_code == 200  # the note is optional
    assert r.json()["status"] == "closed"


def test_followups_list_their_findings_when_asked(
    world: World, client: TestClient, two_findings: tuple[int, int], make_user: UserFactory
) -> None:
    door, rust = two_findings
    assert world.api.fix(world.manager, door, note="换了门铰").status_code == 200
    [plain] = world.api.followups()["items"]
    assert plain["findings"] is None
    assert plain["shelter_name"]
    [ledger] = world.api.followups(with_findings="true")["items"]
    assert [f["id"] for f in ledger["findings"]] == ledger["finding_ids"] == [door, rust]
    by_id = {f["id"]: f for f in ledger["findings"]}
    assert (by_id[door]["status"], by_id[door]["fix_note"]) == ("fix_reported", "换了门铰")
    assert by_id[rust]["status"] == "open"
    assert by_id[rust]["due_at"] == ledger["due_at"]
    assert [a for a in by_id[rust]["attachments"] if a["purpose"] == "fix"] == []
    [evidence] = [a for a in by_id[door]["attachments"] if a["purpose"] == "fix"]
    assert evidence["content_type"] == "image/png"
    url = f"/api/v1/attachments/{evidence['id']}"
    r = client.get(url, headers=world.officer.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")  # re-encoded on upload, still a PNG
    elsewhere = make_user(Role.DISTRICT_OFFICER, district=DISTRICT_B)
    assert error_of(client.get(url, headers=elsewhere.headers)) == (404, "attachment_not_found")
    assert error_of(client.get("/api/v1/attachments/999999", headers=world.officer.headers)) == (
        404,
        "attachment_not_found",
    )


def test_reject_sends_the_fix_back(
    world: World, client: TestClient, db: Session, two_findings: tuple[int, int]
) -> None:
    door, _ = two_findings
    world.api.fix(world.manager, door)
    url = f"/api/v1/findings/{door}/reject"
    r = client.post(url, headers=world.officer.headers, json={"note": "  "})
    assert error_of(r) == (422, "note_required")
    r = client.post(url, headers=world.officer.headers, json={"note": "门仍无法闭锁"})
    assert r.status_code == 200
    assert r.json()["status"] == "open"
    [row] = notifications(db, "fix_rejected")
    assert row.recipient_id == world.manager.id
    assert "门仍无法闭锁" in row.body
    assert world.api.current_class(CODE) == 3
    assert world.api.fix(world.manager, door).status_code == 200  # it can be reported again


@pytest.mark.parametrize(
    ("first", "class_between", "history"),
    [
        pytest.param(1, 3, [(None, 3, "inspection"), (3, 1, "verification")], id="S1-first"),
        pytest.param(
            0,
            2,
            [(None, 3, "inspection"), (3, 2, "verification"), (2, 1, "verification")],
            id="S2-first",
        ),
    ],
)
def test_verifying_one_then_the_last_finding(
    world: World,
    db: Session,
    two_findings: tuple[int, int],
    first: int,
    class_between: int,
    history: list[tuple[int | None, int, str]],
) -> None:
    """The class follows the finding still open; the last verification closes the ledger."""
    for finding in (two_findings[first], two_findings[1 - first]):
        world.api.fix(world.manager, finding)
        assert world.api.verify(world.officer, finding).status_code == 200
        if finding == two_findings[first]:
            assert world.api.current_class(CODE) == class_between
            assert [f["status"] for f in world.api.followups()["items"]] == ["open"]
    [ledger] = world.api.followups()["items"]
    assert (ledger["status"], ledger["closed_at"] is not None) == ("closed", True)
    assert world.api.current_class(CODE) == 1
    assert class_changes(db) == history
    assert recipients(db, "fix_verified") == [world.manager.id, world.manager.id]


# ---------------------------------------------------------------- list, filters, outcomes


@pytest.fixture
def four_followups(world: World) -> dict[str, int]:
    """District A: a notice (15 d) and a ledger (30 d); district B: key supervision (90 d)
    and a referral (72 h)."""
    world.api.shelter("SH-002", manager=world.manager)
    world.api.shelter("SH-B01", DISTRICT_B)
    world.api.inspect(world.inspector, CODE, "EQ-RUST")
    world.api.inspect(world.inspector, "SH-002", "DOOR-NOT-CLOSING")
    world.api.inspect(world.api.admin, "SH-B01", "STRUCT-CRACK", "OCCUPATION")
    return {f["kind"]: f["id"] for f in world.api.followups()["items"]}


@pytest.mark.parametrize(
    ("params", "kinds"),
    [
        ({}, ["referral", "notice", "ledger", "key_supervision"]),  # by deadline
        ({"class": 2}, ["notice"]),
        ({"class": 3}, ["ledger"]),
        ({"class": 4}, ["referral", "key_supervision"]),
        ({"district": DISTRICT_A}, ["notice", "ledger"]),
        ({"district": DISTRICT_B}, ["referral", "key_supervision"]),
        ({"status": "open"}, ["referral", "notice", "ledger", "key_supervision"]),
        ({"status": "closed"}, []),
        ({"kind": "referral"}, ["referral"]),
        ({"shelter": "SH-002"}, ["ledger"]),
        ({"overdue": "true"}, []),
    ],
)
def test_followup_filters(
    world: World, four_followups: dict[str, int], params: dict[str, Any], kinds: list[str]
) -> None:
    page = world.api.followups(**params)
    assert [f["kind"] for f in page["items"]] == kinds
    assert page["total"] == len(kinds)


def test_overdue_filter_after_the_deadlines(
    world: World, clock: FakeClock, four_followups: dict[str, int]
) -> None:
    clock.advance(days=16)
    overdue = world.api.followups(overdue="true")
    assert [(f["kind"], f["overdue"]) for f in overdue["items"]] == [
        ("referral", True),
        ("notice", True),
    ]
    assert [f["kind"] for f in world.api.followups(overdue="false")["items"]] == [
        "ledger",
        "key_supervision",
    ]


@pytest.mark.parametrize(
    ("limit", "offset", "kinds"),
    [
        (2, 0, ["referral", "notice"]),
        (2, 2, ["ledger", "key_supervision"]),
        (3, 3, ["key_supervision"]),
        (2, 4, []),
    ],
)
def test_followup_pagination(
    world: World, four_followups: dict[str, int], limit: int, offset: int, kinds: list[str]
) -> None:
    page = world.api.followups(limit=limit, offset=offset)
    assert [f["kind"] for f in page["items"]] == kinds
    assert (page["total"], page["limit"], page["offset"]) == (4, limit, offset)


def test_referral_outcome_closes_it(
    world: World, client: TestClient, clock: FakeClock, four_followups: dict[str, int]
) -> None:
    referral = four_followups["referral"]
    r = client.post(
        f"/api/v1/followups/{referral}/outcome",
        headers=world.officer_b.headers,
        json={"status": "fined", "fine_yuan": 20000, "note": "罚款两万元"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], _at(body["closed_at"])) == ("closed", clock.now)
    assert body["outcome"] == {
        "status": "fined",
        "party_type": "unit",
        "fine_yuan": 20000,
        "note": "罚款两万元",
        "recorded_by": world.officer_b.username,
        "recorded_by_name": world.officer_b.username,  # an account with no real name
        "recorded_at": clock.now.isoformat(),
    }
    assert [f["id"] for f in world.api.followups(status="closed")["items"]] == [referral]


def test_referral_still_with_enforcement_stays_open(
    world: World, client: TestClient, four_followups: dict[str, int]
) -> None:
    url = f"/api/v1/followups/{four_followups['referral']}/outcome"
    r = client.post(url, headers=world.api.admin.headers, json={"status": "referred"})
    assert (r.json()["status"], r.json()["outcome"]["status"]) == ("open", "referred")


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("notice", {"status": "fined", "fine_yuan": 20000}, (409, "not_a_referral")),
        ("referral", {"status": "fined", "fine_yuan": -1}, (422, "validation_error")),
        ("referral", {"status": "jailed"}, (422, "validation_error")),
    ],
)
def test_referral_outcome_refused(
    world: World,
    client: TestClient,
    four_followups: dict[str, int],
    kind: str,
    body: dict[str, Any],
    expected: tuple[int, str],
) -> None:
    url = f"/api/v1/followups/{four_followups[kind]}/outcome"
    assert error_of(client.post(url, headers=world.api.admin.headers, json=body)) == expected
    assert world.api.followups(status="closed")["total"] == 0


# ---------------------------------------------------------------- compliance statistics


@pytest.fixture
def mixed_register(world: World) -> None:
    """District A: ungraded, class 1, class 3. District B: class 1, class 3, and a class 1
    shelter that is no longer active (not counted)."""
    api, inspector = world.api, world.inspector
    for code in ("A-1", "A-2", "A-3"):
        api.shelter(code, DISTRICT_A)
    for code in ("B-1", "B-2", "B-3"):
        api.shelter(code, DISTRICT_B)
    api.inspect(inspector, "A-2")
    api.inspect(inspector, "A-3", "DOOR-NOT-CLOSING")
    api.inspect(api.admin, "B-1")
    api.inspect(api.admin, "B-2", "VENT-FAULT")
    api.inspect(api.admin, "B-3")
    r = api.client.patch("/api/v1/shelters/B-3", headers=api.admin.headers, json={"active": False})
    assert r.status_code == 200


def _row(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["district"],
        row["active_shelters"],
        row["class1_shelters"],
        row["rate"],
        row["by_class"],
        row["open_followups"],
    )


def test_compliance_rates(world: World, client: TestClient, mixed_register: None) -> None:
    # The world's own shelter SH-001 (district A) is ungraded too.
    r = client.get("/api/v1/stats/compliance", headers=world.api.admin.headers)
    assert r.status_code == 200
    report = r.json()
    a_classes = {"1": 1, "2": 0, "3": 1, "4": 0, "ungraded": 2}
    b_classes = {"1": 1, "2": 0, "3": 1, "4": 0, "ungraded": 0}
    assert [_row(d) for d in report["districts"]] == sorted(
        [(DISTRICT_A, 4, 1, 0.25, a_classes, 1), (DISTRICT_B, 2, 1, 0.5, b_classes, 1)]
    )
    city = {"1": 2, "2": 0, "3": 2, "4": 0, "ungraded": 2}
    assert _row(report["city"]) == ("", 6, 2, 0.3333, city, 2)
    assert report["history"] == []


def test_compliance_history_after_tick(
    world: World, client: TestClient, state: AppState, mixed_register: None
) -> None:
    assert run_tick(state).snapshots == 3
    history = client.get("/api/v1/stats/compliance", headers=world.api.admin.headers).json()[
        "history"
    ]
    assert [(h["month"], h["district"], h["rate"], h["active_shelters"]) for h in history] == [
        ("2026-06", "", 0.3333, 6),
        *sorted([("2026-06", DISTRICT_A, 0.25, 4), ("2026-06", DISTRICT_B, 0.5, 2)]),
    ]
    assert run_tick(state).snapshots == 3  # refreshed, not duplicated
    again = client.get("/api/v1/stats/compliance", headers=world.api.admin.headers).json()
    assert len(again["history"]) == 3


def test_district_officer_sees_only_their_district(
    world: World, client: TestClient, state: AppState, mixed_register: None
) -> None:
    run_tick(state)
    report = client.get("/api/v1/stats/compliance", headers=world.officer_b.headers).json()
    assert [d["district"] for d in report["districts"]] == [DISTRICT_B]
    assert (report["city"]["active_shelters"], report["city"]["rate"]) == (2, 0.5)
    assert [(h["district"], h["rate"]) for h in report["history"]] == [(DISTRICT_B, 0.5)]
