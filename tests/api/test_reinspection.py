"""Re-inspection (复查): a later visit judges the shelter's open findings fixed, still open or
worse instead of recording the same defect twice; the class and the follow-ups follow."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection.models import AuditEntry, Finding, FindingVerdict, Inspection
from tests.api.conftest import CODE, PNG, World, at, class_changes, error_of

REVISIT_AT = "2026-06-01T09:45:00+08:00"  # a quarter of an hour after the first visit


def _first(world: World, *items: str) -> dict[str, Any]:
    """The first visit: one finding per item; the shelter's open findings by item."""
    world.api.inspect(world.inspector, CODE, *items)
    r = world.api.client.get(f"/api/v1/shelters/{CODE}", headers=world.inspector.headers)
    assert r.status_code == 200, r.text
    return {f["item"]: f for f in r.json()["open_findings"]}


def _revisit(
    world: World, verdicts: list[dict[str, Any]], *items: str, key: str | None = None
) -> Any:
    body = {
        "inspected_at": REVISIT_AT,
        "findings": [{"item": i} for i in items],
        "verdicts": verdicts,
    }
    headers = {**world.inspector.headers, **({"Idempotency-Key": key} if key else {})}
    return world.api.client.post(f"/api/v1/shelters/{CODE}/inspections", headers=headers, json=body)


def _audit(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


def test_the_checklist_read_lists_the_open_findings_to_judge(world: World) -> None:
    open_now = _first(world, "EQ-RUST", "DOOR-NOT-CLOSING")
    door = open_now["DOOR-NOT-CLOSING"]
    assert (door["title"], door["severity"]) == (
        "人防门（防护密闭门、密闭门）开闭不合、无法闭锁",
        "S2",
    )
    assert door["due_at"] == "2026-07-01T01:30:00Z"


def test_fixed_closes_the_finding_and_the_class_falls(world: World, db: Session) -> None:
    open_now = _first(world, "EQ-RUST", "DOOR-NOT-CLOSING")
    door, rust = open_now["DOOR-NOT-CLOSING"]["id"], open_now["EQ-RUST"]["id"]
    assert world.api.current_class(CODE) == 3
    r = _revisit(world, [{"finding": door, "verdict": "fixed", "note": "门已修复"}])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["graded_class"] == 1  # the rust, not judged, is not this visit's to grade
    assert body["verdicts"] == [
        {
            "finding_id": door,
            "item": "DOOR-NOT-CLOSING",
            "title": "人防门（防护密闭门、密闭门）开闭不合、无法闭锁",
            "verdict": "fixed",
            "note": "门已修复",
            "replacement_id": None,
        }
    ]
    assert body["findings"] == [] and body["followups"] == []
    assert world.api.current_class(CODE) == 2  # the rust, not judged, stays open
    db.rollback()
    finding = db.get(Finding, door)
    assert finding is not None
    assert (finding.status, finding.verified_by) == ("closed", world.inspector.id)
    assert rust in [f["id"] for f in _first_open(world)]
    verified = _audit(db, "finding.verified")
    assert [(e.entity_id, e.actor_id, (e.after or {})["by_inspection"]) for e in verified] == [
        (str(door), world.inspector.id, body["id"])
    ]
    assert class_changes(db)[-1] == (3, 2, "inspection")


def _first_open(world: World) -> list[dict[str, Any]]:
    r = world.api.client.get(f"/api/v1/shelters/{CODE}", headers=world.inspector.headers)
    items: list[dict[str, Any]] = r.json()["open_findings"]
    return items


def test_a_followup_closes_when_the_visit_finds_all_its_findings_fixed(
    world: World, db: Session
) -> None:
    open_now = _first(world, "EQ-RUST", "DOOR-NOT-CLOSING")
    (ledger,) = world.api.followups(status="open")["items"]
    verdicts = [{"finding": f["id"], "verdict": "fixed"} for f in open_now.values()]
    r = _revisit(world, verdicts)
    assert r.status_code == 201, r.text
    assert world.api.followups(status="open")["items"] == []
    (closed,) = world.api.followups(status="closed")["items"]
    assert (closed["number"], closed["closed_at"]) == (ledger["number"], "2026-06-01T02:00:00Z")
    assert world.api.current_class(CODE) == 1
    assert [e.entity_id for e in _audit(db, "followup.closed")] == [ledger["number"]]


def test_open_keeps_the_finding_without_a_second_one(world: World, db: Session) -> None:
    open_now = _first(world, "DOOR-NOT-CLOSING")
    door = open_now["DOOR-NOT-CLOSING"]
    r = _revisit(world, [{"finding": door["id"], "verdict": "open", "note": "仍无法闭锁"}])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["graded_class"] == 3 and body["findings"] == [] and body["followups"] == []
    assert [f["id"] for f in _first_open(world)] == [door["id"]]
    (ledger,) = world.api.followups(status="open")["items"]
    assert ledger["due_at"] == door["due_at"]  # the deadline does not move
    assert world.api.current_class(CODE) == 3
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Finding)) == 1
    (entry,) = _audit(db, "finding.confirmed_open")
    assert (entry.entity_id, (entry.after or {})["by_inspection"]) == (str(door["id"]), body["id"])


