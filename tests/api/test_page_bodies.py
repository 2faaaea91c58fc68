"""Pages kept by version: a page asked for again at the same version is sent as kept, without
building it; a change sends the new page; each variant of a request (limit and offset, the
grid with or without coordinates) is kept apart; the store stays within its bounds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from api.http.view_version import Bodies
from inspection.models import Role
from tests.api.conftest import CODE, DISTRICT_A, World
from tests.api.test_view_version import bodies
from tests.conftest import UserFactory


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block."""
    seen: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_asked_again_at_its_version_is_sent_as_kept(
    world: World, make_user: UserFactory, engine: Engine
) -> None:
    api = world.api
    platform = make_user(Role.PLATFORM)
    path = "/api/v1/platform/shelters"
    first = api.client.get(path, headers=platform.headers)
    assert first.status_code == 200, first.text
    with statements(engine) as again_sql:
        again = api.client.get(path, headers=platform.headers)
    assert again.status_code == 200
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    # the caller and the version; no summary query (sensors, findings, follow-ups, alerts)
    assert not [s for s in again_sql if "FROM sensors" in s and "WITH page" not in s]
    assert not [s for s in again_sql if "FROM findings" in s and "WITH page" not in s]

    r = api.client.patch(f"/api/v1/shelters/{CODE}", headers=api.admin.headers, json={"name": "新"})
    assert r.status_code == 200, r.text
    changed = api.client.get(path, headers=platform.headers)
    assert changed.headers["etag"] != first.headers["etag"]
    assert changed.json()["items"][0]["name"] == "新"


def test_variants_of_a_request_are_kept_apart(world: World, make_user: UserFactory) -> None:
    api = world.api
    api.shelter("SH-002", DISTRICT_A)
    platform = make_user(Role.PLATFORM)
    one = api.client.get("/api/v1/platform/shelters?limit=1", headers=platform.headers).json()
    two = api.client.get("/api/v1/platform/shelters?limit=2", headers=platform.headers).json()
    second = api.client.get(
        "/api/v1/platform/shelters?limit=1&offset=1", headers=platform.headers
    ).json()
    assert [s["code"] for s in one["items"]] == [CODE]
    assert [s["code"] for s in two["items"]] == [CODE, "SH-002"]
    assert [s["code"] for s in second["items"]] == ["SH-002"] and second["offset"] == 1

    grid = api.client.get("/api/v1/dashboard/shelters", headers=world.officer.headers).json()
    mapped = api.client.get(
        "/api/v1/dashboard/shelters?coordinates=true", headers=world.officer.headers
    ).json()
    assert grid["districts"][0]["latitudes"] is None
    assert mapped["districts"][0]["latitudes"] == [None, None]
    assert len(bodies(api.client)) == 5


def test_the_store_keeps_within_its_bounds() -> None:
    kept = Bodies(max_bytes=1000, max_entries=3)
    for n in range(4):
        kept.put(f"v{n}", '"e"', b"x" * 100)
    assert len(kept) == 3 and kept.get("v0", '"e"') is None  # the oldest went first
    assert kept.get("v1", '"e"') == b"x" * 100  # now the most recently used
    kept.put("big", '"e"', b"y" * 251)  # over a quarter of the bytes: never kept
    assert kept.get("big", '"e"') is None
    for n in range(4, 8):
        kept.put(f"v{n}", '"e"', b"z" * 240)
    assert kept.size <= 1000 and len(kept) == 3
    assert kept.get("v1", '"e"') is None
    kept.put("v7", '"e"', b"w" * 10)  # a new body under a kept key replaces it
    assert kept.get("v7", '"e"') == b"w" * 10 and kept.size == 240 * 2 + 10
    kept.clear()
    assert len(kept) == 0 and kept.size == 0
