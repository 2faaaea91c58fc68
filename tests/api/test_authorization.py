"""The authorization matrix: every role against every endpoint.

In scope but the wrong role → 403; out of scope → the same answer as for an object that does
not exist (404, so nothing leaks); no or bad credentials → 401. Every error is JSON
``{"error": {"code", "message", "details"}}``.

The world: shelter SA (district A, manager X), SB (district B, manager Y, inspector "assigned"
whose own district is C) and SB2 (district B, nobody). Each has a class 4 inspection with an
open S1 finding, two S2 findings whose fix the manager (or the admin, for SB2) reported, and
an illegal act with its referral.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.state import AppState
from inspection.models import Role
from tests.api.conftest import DISTRICT_A, DISTRICT_B, PNG, Api
from tests.conftest import PASSWORD, FakeClock, Login, UserFactory

DISTRICT_C = "浦东新区"
MISSING = 987_654


@dataclass
class Target:
    """The ids of one shelter's objects that the endpoint table refers to."""

    code: str
    inspection: int
    open_finding: int
    fix_to_verify: int
    fix_to_reject: int
    key_supervision: int
    referral: int
    evidence: int


@dataclass
class World:
    api: Api
    logins: dict[str, Login]
    targets: dict[str, Target]


def _target(api: Api, who: Login, fixer: Login, code: str) -> Target:
    body = api.inspect(who, code, "EQ-RUST", "DOOR-NOT-CLOSING", "VENT-FAULT", "OCCUPATION")
    rust, door, vent, _ = (f["id"] for f in body["findings"])
    for finding in (door, vent):
        assert api.fix(fixer, finding).status_code == 200
    kinds = {f["kind"]: f["id"] for f in body["followups"]}
    read = api.client.get(f"/api/v1/inspections/{body['id']}", headers=api.admin.headers).json()
    [evidence] = read["findings"][1]["attachments"]
    return Target(
        code,
        body["id"],
        rust,
        door,
        vent,
        kinds["key_supervision"],
        kinds["referral"],
        evidence["id"],
    )


@pytest.fixture
def world(api: Api, make_user: UserFactory) -> World:
    logins = {
        "admin": api.admin,
        "officer": make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A),
        "inspector": make_user(Role.INSPECTOR, district=DISTRICT_A),
        "assigned": make_user(Role.INSPECTOR, district=DISTRICT_C),
        "manager": make_user(Role.MANAGER),
        "manager_y": make_user(Role.MANAGER),
        "platform": make_user(Role.PLATFORM),
    }
    api.shelter("SA", DISTRICT_A, manager=logins["manager"])
    api.shelter("SB", DISTRICT_B, manager=logins["manager_y"], inspector=logins["assigned"])
    api.shelter("SB2", DISTRICT_B)
    targets = {
        "SA": _target(api, logins["inspector"], logins["manager"], "SA"),
        "SB": _target(api, logins["assigned"], logins["manager_y"], "SB"),
        "SB2": _target(api, api.admin, api.admin, "SB2"),
    }
    return World(api, logins, targets)