def test_worse_replaces_the_finding_with_a_heavier_one_and_the_class_rises(
    world: World, db: Session
) -> None:
    open_now = _first(world, "DOOR-NOT-CLOSING")
    door = open_now["DOOR-NOT-CLOSING"]["id"]
    (ledger,) = world.api.followups(status="open")["items"]
    r = _revisit(world, [{"finding": door, "verdict": "worse", "note": "门已无法关闭"}])
    assert r.status_code == 201, r.text
    body = r.json()
    (heavier,) = body["findings"]
    assert (heavier["item"], heavier["severity"], heavier["note"]) == (
        "DOOR-NOT-CLOSING",
        "S3",
        "门已无法关闭",
    )
    assert body["verdicts"][0]["replacement_id"] == heavier["id"]
    assert body["graded_class"] == 4 and world.api.current_class(CODE) == 4
    (supervision,) = body["followups"]
    assert supervision["kind"] == "key_supervision"
    assert at(supervision["issued_at"]) == at(REVISIT_AT)  # counted from the re-inspection
    assert at(supervision["containment_due_at"]) == at("2026-06-04T09:45:00+08:00")
    assert [f["id"] for f in _first_open(world)] == [heavier["id"]]
    closed = [f["number"] for f in world.api.followups(status="closed")["items"]]
    assert closed == [ledger["number"]]
    (entry,) = _audit(db, "finding.worsened")
    assert (entry.after or {})["replacement"] == heavier["id"]
    assert class_changes(db)[-1] == (3, 4, "inspection")


def test_worse_needs_a_heavier_severity(world: World) -> None:
    open_now = _first(world, "EQ-DESTROYED")
    destroyed = open_now["EQ-DESTROYED"]["id"]
    r = _revisit(world, [{"finding": destroyed, "verdict": "worse"}])
    assert error_of(r) == (422, "invalid_verdicts")


def test_a_new_finding_for_an_item_already_open_is_refused(world: World, db: Session) -> None:
    open_now = _first(world, "EQ-RUST")
    r = _revisit(world, [], "EQ-RUST", "SIGN-INCOMPLETE")
    assert error_of(r) == (422, "finding_already_open")
    assert r.json()["error"]["details"] == [
        {"index": 0, "item": "EQ-RUST", "open_finding": open_now["EQ-RUST"]["id"]}
    ]
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Inspection)) == 1


def test_a_verdict_names_an_open_finding_of_the_shelter(world: World) -> None:
    open_now = _first(world, "EQ-RUST")
    rust = open_now["EQ-RUST"]["id"]
    assert error_of(_revisit(world, [{"finding": rust + 1000, "verdict": "fixed"}])) == (
        422,
        "invalid_verdicts",
    )
    twice = [{"finding": rust, "verdict": "fixed"}, {"finding": rust, "verdict": "open"}]
    assert error_of(_revisit(world, twice)) == (422, "invalid_verdicts")


def test_the_visitor_who_reported_the_fix_cannot_confirm_it(world: World) -> None:
    open_now = _first(world, "EQ-RUST")
    rust = open_now["EQ-RUST"]["id"]
    api = world.api
    assert api.fix(api.admin, rust).status_code == 200
    body = {"inspected_at": REVISIT_AT, "verdicts": [{"finding": rust, "verdict": "fixed"}]}
    r = api.client.post(
        f"/api/v1/shelters/{CODE}/inspections", headers=api.admin.headers, json=body
    )
    assert error_of(r) == (403, "same_person")
    ok = _revisit(world, [{"finding": rust, "verdict": "fixed"}])
    assert ok.status_code == 201, ok.text
    assert api.current_class(CODE) == 1


def test_verdicts_are_applied_once_under_an_idempotency_key(world: World, db: Session) -> None:
    open_now = _first(world, "EQ-RUST", "DOOR-NOT-CLOSING")
    verdicts = [
        {"finding": open_now["EQ-RUST"]["id"], "verdict": "fixed"},
        {"finding": open_now["DOOR-NOT-CLOSING"]["id"], "verdict": "worse"},
    ]
    key = "b7c0d1e2-0000-4000-8000-000000000001"
    first = _revisit(world, verdicts, key=key)
    assert first.status_code == 201, first.text
    again = _revisit(world, verdicts, key=key)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(FindingVerdict)) == 2
    assert db.scalar(select(func.count()).select_from(Finding)) == 3
    assert len(_audit(db, "finding.verified")) == 1
    assert len(_audit(db, "finding.worsened")) == 1
    other = _revisit(world, verdicts[:1], key=key)
    assert error_of(other) == (409, "idempotency_mismatch")


def test_photos_of_a_judged_finding_attach_to_the_re_inspection(world: World) -> None:
    open_now = _first(world, "EQ-RUST", "SIGN-INCOMPLETE")
    rust, sign = open_now["EQ-RUST"]["id"], open_now["SIGN-INCOMPLETE"]["id"]
    revisit = _revisit(world, [{"finding": rust, "verdict": "fixed"}])
    assert revisit.status_code == 201, revisit.text

    def photo(finding_id: int) -> Any:
        return world.api.client.post(
            f"/api/v1/inspections/{revisit.json()['id']}/photos",
            headers=world.inspector.headers,
            files=[("files", ("rust.png", PNG, "image/png"))],
            data={"finding_id": str(finding_id)},
        )

    assert photo(rust).status_code == 201
    assert error_of(photo(sign)) == (422, "bad_finding")  # not judged by this visit
