"""Submitting inspections through the HTTP API: validation, the graded class and the follow-up
it starts, immutability and corrections, photos, and the outbox, audit and class history rows
a submission leaves behind."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.state import AppState
from inspection import drafts, followups
from inspection.access import SYSTEM
from inspection.models import AuditEntry, Finding, Role, Shelter
from tests.api.conftest import (
    CODE,
    DISTRICT_A,
    INSPECTED_AT,
    PNG,
    World,
    class_changes,
    error_of,
    notifications,
    recipients,
)
from tests.api.conftest import at as _at
from tests.conftest import FakeClock, Login, UserFactory
from tests.images import webp

# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "code", "details"),
    [
        pytest.param(
            {"findings": [{"item": "EQ-RUST"}, {"item": "NO-SUCH-ITEM"}]},
            "invalid_findings",
            [{"index": 1, "item": "NO-SUCH-ITEM", "error": "unknown catalogue item"}],
            id="unknown-item",
        ),
        pytest.param(
            {"findings": [{"item": "DOOR-NOT-CLOSING", "severity": "S1"}]},
            "invalid_findings",
            [
                {
                    "index": 0,
                    "item": "DOOR-NOT-CLOSING",
                    "error": "severity S1 is below the item's default S2",
                }
            ],
            id="severity-below-default",
        ),
        pytest.param({"inspected_at": "2026-06-01T09:30:00"}, "validation_error", None, id="naive"),
        pytest.param({"weather": "rain"}, "validation_error", None, id="unknown-field"),
        pytest.param(
            {"findings": [{"item": "EQ-RUST", "colour": "red"}]},
            "validation_error",
            None,
            id="unknown-finding-field",
        ),
        pytest.param(
            {"findings": [{"item": "EQ-RUST", "severity": "S4"}]},
            "validation_error",
            None,
            id="no-such-severity",
        ),
        pytest.param(
            {"inspected_at": "2026-06-01T03:00:00+00:00"}, "future_time", None, id="future"
        ),
    ],
)
def test_invalid_submission_is_refused_and_stores_nothing(
    world: World, client: TestClient, body: dict[str, Any], code: str, details: Any
) -> None:
    payload = {"inspected_at": INSPECTED_AT, "findings": [], **body}
    r = client.post(
        f"/api/v1/shelters/{CODE}/inspections", headers=world.inspector.headers, json=payload
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code
    if details is not None:
        assert error["details"] == details
    listed = client.get(f"/api/v1/shelters/{CODE}/inspections", headers=world.inspector.headers)
    assert listed.json()["total"] == 0
    assert world.api.current_class(CODE) is None


def test_naive_time_error_names_the_field(world: World, client: TestClient) -> None:
    r = world.api.submit(world.inspector, CODE, inspected_at="2026-06-01T09:30:00")
    [detail] = r.json()["error"]["details"]
    assert detail["loc"] == ["body", "inspected_at"]


def test_clock_skew_of_a_few_minutes_is_accepted(world: World, clock: FakeClock) -> None:
    soon = (clock.now + timedelta(minutes=4)).isoformat()
    body = world.api.inspect(world.inspector, CODE, inspected_at=soon)
    assert _at(body["inspected_at"]) == clock.now + timedelta(minutes=4)


def test_a_visit_before_the_records_start_is_refused(world: World, state: AppState) -> None:
    """The first day of the records (SHELTERWATCH_RECORDS_START, 2000-01-01 by default) is
    midnight in the city's zone; a visit before it is refused even with a reason."""
    late = {"late_reason": "录入旧档案"}
    before = world.api.submit(
        world.inspector, CODE, inspected_at="1999-12-31T23:59:59+08:00", **late
    )
    assert error_of(before) == (422, "before_records_start")
    assert "2000-01-01T00:00:00+08:00" in before.json()["error"]["message"]
    first = world.api.submit(world.inspector, CODE, inspected_at="1999-12-31T16:00:00Z", **late)
    assert first.status_code == 201, first.text
    state.settings.records_start = date(2026, 5, 1)
    r = world.api.submit(world.inspector, CODE, inspected_at="2026-04-30T23:00:00+08:00", **late)
    assert error_of(r) == (422, "before_records_start")


# ---------------------------------------------------------------- grading and follow-up


