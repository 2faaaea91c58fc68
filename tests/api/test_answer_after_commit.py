"""A write is answered only once it is committed: a commit that fails is never answered 2xx
(the database away answers 503 with Retry-After), and nothing of it is kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.state import AppState
from inspection.models import Shelter
from tests.api.conftest import DISTRICT_A, World


def test_a_write_whose_commit_fails_is_not_acknowledged(world: World, state: AppState) -> None:
    def writing(session: Session, *_: Any) -> None:
        if any(isinstance(obj, Shelter) for obj in session.new):
            session.info["writes_shelter"] = True

    def refuse(session: Session) -> None:
        if session.info.pop("writes_shelter", False):
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(state.sessions, "before_flush", writing)
    event.listen(state.sessions, "before_commit", refuse)
    try:
        r = world.api.client.post(
            "/api/v1/shelters",
            headers=world.api.admin.headers,
            json={"code": "SH-NEW", "name": "新工程", "district": DISTRICT_A},
        )
    finally:
        event.remove(state.sessions, "before_commit", refuse)
        event.remove(state.sessions, "before_flush", writing)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "database_unavailable"
    assert r.headers["retry-after"] == "5"
    with state.sessions() as session:
        assert session.scalars(select(Shelter).where(Shelter.code == "SH-NEW")).first() is None
    again = world.api.client.post(
        "/api/v1/shelters",
        headers=world.api.admin.headers,
        json={"code": "SH-NEW", "name": "新工程", "district": DISTRICT_A},
    )
    assert again.status_code == 201, again.text