# (method, path, body kind); the path is formatted with a Target's fields.
ENDPOINTS: dict[str, tuple[str, str, str | None]] = {
    "users.list": ("GET", "/api/v1/users", None),
    "users.create": ("POST", "/api/v1/users", "user"),
    "shelters.list": ("GET", "/api/v1/shelters", None),
    "shelters.create": ("POST", "/api/v1/shelters", "shelter"),
    "shelter.get": ("GET", "/api/v1/shelters/{code}", None),
    "shelter.patch": ("PATCH", "/api/v1/shelters/{code}", "patch"),
    "sensors.post": ("POST", "/api/v1/shelters/{code}/sensors", "sensor"),
    "sensors.get": ("GET", "/api/v1/shelters/{code}/sensors", None),
    "checklist": ("GET", "/api/v1/checklist", None),
    "inspections.post": ("POST", "/api/v1/shelters/{code}/inspections", "inspection"),
    "inspections.list": ("GET", "/api/v1/shelters/{code}/inspections", None),
    "inspection.get": ("GET", "/api/v1/inspections/{inspection}", None),
    "photos.post": ("POST", "/api/v1/inspections/{inspection}/photos", "files"),
    "corrections.list": ("GET", "/api/v1/corrections", None),
    "correction.approve": ("POST", "/api/v1/inspections/{inspection}/approve", "note"),
    "correction.reject": ("POST", "/api/v1/inspections/{inspection}/reject", "note"),
    "followups.list": ("GET", "/api/v1/followups", None),
    "outcome.post": ("POST", "/api/v1/followups/{referral}/outcome", "outcome"),
    "finding.fix": ("POST", "/api/v1/findings/{open_finding}/fix", "files"),
    "finding.verify": ("POST", "/api/v1/findings/{fix_to_verify}/verify", "note"),
    "finding.reject": ("POST", "/api/v1/findings/{fix_to_reject}/reject", "note"),
    "stats": ("GET", "/api/v1/stats/compliance", None),
    "notice.pdf": ("GET", "/api/v1/notices/{key_supervision}.pdf", None),
    "attachment.get": ("GET", "/api/v1/attachments/{evidence}", None),
    "attachment.thumbnail": ("GET", "/api/v1/attachments/{evidence}/thumbnail", None),
    "export.register": ("GET", "/api/v1/exports/shelters.csv", None),
    "export.ledger": ("GET", "/api/v1/exports/ledger.csv", None),
}


def _call(client: TestClient, name: str, target: Target, headers: dict[str, str]) -> Any:
    method, template, kind = ENDPOINTS[name]
    path = template.format(**vars(target))
    bodies: dict[str, Any] = {
        "user": {"json": {"username": "newcomer", "role": "manager", "password": PASSWORD}},
        "shelter": {"json": {"code": "NEW-A", "name": "新工程", "district": DISTRICT_A}},
        "patch": {"json": {"address": "人民大道 1 号"}},
        "sensor": {"json": {"sensor_id": f"sensor-{target.code}"}},
        "inspection": {"json": {"inspected_at": "2026-06-01T09:30:00+08:00", "findings": []}},
        "files": {"files": [("files", ("p.png", PNG, "image/png"))]},
        "outcome": {"json": {"status": "warning"}},
        "note": {"json": {"note": "核验"}},
    }
    kwargs = bodies[kind] if kind else {}
    return client.request(method, path, headers=headers, **kwargs)


OK = {"GET": 200, "POST": 201, "PATCH": 200}
_R, _P = "role_forbidden", "forbidden"


def _expected_for(role: str) -> dict[str, Any]:
    """Status (or (status, code) for refusals) of each endpoint on the role's own shelter."""
    everyone = {
        "shelters.list": 200,
        "shelter.get": 200,
        "sensors.get": 200,
        "checklist": 200,
        "inspections.list": 200,
        "inspection.get": 200,
        "followups.list": 200,
        "notice.pdf": 200,
        "attachment.get": 200,
        "attachment.thumbnail": 200,
    }
    no = (403, _R)
    nc = (409, "not_a_correction")
    table: dict[str, dict[str, Any]] = {
        # endpoint:        admin, officer, inspector, assigned, manager, platform
        "users.list": dict(zip(ROLES, [200, no, no, no, no, no], strict=True)),
        "users.create": dict(zip(ROLES, [201, no, no, no, no, no], strict=True)),
        "shelters.create": dict(zip(ROLES, [201, 201, no, no, no, no], strict=True)),
        "shelter.patch": dict(zip(ROLES, [200, 200, no, no, no, no], strict=True)),
        "sensors.post": dict(zip(ROLES, [201, 201, no, no, no, no], strict=True)),
        "inspections.post": dict(zip(ROLES, [201, no, 201, 201, no, no], strict=True)),
        "photos.post": dict(zip(ROLES, [201, no, 201, 201, no, no], strict=True)),
        "corrections.list": dict(zip(ROLES, [200, 200, 200, 200, no, no], strict=True)),
        # the target is an ordinary inspection: nothing to decide on
        "correction.approve": dict(zip(ROLES, [nc, nc, no, no, no, no], strict=True)),
        "correction.reject": dict(zip(ROLES, [nc, nc, no, no, no, no], strict=True)),
        "outcome.post": dict(zip(ROLES, [200, 200, no, no, no, no], strict=True)),
        "finding.fix": dict(zip(ROLES, [200, no, no, no, 200, no], strict=True)),
        "finding.verify": dict(zip(ROLES, [200, 200, 200, 200, no, no], strict=True)),
        "finding.reject": dict(zip(ROLES, [200, 200, 200, 200, no, no], strict=True)),
        "stats": dict(zip(ROLES, [200, 200, no, no, no, 200], strict=True)),
        "export.register": dict(zip(ROLES, [200, 200, no, no, no, 200], strict=True)),
        "export.ledger": dict(zip(ROLES, [200, 200, no, no, no, 200], strict=True)),
    }
    return {**everyone, **{name: row[role] for name, row in table.items()}}


