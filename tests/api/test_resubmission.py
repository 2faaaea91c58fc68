"""Submissions retried after a lost answer: the Idempotency-Key of POST
/shelters/{code}/inspections and re-sent photos store nothing twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.db import unit_of_work
from api.state import AppState
from inspection.access import Actor
from inspection.models import Attachment, Followup, Inspection, Role
from inspection.resubmission import submit_once
from inspection.schemas import InspectionCreate
from tests.api.conftest import CODE, DISTRICT_A, INSPECTED_AT, PNG, World, error_of
from tests.conftest import Login, UserFactory
from tests.images import png
from tests.waiting import wait_until

KEY = "3f1c9a52-7d1e-4d8b-9a7e-0c2b4e6f8a10"
BODY: dict[str, Any] = {
    "inspected_at": INSPECTED_AT,
    "findings": [{"item": "EQ-RUST", "note": "门框锈蚀"}, {"item": "SIGN-INCOMPLETE"}],
}


def _send(client: TestClient, who: Login, body: dict[str, Any], key: str | None = KEY) -> Any:
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1/shelters/{CODE}/inspections", headers=headers, json=body)


def _count(db: Session, model: type[Any]) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_repeat_returns_the_stored_inspection(
    world: World, client: TestClient, db: Session
) -> None:
    first = _send(client, world.inspector, BODY)
    assert first.status_code == 201, first.text
    again = _send(client, world.inspector, {**BODY, "findings": list(BODY["findings"])})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert _count(db, Inspection) == 1
    assert _count(db, Followup) == 1


def test_the_same_key_with_another_body_is_refused(
    world: World, client: TestClient, db: Session
) -> None:
    assert _send(client, world.inspector, BODY).status_code == 201
    other = {**BODY, "findings": [{"item": "EQ-RUST", "note": "另一份"}]}
    assert error_of(_send(client, world.inspector, other)) == (409, "idempotency_mismatch")
    assert _count(db, Inspection) == 1


def test_keys_are_per_inspector(
    world: World, client: TestClient, db: Session, make_user: UserFactory
) -> None:
    colleague = make_user(Role.INSPECTOR, district=DISTRICT_A)
    a = _send(client, world.inspector, BODY)
    b = _send(client, colleague, {**BODY, "findings": []})
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert _count(db, Inspection) == 2


def test_without_a_key_each_submission_is_new(
    world: World, client: TestClient, db: Session
) -> None:
    assert _send(client, world.inspector, BODY, key=None).status_code == 201
    again = _send(client, world.inspector, BODY, key=None)  # the same defects, recorded again
    assert error_of(again) == (422, "finding_already_open")
    assert _send(client, world.inspector, {**BODY, "findings": []}, key=None).status_code == 201
    assert _count(db, Inspection) == 2


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 129, "key/with/slash"])
def test_malformed_keys_are_refused(world: World, client: TestClient, key: str) -> None:
    assert error_of(_send(client, world.inspector, BODY, key=key)) == (422, "validation_error")


def test_a_refused_submission_leaves_the_key_free(world: World, client: TestClient) -> None:
    bad = {**BODY, "findings": [{"item": "NO-SUCH-ITEM"}]}
    assert error_of(_send(client, world.inspector, bad)) == (422, "invalid_findings")
    assert _send(client, world.inspector, BODY).status_code == 201


def test_a_resent_photo_is_stored_once(world: World, client: TestClient, db: Session) -> None:
    inspection = _send(client, world.inspector, BODY).json()
    finding = inspection["findings"][0]["id"]
    other = png(seed=1)

    def upload(data: bytes, finding_id: int | None = finding) -> Any:
        r = client.post(
            f"/api/v1/inspections/{inspection['id']}/photos",
            headers=world.inspector.headers,
            files=[("files", ("rust.png", data, "image/png"))],
            data={} if finding_id is None else {"finding_id": str(finding_id)},
        )
        assert r.status_code == 201, r.text
        return r.json()[0]["id"]

    first = upload(PNG)
    assert upload(PNG) == first
    assert upload(other) != first
    assert upload(PNG, finding_id=None) != first  # the same bytes as a general photo
    assert _count(db, Attachment) == 3


@pytest.mark.postgres
def test_racing_repeats_store_one_inspection(
    world: World, state: AppState, db_url: str, engine: Engine
) -> None:
    """The second of two simultaneous sends waits on the first's key, then answers with the
    first's inspection (PostgreSQL: SQLite lets one writer in at a time, so it cannot race)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a race needs concurrent writers")
    who = world.inspector
    actor = Actor(id=who.id, username=who.username, role=who.role, district=DISTRICT_A)
    data = InspectionCreate.model_validate(BODY)
    now = state.clock()
    first = state.sessions()
    stored, created = submit_once(
        first,
        CODE,
        data,
        key=KEY,
        actor=actor,
        now=now,
        policy=state.policy,
        tz=state.settings.timezone,
        records_start=state.settings.records_start_at(),
    )
    assert created
    outcome: dict[str, Any] = {}

    def second() -> None:
        with unit_of_work(state.sessions) as session:
            inspection, again = submit_once(
                session,
                CODE,
                data,
                key=KEY,
                actor=actor,
                now=now,
                policy=state.policy,
                tz="Asia/Shanghai",
                records_start=state.settings.records_start_at(),
            )
            outcome["result"] = (inspection.id, again)

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

    wait_until(waiting_on_a_lock, 60, "the second send to wait on the first's key")
    first.commit()
    first.close()
    racer.join(timeout=60)
    assert outcome["result"] == (stored.id, False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Inspection)) == 1
        assert session.scalar(select(func.count()).select_from(Followup)) == 1