@pytest.mark.parametrize(
    ("items", "graded"),
    [
        pytest.param([], 1, id="nothing-found"),
        pytest.param([{"item": "EQ-RUST", "fixed_on_spot": True}], 1, id="S1-fixed-on-spot"),
        pytest.param(["EQ-RUST", "CIVIL-DEBRIS"], 2, id="S1"),
        pytest.param([{"item": "EQ-RUST", "severity": "S2"}], 3, id="S1-raised-to-S2"),
        pytest.param([{"item": "DOOR-NOT-CLOSING", "fixed_on_spot": True}], 3, id="S2-stays-open"),
        pytest.param(["EQ-RUST", "STRUCT-CRACK"], 4, id="S3"),
    ],
)
def test_graded_class_is_the_shelters_class(
    world: World, items: list[str | dict[str, Any]], graded: int
) -> None:
    body = world.api.inspect(world.inspector, CODE, *items)
    assert body["graded_class"] == graded
    assert body["catalogue_version"] == "2026.1"
    assert body["inspector"] == world.inspector.username
    assert world.api.current_class(CODE) == graded


def test_class1_starts_no_followup(world: World) -> None:
    body = world.api.inspect(world.inspector, CODE, {"item": "EQ-RUST", "fixed_on_spot": True})
    assert body["followups"] == []
    assert [(f["status"], f["fixed_on_spot"]) for f in body["findings"]] == [("closed", True)]
    assert world.api.followups()["total"] == 0


def test_class2_issues_a_numbered_notice_due_in_15_days(world: World) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST", "SIGN-INCOMPLETE")
    [notice] = body["followups"]
    assert notice["kind"] == "notice"
    assert notice["number"] == "ZG2026-0001"
    assert notice["class_level"] == 2
    assert notice["status"] == "open"
    visit = _at(INSPECTED_AT)  # served on the spot: dated at the visit, not at receipt
    assert _at(notice["issued_at"]) == visit
    assert _at(notice["due_at"]) == visit + timedelta(days=15)
    assert notice["checkpoint_at"] is None
    assert notice["tracker"] is None
    assert notice["finding_ids"] == [f["id"] for f in body["findings"]]
    assert {_at(f["due_at"]) for f in body["findings"]} == {visit + timedelta(days=15)}


@pytest.mark.parametrize("named_tracker", [False, True])
def test_class3_ledger_with_tracker(world: World, named_tracker: bool) -> None:
    extra = {"tracker": world.officer.username} if named_tracker else {}
    body = world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING", "EQ-RUST", **extra)
    [ledger] = body["followups"]
    assert ledger["kind"] == "ledger"
    assert ledger["number"] == "TZ2026-0001"
    assert ledger["class_level"] == 3
    expected = world.officer if named_tracker else world.inspector
    assert ledger["tracker"] == expected.username
    assert _at(ledger["due_at"]) == _at(INSPECTED_AT) + timedelta(days=30)
    assert _at(ledger["checkpoint_at"]) == _at(INSPECTED_AT) + timedelta(days=15)
    assert len(ledger["finding_ids"]) == 2


def test_tracker_must_be_able_to_track(world: World) -> None:
    r = world.api.submit(world.inspector, CODE, "DOOR-NOT-CLOSING", tracker=world.manager.username)
    assert error_of(r) == (422, "bad_tracker")


def test_class4_key_supervision_deadlines(world: World) -> None:
    body = world.api.inspect(world.inspector, CODE, "STRUCT-CRACK")
    [key] = body["followups"]
    assert key["kind"] == "key_supervision"
    assert key["number"] == "DB2026-0001"
    visit = _at(INSPECTED_AT)
    assert _at(key["containment_due_at"]) == visit + timedelta(hours=72)
    assert _at(key["plan_due_at"]) == visit + timedelta(days=7)
    assert _at(key["due_at"]) == visit + timedelta(days=90)


def test_class4_drafts_one_referral_per_illegal_act(world: World) -> None:
    body = world.api.inspect(world.inspector, CODE, "OCCUPATION", "STRUCT-CRACK", "HAZMAT-STORED")
    ids = {f["item"]: f["id"] for f in body["findings"]}
    assert [f["illegal_act"] for f in body["findings"]] == [True, False, True]
    kinds = [f["kind"] for f in body["followups"]]
    assert kinds == ["key_supervision", "referral", "referral"]
    referrals = body["followups"][1:]
    assert [r["finding_ids"] for r in referrals] == [[ids["OCCUPATION"]], [ids["HAZMAT-STORED"]]]
    assert [r["number"] for r in referrals] == ["YJ2026-0001", "YJ2026-0002"]
    assert world.api.followups(kind="referral")["total"] == 2