ROLES = ["admin", "officer", "inspector", "assigned", "manager", "platform"]
OWN = {"assigned": "SB"}  # every other role's own shelter is SA


def _outcome(response: Any) -> Any:
    if response.status_code < 400:
        return response.status_code
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize("role", ROLES)
def test_role_on_its_own_shelter(world: World, client: TestClient, role: str) -> None:
    login = world.logins[role]
    target = world.targets[OWN.get(role, "SA")]
    got = {name: _outcome(_call(client, name, target, login.headers)) for name in ENDPOINTS}
    assert got == _expected_for(role)


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ("anonymous", "not_authenticated"),
        ("bad_token", "invalid_token"),
        ("expired_token", "token_expired"),
        ("wrong_api_key", "invalid_api_key"),
        ("garbage_api_key", "invalid_api_key"),
    ],
)
def test_without_valid_credentials_every_endpoint_is_401(
    world: World,
    client: TestClient,
    clock: FakeClock,
    state: AppState,
    credentials: str,
    code: str,
) -> None:
    expired = world.logins["admin"].headers  # issued now, used after it lapses
    clock.advance(minutes=state.settings.access_token_minutes)
    headers = {
        "anonymous": {},
        "bad_token": {"Authorization": "Bearer not.a.jwt"},
        "expired_token": expired,
        "wrong_api_key": {"X-API-Key": "swk_" + "A" * 43},
        "garbage_api_key": {"X-API-Key": "let-me-in"},
    }[credentials]
    target = world.targets["SA"]
    got = {name: _outcome(_call(client, name, target, headers)) for name in ENDPOINTS}
    assert got == dict.fromkeys(ENDPOINTS, (401, code))


def test_error_body_shape(client: TestClient) -> None:
    r = client.get("/api/v1/shelters")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"code", "message", "details"}


# Endpoints that name an object, with the code a missing object is reported with.
OBJECT_ENDPOINTS = {
    "shelter.get": "shelter_not_found",
    "shelter.patch": "shelter_not_found",
    "sensors.post": "shelter_not_found",
    "sensors.get": "shelter_not_found",
    "inspections.post": "shelter_not_found",
    "inspections.list": "shelter_not_found",
    "inspection.get": "inspection_not_found",
    "photos.post": "inspection_not_found",
    "correction.approve": "inspection_not_found",
    "correction.reject": "inspection_not_found",
    "outcome.post": "followup_not_found",
    "finding.fix": "finding_not_found",
    "finding.verify": "finding_not_found",
    "finding.reject": "finding_not_found",
    "notice.pdf": "followup_not_found",
    "attachment.get": "attachment_not_found",
    "attachment.thumbnail": "attachment_not_found",
}
# The role gate of these endpoints answers before any lookup: the same 403 whether the
# object exists or not, so it tells nothing either.
_OFFICERS_ONLY = {
    "shelter.patch",
    "sensors.post",
    "outcome.post",
    "correction.approve",
    "correction.reject",
}
GATED = {"inspector": _OFFICERS_ONLY, "assigned": _OFFICERS_ONLY, "manager": _OFFICERS_ONLY}
OTHERS = {"officer": "SB", "inspector": "SB2", "assigned": "SA", "manager": "SB"}


