"""Times a client gives at the calendar's edges, with extreme offsets too, are refused (422)
by every route that takes one, never answered with a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from inspection.models import Role
from tests.api.conftest import CODE, World
from tests.conftest import UserFactory
from tests.images import PNG

EDGES = [
    "0001-01-01T00:00:00+14:00",  # before the calendar in UTC
    "0001-01-01T00:00:00-12:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-12:00",  # past the calendar in UTC
    "9999-12-31T23:59:59Z",
]

Ask = Callable[[str], Response]
"""Sends one request naming the given time."""


def _inspection(world: World, client: TestClient) -> Ask:
    def ask(when: str) -> Response:
        return client.post(
            f"/api/v1/shelters/{CODE}/inspections",
            headers=world.inspector.headers,
            json={"inspected_at": when, "findings": [], "late_reason": "录入旧档案"},
        )

    return ask


def _milestone(world: World, client: TestClient) -> Ask:
    [followup] = world.api.inspect(world.inspector, CODE, "STRUCT-CRACK")["followups"]

    def ask(when: str) -> Response:
        return client.post(
            f"/api/v1/followups/{followup['id']}/milestones/containment",
            headers=world.officer.headers,
            data={"note": "已设置警戒", "done_at": when},
            files=[("files", ("evidence.png", PNG, "image/png"))],
        )

    return ask


def _query(path: str, name: str) -> Callable[[World, TestClient], Ask]:
    def arrange(world: World, client: TestClient) -> Ask:
        return lambda when: client.get(path, headers=world.api.admin.headers, params={name: when})

    return arrange


def _changed_since(make_user: UserFactory) -> Callable[[World, TestClient], Ask]:
    def arrange(world: World, client: TestClient) -> Ask:
        platform = make_user(Role.PLATFORM)
        return lambda when: client.get(
            "/api/v1/platform/shelters", headers=platform.headers, params={"changed_since": when}
        )

    return arrange


ROUTES: dict[str, Callable[[World, TestClient], Ask]] = {
    "inspection inspected_at": _inspection,
    "milestone done_at": _milestone,
    "series start": _query(f"/api/v1/shelters/{CODE}/telemetry", "start"),
    "series end": _query(f"/api/v1/shelters/{CODE}/telemetry", "end"),
    "completeness start": _query(f"/api/v1/shelters/{CODE}/telemetry/completeness", "start"),
    "completeness end": _query(f"/api/v1/shelters/{CODE}/telemetry/completeness", "end"),
}


@pytest.mark.parametrize("route", [*ROUTES, "platform changed_since"])
def test_a_time_at_the_calendars_edge_is_refused(
    world: World, client: TestClient, make_user: UserFactory, route: str
) -> None:
    arrange = _changed_since(make_user) if route == "platform changed_since" else ROUTES[route]
    ask = arrange(world, client)
    for when in EDGES:
        r = ask(when)
        assert r.status_code == 422, (when, r.text)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (f"/api/v1/shelters/{CODE}/telemetry", "end"),
        (f"/api/v1/shelters/{CODE}/telemetry/completeness", "end"),
        ("/api/v1/platform/shelters", "changed_since"),
    ],
)
def test_query_times_lie_within_what_the_reading_store_holds(
    world: World, make_user: UserFactory, client: TestClient, path: str, name: str
) -> None:
    """InfluxDB holds 1677-09-21 to 2262-04-11: a query names a time from 1678 up to 2262."""
    who = make_user(Role.PLATFORM) if name == "changed_since" else world.api.admin
    for when in ("1677-12-31T23:59:59Z", "2262-01-01T00:00:00Z"):
        r = client.get(path, headers=who.headers, params={name: when})
        assert r.status_code == 422, (when, r.text)
        assert r.json()["error"]["code"] == "invalid_query"
    r = client.get(path, headers=who.headers, params={name: "1678-01-02T00:00:00Z"})
    assert r.status_code == 200, r.text