# ---------------------------------------------------------------- immutability and correction


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_inspection_is_immutable(world: World, client: TestClient, method: str) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    r = client.request(
        method,
        f"/api/v1/inspections/{body['id']}",
        headers=world.api.admin.headers,
        json={"graded_class": 1},
    )
    assert error_of(r) == (405, "method_not_allowed")
    again = client.get(f"/api/v1/inspections/{body['id']}", headers=world.api.admin.headers)
    assert again.json()["graded_class"] == 2


def test_correction_supersedes_the_earlier_findings(
    world: World, client: TestClient, db: Session
) -> None:
    first = world.api.inspect(world.inspector, CODE, "STRUCT-CRACK", "DOOR-NOT-CLOSING")
    second = world.api.inspect(
        world.inspector, CODE, "EQ-RUST", corrects=first["id"], correction_reason="误记"
    )
    assert second["corrects"] == first["id"]
    assert second["graded_class"] == 2
    assert world.api.current_class(CODE) == 4  # it takes findings away: an officer approves
    r = client.post(f"/api/v1/inspections/{second['id']}/approve", headers=world.officer.headers)
    assert r.status_code == 200, r.text
    assert world.api.current_class(CODE) == 2

    old = client.get(f"/api/v1/inspections/{first['id']}", headers=world.api.admin.headers).json()
    assert old["graded_class"] == 4  # the signed record itself is unchanged
    assert [f["status"] for f in old["findings"]] == ["closed", "closed"]
    assert [f["status"] for f in old["followups"]] == ["closed"]
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert [f["item"] for f in detail["open_findings"]] == ["EQ-RUST"]
    assert class_changes(db) == [(None, 4, "inspection"), (4, 2, "correction")]


def test_correction_of_another_shelters_inspection_is_refused(world: World) -> None:
    world.api.shelter("SH-002", manager=world.manager)
    other = world.api.inspect(world.inspector, "SH-002", "EQ-RUST")
    r = world.api.submit(world.inspector, CODE, corrects=other["id"])
    assert error_of(r) == (422, "bad_correction")
    assert world.api.current_class(CODE) is None


# ---------------------------------------------------------------- photos


def _photos(client: TestClient, who: Login, inspection_id: int, *files: Any, **data: Any) -> Any:
    return client.post(
        f"/api/v1/inspections/{inspection_id}/photos",
        headers=who.headers,
        files=[("files", f) for f in files],
        data=data,
    )


def test_photos_attach_to_the_inspection(world: World, client: TestClient) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    finding_id = body["findings"][0]["id"]
    r = _photos(
        client,
        world.inspector,
        body["id"],
        ("a.png", PNG, "image/png"),
        ("b.webp", webp(), "image/webp"),
        ("again.png", PNG, "image/png"),  # the same bytes: the same attachment
        finding_id=str(finding_id),
    )
    assert r.status_code == 201, r.text
    rows = r.json()
    assert [
        (p["filename"], p["content_type"], p["width"], p["purpose"], p["finding_id"]) for p in rows
    ] == [
        ("a.png", "image/png", 40, "inspection", finding_id),
        ("b.webp", "image/webp", 40, "inspection", finding_id),
        ("a.png", "image/png", 40, "inspection", finding_id),
    ]
    assert rows[2]["id"] == rows[0]["id"]
    assert [p["url"] for p in rows[:2]] == [f"/api/v1/attachments/{p['id']}" for p in rows[:2]]
    read = client.get(f"/api/v1/inspections/{body['id']}", headers=world.manager.headers).json()
    assert [p["id"] for p in read["photos"]] == [p["id"] for p in rows[:2]]
    assert [p["id"] for p in read["findings"][0]["attachments"]] == [p["id"] for p in rows[:2]]


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        pytest.param(("x.png", b"just some text", "image/png"), 422, "unsupported_file", id="fake"),
        pytest.param(("x.txt", b"text", "text/plain"), 422, "unsupported_file", id="text"),
        pytest.param(("x.png", b"", "image/png"), 422, "empty_file", id="empty"),
        pytest.param(("x.png", PNG + b"\x00" * 1024, "image/png"), 413, "file_too_large", id="big"),
    ],
)
def test_bad_photos_are_refused(
    world: World,
    client: TestClient,
    small_uploads: int,
    upload: tuple[str, bytes, str],
    status: int,
    code: str,
) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    r = _photos(client, world.inspector, body["id"], upload)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    read = client.get(f"/api/v1/inspections/{body['id']}", headers=world.inspector.headers)
    assert read.json()["photos"] == []


