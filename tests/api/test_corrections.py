"""Corrections of submitted inspections through the HTTP API: who may correct, a correction
that removes or lowers findings held until an officer other than its author approves it, the
findings, follow-ups and class kept meanwhile, rejection, the list of pending corrections and
the audit trail of each decision."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.db import unit_of_work
from api.state import AppState
from inspection import corrections
from inspection.access import Actor
from inspection.errors import Conflict
from inspection.models import AuditEntry, Finding, Role
from tests.api.conftest import (
    CODE,
    DISTRICT_A,
    World,
    class_changes,
    error_of,
    recipients,
)
from tests.api.conftest import at as _at
from tests.conftest import FakeClock, Login, UserFactory
from tests.waiting import wait_until

REASON = "复核照片：门扇开闭正常，系误判"


def _correct(world: World, who: Login, corrects: int, *items: Any, **extra: Any) -> Any:
    return world.api.submit(who, CODE, *items, corrects=corrects, **extra)


def _decide(client: TestClient, who: Login, inspection_id: int, verb: str, note: str = "") -> Any:
    return client.post(
        f"/api/v1/inspections/{inspection_id}/{verb}", headers=who.headers, json={"note": note}
    )


def _inspection(client: TestClient, who: Login, inspection_id: int) -> dict[str, Any]:
    r = client.get(f"/api/v1/inspections/{inspection_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _class3(world: World) -> dict[str, Any]:
    """The shelter at class 3 with a ledger entry: the situation of the reported attack."""
    first = world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING", "EQ-RUST")
    assert world.api.current_class(CODE) == 3
    return first


def _unchanged(world: World, client: TestClient, first: dict[str, Any]) -> None:
    """The corrected inspection still in force: its findings and ledger open, class 3."""
    assert world.api.current_class(CODE) == 3
    old = _inspection(client, world.api.admin, first["id"])
    assert [f["status"] for f in old["findings"]] == ["open", "open"]
    assert [(f["kind"], f["status"]) for f in old["followups"]] == [("ledger", "open")]
    detail = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    assert sorted(f["item"] for f in detail["open_findings"]) == ["DOOR-NOT-CLOSING", "EQ-RUST"]


@pytest.fixture
def other_inspector(make_user: UserFactory) -> Login:
    return make_user(Role.INSPECTOR, district=DISTRICT_A)


@pytest.fixture
def officer2(make_user: UserFactory) -> Login:
    return make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A)


# ---------------------------------------------------------------- who may correct


def test_another_inspector_cannot_wipe_the_findings(
    world: World, client: TestClient, other_inspector: Login
) -> None:
    first = _class3(world)
    r = _correct(world, other_inspector, first["id"])  # {"corrects": id, "findings": []}
    assert error_of(r) == (403, "not_your_inspection")
    r = _correct(world, other_inspector, first["id"], correction_reason=REASON)
    assert error_of(r) == (403, "not_your_inspection")
    _unchanged(world, client, first)
    listed = client.get(f"/api/v1/shelters/{CODE}/inspections", headers=world.api.admin.headers)
    assert listed.json()["total"] == 1


def test_officer_of_the_district_may_correct_one_of_another_district_may_not(
    world: World, client: TestClient
) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    r = _correct(world, world.officer_b, first["id"], "EQ-RUST", "DOOR-NOT-CLOSING")
    assert error_of(r) == (404, "shelter_not_found")
    r = _correct(world, world.officer, first["id"], "EQ-RUST", "DOOR-NOT-CLOSING")
    assert r.status_code == 201, r.text
    assert r.json()["inspector"] == world.officer.username
    assert r.json()["correction"]["status"] == "applied"
    assert world.api.current_class(CODE) == 3


def test_officers_still_do_not_submit_ordinary_inspections(world: World) -> None:
    assert error_of(world.api.submit(world.officer, CODE, "EQ-RUST")) == (403, "role_forbidden")


# ---------------------------------------------------------------- held until approved


def test_a_correction_that_removes_findings_needs_a_reason(
    world: World, client: TestClient
) -> None:
    first = _class3(world)
    r = _correct(world, world.inspector, first["id"])
    assert error_of(r) == (422, "reason_required")
    assert r.json()["error"]["details"] == [
        {"finding_id": first["findings"][0]["id"], "item": "DOOR-NOT-CLOSING",
         "before": "S2", "after": None},
        {"finding_id": first["findings"][1]["id"], "item": "EQ-RUST",
         "before": "S1", "after": None},
    ]  # fmt: skip
    _unchanged(world, client, first)


def test_removal_waits_for_another_officers_approval(
    world: World, client: TestClient, db: Session, clock: FakeClock, officer2: Login
) -> None:
    first = _class3(world)
    r = _correct(world, world.officer, first["id"], "EQ-RUST", correction_reason=REASON)
    assert r.status_code == 201, r.text
    pending = r.json()
    correction = pending["correction"]
    assert correction["status"] == "pending"
    assert correction["reason"] == REASON
    assert correction["corrects"] == first["id"]
    assert correction["changes"] == [
        {
            "finding_id": first["findings"][0]["id"],
            "item": "DOOR-NOT-CLOSING",
            "title": "人防门（防护密闭门、密闭门）开闭不合、无法闭锁",
            "before": "S2",
            "after": None,
        }
    ]
    assert [(f["item"], f["severity"]) for f in correction["proposed_findings"]] == [
        ("EQ-RUST", "S1")
    ]
    assert pending["graded_class"] == 2
    assert pending["findings"] == [] and pending["followups"] == []
    _unchanged(world, client, first)
    # the officers of the district are told; the author is not asked to approve their own
    assert recipients(db, "correction_pending") == [officer2.id]

    # neither the author, nor an inspector, nor another district's officer approves
    assert error_of(_decide(client, world.officer, pending["id"], "approve")) == (
        403,
        "same_person",
    )
    assert error_of(_decide(client, world.inspector, pending["id"], "approve")) == (
        403,
        "role_forbidden",
    )
    assert error_of(_decide(client, world.officer_b, pending["id"], "approve")) == (
        404,
        "inspection_not_found",
    )
    _unchanged(world, client, first)

    clock.advance(hours=2)
    r = _decide(client, officer2, pending["id"], "approve", "照片核实")
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["correction"]["status"] == "approved"
    assert approved["correction"]["decided_by"] == officer2.username
    assert approved["correction"]["decided_by_name"] == officer2.username
    assert _at(approved["correction"]["decided_at"]) == clock.now
    assert approved["correction"]["decision_note"] == "照片核实"
    assert [(f["item"], f["status"]) for f in approved["findings"]] == [("EQ-RUST", "open")]
    assert [f["kind"] for f in approved["followups"]] == ["notice"]

    assert world.api.current_class(CODE) == 2
    old = _inspection(client, world.api.admin, first["id"])
    assert [f["status"] for f in old["findings"]] == ["closed", "closed"]
    assert [f["status"] for f in old["followups"]] == ["closed"]
    assert class_changes(db) == [(None, 3, "inspection"), (3, 2, "correction")]
    assert error_of(_decide(client, world.api.admin, pending["id"], "approve")) == (
        409,
        "bad_state",
    )
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "correction.approved")).one()
    assert (entry.actor, entry.at, entry.entity_id) == (
        officer2.username,
        clock.now,
        str(pending["id"]),
    )
    assert recipients(db, "correction_decided") == [world.officer.id]


def test_lowering_a_severity_needs_approval(
    world: World, client: TestClient, officer2: Login
) -> None:
    first = world.api.inspect(world.inspector, CODE, {"item": "DOOR-NOT-CLOSING", "severity": "S3"})
    assert world.api.current_class(CODE) == 4
    r = _correct(world, world.inspector, first["id"], "DOOR-NOT-CLOSING")
    assert error_of(r) == (422, "reason_required")
    r = _correct(world, world.inspector, first["id"], "DOOR-NOT-CLOSING", correction_reason=REASON)
    assert r.status_code == 201, r.text
    changes = r.json()["correction"]["changes"]
    assert [(c["item"], c["before"], c["after"]) for c in changes] == [
        ("DOOR-NOT-CLOSING", "S3", "S2")
    ]
    assert world.api.current_class(CODE) == 4
    assert _decide(client, world.officer, r.json()["id"], "approve").status_code == 200
    assert world.api.current_class(CODE) == 3


def test_fixed_on_the_spot_in_a_correction_counts_as_removing(world: World) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    r = _correct(world, world.inspector, first["id"], {"item": "EQ-RUST", "fixed_on_spot": True})
    assert error_of(r) == (422, "reason_required")
    assert world.api.current_class(CODE) == 2


def test_rejected_correction_leaves_everything_in_force(
    world: World, client: TestClient, db: Session, clock: FakeClock
) -> None:
    first = _class3(world)
    pending = _correct(world, world.inspector, first["id"], correction_reason=REASON).json()
    assert error_of(_decide(client, world.officer, pending["id"], "reject")) == (
        422,
        "note_required",
    )
    r = _decide(client, world.officer, pending["id"], "reject", "门仍无法闭锁，见现场照片")
    assert r.status_code == 200, r.text
    assert r.json()["correction"]["status"] == "rejected"
    assert r.json()["correction"]["decided_by"] == world.officer.username
    assert r.json()["findings"] == []
    _unchanged(world, client, first)
    assert class_changes(db) == [(None, 3, "inspection")]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "correction.rejected")).one()
    assert (entry.actor, entry.at) == (world.officer.username, clock.now)
    assert entry.after is not None and entry.after["decision_note"] == "门仍无法闭锁，见现场照片"
    assert error_of(_decide(client, world.officer, pending["id"], "approve")) == (409, "bad_state")
    # the inspection may be corrected again once the first correction is decided
    again = _correct(world, world.inspector, first["id"], correction_reason=REASON)
    assert again.status_code == 201, again.text


def test_one_correction_at_a_time(world: World, client: TestClient) -> None:
    first = _class3(world)
    pending = _correct(world, world.inspector, first["id"], correction_reason=REASON).json()
    r = _correct(world, world.inspector, first["id"], "DOOR-NOT-CLOSING", "EQ-RUST", "VENT-FAULT")
    assert error_of(r) == (409, "correction_pending")
    r = _correct(world, world.inspector, pending["id"], "EQ-RUST", correction_reason=REASON)
    assert error_of(r) == (409, "correction_not_in_effect")
    _unchanged(world, client, first)


def test_an_inspection_corrected_once_is_corrected_through_its_correction(
    world: World,
) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    second = world.api.inspect(
        world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING", corrects=first["id"]
    )
    r = _correct(world, world.inspector, first["id"], "EQ-RUST", "VENT-FAULT")
    assert error_of(r) == (409, "already_corrected")
    third = world.api.inspect(
        world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING", "VENT-FAULT", corrects=second["id"]
    )
    assert third["correction"]["status"] == "applied"
    assert world.api.current_class(CODE) == 3


# ---------------------------------------------------------------- at once


def test_a_correction_that_only_adds_or_raises_takes_effect_at_once(
    world: World, client: TestClient, db: Session
) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST")
    body = world.api.inspect(
        world.inspector,
        CODE,
        {"item": "EQ-RUST", "severity": "S2"},
        "DOOR-NOT-CLOSING",
        corrects=first["id"],
    )
    assert body["correction"]["status"] == "applied"
    assert body["correction"]["changes"] == []
    assert [f["status"] for f in body["findings"]] == ["open", "open"]
    assert world.api.current_class(CODE) == 3
    old = _inspection(client, world.api.admin, first["id"])
    assert [f["status"] for f in old["findings"]] == ["closed"]
    assert class_changes(db) == [(None, 2, "inspection"), (2, 3, "inspection")]


def test_findings_closed_since_are_not_in_force(world: World, client: TestClient) -> None:
    first = world.api.inspect(world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING")
    rust = first["findings"][0]["id"]
    assert world.api.fix(world.manager, rust).status_code == 200
    assert world.api.verify(world.officer, rust).status_code == 200
    # the verified finding need not be restated; the open one must
    body = world.api.inspect(
        world.inspector, CODE, "DOOR-NOT-CLOSING", "VENT-FAULT", corrects=first["id"]
    )
    assert body["correction"]["status"] == "applied"
    assert world.api.current_class(CODE) == 3


# ---------------------------------------------------------------- the list for officers


def test_pending_corrections_are_listed_in_scope(
    world: World, client: TestClient, make_user: UserFactory
) -> None:
    first = _class3(world)
    pending = _correct(world, world.inspector, first["id"], correction_reason=REASON).json()
    world.api.shelter("SH-B", "静安区")
    other = world.api.inspect(world.api.admin, "SH-B", "EQ-RUST")
    world.api.inspect(world.api.admin, "SH-B", "EQ-RUST", "VENT-FAULT", corrects=other["id"])

    def listed(who: Login, **params: str) -> list[tuple[int, str]]:
        r = client.get("/api/v1/corrections", headers=who.headers, params=params)
        assert r.status_code == 200, r.text
        return [(c["inspection_id"], c["status"]) for c in r.json()["items"]]

    assert listed(world.officer, status="pending") == [(pending["id"], "pending")]
    assert listed(world.officer_b, status="pending") == []
    assert [s for _, s in listed(world.officer_b)] == ["applied"]
    assert listed(world.api.admin, status="pending") == [(pending["id"], "pending")]
    assert len(listed(world.api.admin)) == 2
    [item] = client.get(
        "/api/v1/corrections", headers=world.officer.headers, params={"status": "pending"}
    ).json()["items"]
    assert (item["shelter_code"], item["author"], item["author_name"], item["reason"]) == (
        CODE,
        world.inspector.username,
        world.inspector.username,  # no real name on the account: its username
        REASON,
    )
    shelter = client.get(f"/api/v1/shelters/{CODE}", headers=world.officer.headers).json()
    assert item["shelter_name"] == shelter["name"]
    assert [(c["item"], c["title"], c["before"], c["after"]) for c in item["changes"]] == [
        ("DOOR-NOT-CLOSING", "人防门（防护密闭门、密闭门）开闭不合、无法闭锁", "S2", None),
        ("EQ-RUST", "防护设备锈蚀、油漆脱落", "S1", None),
    ]
    assert error_of(client.get("/api/v1/corrections", headers=world.manager.headers)) == (
        403,
        "role_forbidden",
    )
    bad = client.get("/api/v1/corrections", headers=world.officer.headers, params={"status": "x"})
    assert bad.status_code == 422


@pytest.mark.postgres
def test_two_officers_approving_at_once_apply_it_once(
    world: World, state: AppState, db_url: str, engine: Engine, officer2: Login
) -> None:
    """The second approval waits on the first's claim of the correction, then finds it
    decided (PostgreSQL: SQLite lets one writer in at a time, so it cannot race)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a race needs concurrent writers")
    first = _class3(world)
    pending = _correct(world, world.inspector, first["id"], "EQ-RUST", correction_reason=REASON)
    pending = pending.json()
    one, two = (
        Actor(id=who.id, username=who.username, role=who.role, district=DISTRICT_A)
        for who in (world.officer, officer2)
    )
    now = state.clock()
    held = state.sessions()
    corrections.approve(
        held, pending["id"], "", actor=one, now=now, policy=state.policy, tz=state.settings.timezone
    )
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            with unit_of_work(state.sessions) as session:
                corrections.approve(
                    session,
                    pending["id"],
                    "",
                    actor=two,
                    now=now,
                    policy=state.policy,
                    tz=state.settings.timezone,
                )
        except Conflict as exc:
            outcome["code"] = exc.code

    racer = threading.Thread(target=second)
    racer.start()

    def waiting_on_a_lock() -> bool:
        with engine.connect() as conn:
            return bool(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                )
            )

    wait_until(waiting_on_a_lock, 60, "the second approval to wait on the first")
    held.commit()
    held.close()
    racer.join(timeout=60)
    assert outcome == {"code": "bad_state"}
    with Session(engine) as session:
        count = select(func.count()).select_from(Finding)
        assert session.scalar(count.where(Finding.inspection_id == pending["id"])) == 1
        assert session.scalar(count.where(Finding.status == "open")) == 1