@pytest.mark.parametrize("role", ["officer", "inspector", "assigned", "manager"])
def test_out_of_scope_is_not_found(world: World, client: TestClient, role: str) -> None:
    login = world.logins[role]
    other = world.targets[OTHERS[role]]
    missing = Target(f"NOPE-{MISSING}", *([MISSING] * 7))
    got = {n: _outcome(_call(client, n, other, login.headers)) for n in OBJECT_ENDPOINTS}
    absent = {n: _outcome(_call(client, n, missing, login.headers)) for n in OBJECT_ENDPOINTS}
    expected = {
        n: (403, _R) if n in GATED.get(role, set()) else (404, code)
        for n, code in OBJECT_ENDPOINTS.items()
    }
    assert got == expected
    assert absent == expected


@pytest.mark.parametrize("role", ["admin", "platform"])
def test_missing_objects_are_not_found_for_see_all_roles(
    world: World, client: TestClient, role: str
) -> None:
    missing = Target(f"NOPE-{MISSING}", *([MISSING] * 7))
    for name in ("shelter.get", "inspection.get", "notice.pdf", "sensors.get", "attachment.get"):
        r = _call(client, name, missing, world.logins[role].headers)
        assert _outcome(r) == (404, OBJECT_ENDPOINTS[name]), name


def test_officer_registers_only_in_their_district(world: World, client: TestClient) -> None:
    headers = world.logins["officer"].headers
    body = {"code": "NEW-B", "name": "新工程", "district": DISTRICT_B}
    r = client.post("/api/v1/shelters", headers=headers, json=body)
    assert _outcome(r) == (403, _P)
    r = client.patch("/api/v1/shelters/SA", headers=headers, json={"district": DISTRICT_B})
    assert _outcome(r) == (403, _P)
    assert client.get("/api/v1/shelters/SA", headers=headers).json()["district"] == DISTRICT_A


@pytest.mark.parametrize(
    ("role", "codes"),
    [
        ("admin", ["SA", "SB", "SB2"]),
        ("platform", ["SA", "SB", "SB2"]),
        ("officer", ["SA"]),
        ("inspector", ["SA"]),
        ("assigned", ["SB"]),
        ("manager", ["SA"]),
        ("manager_y", ["SB"]),
    ],
)
def test_lists_are_scoped(world: World, client: TestClient, role: str, codes: list[str]) -> None:
    headers = world.logins[role].headers
    shelters = client.get("/api/v1/shelters", headers=headers).json()
    assert [s["code"] for s in shelters["items"]] == codes
    assert shelters["total"] == len(codes)
    followups = client.get("/api/v1/followups", headers=headers).json()
    assert sorted({f["shelter_code"] for f in followups["items"]}) == codes
    assert followups["total"] == 2 * len(codes)


def test_manager_lists_all_of_their_shelters_and_only_those(
    world: World, client: TestClient
) -> None:
    manager = world.logins["manager"]
    world.api.shelter("SC", DISTRICT_C, manager=manager)
    page = client.get("/api/v1/shelters", headers=manager.headers).json()
    assert [s["code"] for s in page["items"]] == ["SA", "SC"]
    filtered = client.get(
        "/api/v1/shelters", headers=manager.headers, params={"district": DISTRICT_B}
    ).json()
    assert filtered == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_district_officer_stats_cover_their_district(world: World, client: TestClient) -> None:
    report = client.get("/api/v1/stats/compliance", headers=world.logins["officer"].headers)
    assert [d["district"] for d in report.json()["districts"]] == [DISTRICT_A]
    everything = client.get("/api/v1/stats/compliance", headers=world.logins["platform"].headers)
    assert [d["district"] for d in everything.json()["districts"]] == sorted(
        [DISTRICT_A, DISTRICT_B]
    )