def test_photo_request_without_a_file(world: World, client: TestClient) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    r = _photos(client, world.inspector, body["id"])
    assert error_of(r) == (422, "no_file")


def test_photo_for_a_finding_of_another_inspection(world: World, client: TestClient) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    second = world.api.inspect(world.inspector, CODE, "CIVIL-DEBRIS")
    other_finding = first["findings"][0]["id"]
    r = _photos(
        client, world.inspector, second["id"], ("a.png", PNG, "image/png"), finding_id=other_finding
    )
    assert error_of(r) == (422, "bad_finding")


def test_only_the_inspector_attaches_photos(
    world: World, client: TestClient, make_user: UserFactory
) -> None:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    colleague = make_user(Role.INSPECTOR, district=DISTRICT_A)
    for who in (colleague, world.officer, world.manager):
        r = _photos(client, who, body["id"], ("a.png", PNG, "image/png"))
        assert error_of(r) == (403, "role_forbidden"), who.username
    r = _photos(client, world.api.admin, body["id"], ("a.png", PNG, "image/png"))
    assert r.status_code == 201


# ---------------------------------------------------------------- outbox, audit, history


def test_class2_notice_goes_to_the_manager(world: World, db: Session) -> None:
    world.api.inspect(world.inspector, CODE, "EQ-RUST")
    [row] = notifications(db)
    assert (row.kind, row.recipient_id, row.status) == (
        "notice_issued",
        world.manager.id,
        "pending",
    )
    assert row.subject.startswith("整改通知书 ZG2026-")
    assert row.payload["shelter"] == CODE


def test_class4_notice_goes_to_manager_district_and_city(
    world: World, db: Session, make_user: UserFactory
) -> None:
    second_officer = make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A)
    second_admin = make_user(Role.ADMIN)
    world.api.inspect(world.inspector, CODE, "STRUCT-CRACK", "OCCUPATION", "HAZMAT-STORED")
    admins = sorted([world.api.admin.id, second_admin.id])
    assert recipients(db, "key_supervision_issued") == sorted(
        [world.manager.id, world.officer.id, second_officer.id, *admins]
    )
    # one draft referral per illegal act, each to the city office
    assert recipients(db, "referral_drafted") == sorted(admins * 2)
    assert len(notifications(db)) == 5 + 4


def test_class3_ledger_goes_to_the_manager(world: World, db: Session) -> None:
    world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING", tracker=world.officer.username)
    assert recipients(db, "ledger_issued") == sorted([world.manager.id, world.officer.id])


def test_submission_is_audited(world: World, db: Session) -> None:
    body = world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING", "EQ-RUST")
    db.rollback()
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    submit = [e for e in entries if e.action == "inspection.submit"]
    assert [(e.entity, e.entity_id, e.actor, e.actor_id) for e in submit] == [
        ("inspection", str(body["id"]), world.inspector.username, world.inspector.id)
    ]
    assert submit[0].after is not None
    assert submit[0].after["findings"] == ["DOOR-NOT-CLOSING", "EQ-RUST"]
    assert submit[0].after["graded_class"] == 3
    change = [e for e in entries if e.action == "shelter.class.inspection"]
    assert [(e.entity, e.entity_id, e.after) for e in change] == [
        ("shelter", CODE, {"current_class": 3, "ref": f"inspection:{body['id']}"})
    ]
    assert change[0].before is not None
    assert change[0].before["current_class"] is None
    created = [e.entity_id for e in entries if e.action == "followup.create"]
    assert created == [body["followups"][0]["number"]]


