"""Referral outcomes through the HTTP API: fines within the city's range per party type, an
outcome never overwritten once the referral is closed, corrections kept in the outcome history
and audited, and the figures counting the outcome in force; the migration that turns outcomes
recorded before it into the first record of each history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.state import AppState
from inspection.grading import FinePolicy, FineRange, FollowupPolicy
from inspection.models import AuditEntry
from tests.api.conftest import DISTRICT_B, World, error_of
from tests.conftest import FakeClock, at_revision, migrate


@pytest.fixture
def referral(world: World) -> int:
    """A referral of an occupation found in district B."""
    world.api.shelter("SH-B01", DISTRICT_B)
    body = world.api.inspect(world.api.admin, "SH-B01", "OCCUPATION")
    return next(f["id"] for f in body["followups"] if f["kind"] == "referral")


def _outcome(world: World, referral: int, body: dict[str, Any], path: str = "") -> Any:
    return world.api.client.post(
        f"/api/v1/followups/{referral}/outcome{path}",
        headers=world.officer_b.headers,
        json=body,
    )


@pytest.mark.parametrize(
    ("party", "fine", "expected"),
    [
        ("unit", 10_000, 200),
        ("unit", 50_000, 200),
        ("unit", 9_999, "fine_out_of_range"),
        ("unit", 50_001, "fine_out_of_range"),
        ("individual", 5_000, 200),
        ("individual", 10_000, 200),
        ("individual", 4_999, "fine_out_of_range"),
        ("individual", 20_000, "fine_out_of_range"),
        ("unit", None, "fine_required"),
    ],
)
def test_a_fine_lies_in_the_range_of_its_party_type(
    world: World, referral: int, party: str, fine: int | None, expected: int | str
) -> None:
    r = _outcome(world, referral, {"status": "fined", "party_type": party, "fine_yuan": fine})
    if expected == 200:
        assert r.status_code == 200, r.text
        assert (r.json()["outcome"]["party_type"], r.json()["outcome"]["fine_yuan"]) == (
            party,
            fine,
        )
        return
    assert error_of(r) == (422, expected)
    if expected == "fine_out_of_range":
        assert r.json()["error"]["details"]["party_type"] == party
    assert r.json() and world.api.followups(kind="referral")["items"][0]["status"] == "open"


def test_a_city_that_does_not_fine_individuals(
    world: World, referral: int, state: AppState
) -> None:
    state.policy = FollowupPolicy(fines=FinePolicy(individual=None))
    r = _outcome(
        world, referral, {"status": "fined", "party_type": "individual", "fine_yuan": 5_000}
    )
    assert error_of(r) == (422, "fine_out_of_range")
    assert r.json()["error"]["details"] == {
        "party_type": "individual",
        "min_yuan": None,
        "max_yuan": None,
    }


def test_the_fine_ranges_come_from_the_policy_file(tmp_path: Any) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"fines": {"unit": {"min_yuan": 20000, "max_yuan": 40000}}}')
    fines = FollowupPolicy.load(path).fines
    assert fines.range_for("unit") == FineRange(min_yuan=20_000, max_yuan=40_000)
    assert fines.range_for("individual") == FineRange(min_yuan=5_000, max_yuan=10_000)


def test_an_outcome_is_corrected_never_overwritten(
    world: World, referral: int, client: TestClient, clock: FakeClock, db: Session
) -> None:
    named = client.patch(
        f"/api/v1/users/{world.officer_b.username}",
        headers=world.api.admin.headers,
        json={"display_name": "陈敏"},
    )
    assert named.status_code == 200, named.text
    first = _outcome(world, referral, {"status": "fined", "fine_yuan": 20_000})
    assert first.status_code == 200, first.text
    again = _outcome(world, referral, {"status": "fined", "fine_yuan": 30_000})
    assert error_of(again) == (409, "outcome_recorded")
    no_reason = _outcome(world, referral, {"status": "fined", "fine_yuan": 30_000}, "/corrections")
    assert error_of(no_reason) == (422, "validation_error")
    blank = {"status": "fined", "fine_yuan": 30_000, "reason": "  "}
    assert error_of(_outcome(world, referral, blank, "/corrections")) == (422, "validation_error")
    out_of_range = {"status": "fined", "fine_yuan": 60_000, "reason": "笔误"}
    assert error_of(_outcome(world, referral, out_of_range, "/corrections")) == (
        422,
        "fine_out_of_range",
    )

    clock.advance(hours=1)
    fixed = {"status": "fined", "fine_yuan": 30_000, "note": "三万元", "reason": "决定书为三万元"}
    r = _outcome(world, referral, fixed, "/corrections")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "closed"
    assert (body["outcome"]["fine_yuan"], body["outcome"]["reason"]) == (30_000, "决定书为三万元")
    history = [
        (h["kind"], h["status"], h["fine_yuan"], h["reason"], h["recorded_by"])
        for h in body["outcome_history"]
    ]
    assert history == [
        ("outcome", "fined", 20_000, "", world.officer_b.username),
        ("correction", "fined", 30_000, "决定书为三万元", world.officer_b.username),
    ]
    assert [h["recorded_by_name"] for h in body["outcome_history"]] == ["陈敏", "陈敏"]
    # the outcome in force names its recorder as the history does: username and real name
    assert (body["outcome"]["recorded_by"], body["outcome"]["recorded_by_name"]) == (
        world.officer_b.username,
        "陈敏",
    )
    [listed] = world.api.followups(kind="referral")["items"]
    assert listed["outcome_history"] == body["outcome_history"]

    figures = client.get("/api/v1/dashboard", headers=world.api.admin.headers).json()["referrals"]
    assert (figures["fines_yuan"], figures["by_outcome"]["fined"], figures["open"]) == (
        30_000,
        1,
        0,
    )

    db.rollback()
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("referral.%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["referral.outcome", "referral.outcome_corrected"]


def test_a_correction_changes_the_outcome_counted(
    world: World, referral: int, client: TestClient
) -> None:
    assert _outcome(world, referral, {"status": "warning"}).status_code == 200
    body = {"status": "dismissed", "reason": "执法部门撤销警告"}
    assert _outcome(world, referral, body, "/corrections").status_code == 201
    figures = client.get("/api/v1/dashboard", headers=world.api.admin.headers).json()["referrals"]
    assert (figures["by_outcome"]["warning"], figures["by_outcome"]["dismissed"]) == (0, 1)


def test_a_referral_still_with_enforcement_takes_its_outcome_later(
    world: World, referral: int
) -> None:
    assert _outcome(world, referral, {"status": "referred"}).json()["status"] == "open"
    r = _outcome(world, referral, {"status": "warning", "note": "责令限期改正"})
    assert r.status_code == 200, r.text
    assert [h["status"] for h in r.json()["outcome_history"]] == ["referred", "warning"]
    assert r.json()["status"] == "closed"


def test_nothing_to_correct_and_who_may_not(world: World, referral: int) -> None:
    body = {"status": "warning", "reason": "补录"}
    assert error_of(_outcome(world, referral, body, "/corrections")) == (409, "no_outcome")
    r = world.api.client.post(
        f"/api/v1/followups/{referral}/outcome/corrections",
        headers=world.manager.headers,
        json=body,
    )
    assert r.status_code == 403


@pytest.fixture
def at_webdash(engine: Engine) -> Iterator[Engine]:
    """The database moved down to the revision before the outcome history, and back up."""
    with at_revision(engine, "webdash_1") as moved:
        yield moved


def test_the_migration_keeps_recorded_outcomes_as_the_first_record(at_webdash: Engine) -> None:
    now = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    with at_webdash.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, role, channels, active, "
                "created_at, token_version, revision) VALUES "
                "(1, 'officer-old', '', 'district_officer', '{}', true, :now, 0, 0)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO shelters (id, code, name, address, district, shelter_type, "
                "wartime_function, protection_level, peacetime_use, use_registered, "
                "responsible_unit, responsible_unit_status, signage_installed, active, "
                "created_at, updated_at, revision) VALUES (1, 'OLD-1', '旧工程', '', '黄浦区', "
                "'', '', '', '', false, '', 'known', false, true, :now, :now, 0)"
            ),
            {"now": now},
        )
        for id_, outcome in (
            (
                1,
                '{"status": "fined", "fine_yuan": 20000, "note": "罚款", '
                '"recorded_by": "officer-old", "recorded_at": "2026-05-02T10:00:00+08:00"}',
            ),
            (2, None),
        ):
            conn.execute(
                text(
                    "INSERT INTO followups (id, number, kind, shelter_id, class_level, status, "
                    "issued_at, due_at, outcome, revision) VALUES (:id, :number, 'referral', 1, "
                    "4, :status, :now, :now, :outcome, 0)"
                ),
                {
                    "id": id_,
                    "number": f"YJ2026-000{id_}",
                    "status": "closed" if outcome else "open",
                    "now": now,
                    "outcome": outcome,
                },
            )
    migrate(at_webdash, "head")
    with at_webdash.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT followup_id, kind, status, party_type, fine_yuan, note, recorded_by "
                "FROM referral_outcomes ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [(1, "outcome", "fined", None, 20000, "罚款", 1)]