def test_class_history_records_each_change_with_reason_inspection(
    world: World, db: Session
) -> None:
    world.api.inspect(world.inspector, CODE, "EQ-RUST")
    world.api.inspect(world.inspector, CODE, "STRUCT-CRACK")
    world.api.inspect(world.inspector, CODE)  # class 1, but earlier findings are still open
    assert class_changes(db) == [(None, 2, "inspection"), (2, 4, "inspection")]
    assert world.api.current_class(CODE) == 4


# ---------------------------------------------------------------- drafts from monitoring


def _draft(db: Session, now: datetime, item: str = "HUMIDITY-UNCONTROLLED") -> int:
    shelter = db.scalars(select(Shelter).where(Shelter.code == CODE)).one()
    draft = drafts.propose(db, shelter, item, "humidity above 75 % for 24 h", now=now)
    assert draft is not None
    db.commit()
    return draft.id


def test_a_monitoring_draft_is_shown_apart_and_does_not_grade(
    world: World, client: TestClient, db: Session, clock: FakeClock
) -> None:
    draft_id = _draft(db, clock.now)
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert detail["open_findings"] == []
    [draft] = detail["draft_findings"]
    assert (draft["id"], draft["item"], draft["draft"], draft["status"]) == (
        draft_id,
        "HUMIDITY-UNCONTROLLED",
        True,
        "open",
    )
    assert world.api.current_class(CODE) is None


@pytest.mark.parametrize(("recorded", "outcome"), [(True, "confirmed"), (False, "dismissed")])
def test_the_next_inspection_confirms_or_dismisses_the_draft(
    world: World,
    client: TestClient,
    db: Session,
    clock: FakeClock,
    recorded: bool,
    outcome: str,
) -> None:
    draft_id = _draft(db, _at(INSPECTED_AT) - timedelta(days=1))  # proposed before the visit
    other = _other_shelters_draft(world, db)
    items = ["HUMIDITY-UNCONTROLLED"] if recorded else ["EQ-RUST"]
    inspection = world.api.inspect(world.inspector, CODE, *items)
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert detail["draft_findings"] == []
    assert [f["item"] for f in detail["open_findings"]] == items  # the inspection's own
    db.expire_all()
    entries = db.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "finding", AuditEntry.entity_id == str(draft_id)
        )
    ).all()
    assert [e.action for e in entries] == ["finding.draft", f"finding.draft_{outcome}"]
    assert entries[-1].after is not None
    assert entries[-1].after["fix_note"] == f"{outcome} by inspection {inspection['id']}"
    # another shelter's draft is not this inspection's to settle
    assert db.get(Finding, other) is not None
    assert db.get(Finding, other).status == "open"  # type: ignore[union-attr]
    # the item can be drafted again only once the inspection's finding is closed
    shelter = db.scalars(select(Shelter).where(Shelter.code == CODE)).one()
    again = drafts.propose(db, shelter, "HUMIDITY-UNCONTROLLED", "again", now=clock.now)
    assert (again is None) == recorded


def _other_shelters_draft(world: World, db: Session) -> int:
    world.api.shelter("SH-009", manager=world.manager)
    shelter = db.scalars(select(Shelter).where(Shelter.code == "SH-009")).one()
    draft = drafts.propose(db, shelter, "HUMIDITY-UNCONTROLLED", "damp", now=_at(INSPECTED_AT))
    assert draft is not None
    db.commit()
    return draft.id


def test_an_inspection_entered_late_or_a_correction_leaves_newer_drafts(
    world: World, client: TestClient, db: Session, clock: FakeClock
) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    draft_id = _draft(db, _at(INSPECTED_AT) + timedelta(days=2))  # after that visit
    world.api.inspect(world.inspector, CODE, "EQ-RUST", corrects=first["id"])
    world.api.inspect(world.inspector, CODE)  # another report of the same, earlier visit
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert [d["id"] for d in detail["draft_findings"]] == [draft_id]


def test_drafts_do_not_count_toward_the_class(world: World, db: Session, clock: FakeClock) -> None:
    world.api.inspect(world.inspector, CODE, "EQ-RUST")
    assert world.api.current_class(CODE) == 2
    shelter = db.scalars(select(Shelter).where(Shelter.code == CODE)).one()
    assert drafts.propose(db, shelter, "STRUCT-CRACK", "a severe draft", now=clock.now)
    followups.recompute_class(db, shelter, reason="test", ref="draft", actor=SYSTEM, now=clock.now)
    db.commit()
    assert world.api.current_class(CODE) == 2
