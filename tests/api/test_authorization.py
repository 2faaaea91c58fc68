"""The authorization matrix: every role against every route of the application.

The routes come from the application's route table, so a route added tomorrow is checked the
day it is added: it must first be declared in :data:`POLICY` (who may call it, and the body to
send), or ``test_every_route_is_in_the_policy`` fails and says so. Path parameters are filled
from seeded objects inside and outside the caller's scope.

In scope but the wrong role → 403; out of scope → the same answer as for an object that does
not exist (404, so nothing leaks); no or bad credentials → 401. Every error is JSON
``{"error": {"code", "message", "details"}}``.

The world: shelter SA (district A, manager X), SB (district B, manager Y, inspector "assigned"
whose own district is C) and SB2 (district B, nobody). Each has a sensor and a class 4
inspection with an open S1 finding, two S2 findings whose fix the manager (or the admin, for
SB2) reported, and an illegal act with its referral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
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
    sensor: str
    district: str
    alert: int = MISSING
    """No alert is seeded: the alert routes are checked on one that does not exist."""
    month: str = "2026-06"
    """The month of the monthly report (the seeded inspections')."""


MISSING_TARGET = Target(
    f"NOPE-{MISSING}", *([MISSING] * 7), sensor=f"nope-{MISSING}", district="无此区"
)


@dataclass
class World:
    api: Api
    logins: dict[str, Login]
    targets: dict[str, Target]


def _target(api: Api, who: Login, fixer: Login, code: str, district: str) -> Target:
    body = api.inspect(who, code, "EQ-RUST", "DOOR-NOT-CLOSING", "VENT-FAULT", "OCCUPATION")
    rust, door, vent, _ = (f["id"] for f in body["findings"])
    for finding in (door, vent):
        assert api.fix(fixer, finding).status_code == 200
    kinds = {f["kind"]: f["id"] for f in body["followups"]}
    read = api.client.get(f"/api/v1/inspections/{body['id']}", headers=api.admin.headers).json()
    [evidence] = read["findings"][1]["attachments"]
    sensor = f"sensor-{code}"
    r = api.client.post(
        f"/api/v1/shelters/{code}/sensors", headers=api.admin.headers, json={"sensor_id": sensor}
    )
    assert r.status_code == 201, r.text
    return Target(
        code,
        body["id"],
        rust,
        door,
        vent,
        kinds["key_supervision"],
        kinds["referral"],
        evidence["id"],
        sensor,
        district,
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
    make_user(Role.PLATFORM, username="bystander")  # the user of the /users/{username} routes
    api.shelter("SA", DISTRICT_A, manager=logins["manager"])
    api.shelter("SB", DISTRICT_B, manager=logins["manager_y"], inspector=logins["assigned"])
    api.shelter("SB2", DISTRICT_B)
    targets = {
        "SA": _target(api, logins["inspector"], logins["manager"], "SA", DISTRICT_A),
        "SB": _target(api, logins["assigned"], logins["manager_y"], "SB", DISTRICT_B),
        "SB2": _target(api, api.admin, api.admin, "SB2", DISTRICT_B),
    }
    sweep = {"name": "巡查", "starts_on": "2026-05-01", "ends_on": "2026-06-30"}
    r = api.client.post(
        "/api/v1/sweeps", headers=api.admin.headers, json={**sweep, "shelters": ["SA", "SB"]}
    )
    assert r.status_code == 201 and r.json()["id"] == int(FIXED_PARAMS["sweep_id"]), r.text
    maker = {"name": "华北人防设备有限公司"}
    r = api.client.post("/api/v1/manufacturers", headers=api.admin.headers, json=maker)
    assert r.status_code == 201 and r.json()["id"] == int(FIXED_PARAMS["manufacturer_id"]), r.text
    return World(api, logins, targets)


# ---------------------------------------------------------------- the route table

ROLES = ["admin", "officer", "inspector", "assigned", "manager", "platform"]
OWN = {"assigned": "SB"}  # every other role's own shelter is SA
OTHERS = {"officer": "SB", "inspector": "SB2", "assigned": "SA", "manager": "SB"}
"""A shelter outside each scoped role's scope; the admin and the platform see every shelter."""

ALL = frozenset(ROLES)
PEOPLE = ALL - {"platform"}
ADMIN = frozenset({"admin"})
OFFICE = frozenset({"admin", "officer"})
INSPECTING = frozenset({"admin", "inspector", "assigned"})
CHECKING = frozenset({"admin", "officer", "inspector", "assigned"})
FIXING = frozenset({"admin", "manager"})
REPORTING = frozenset({"admin", "officer", "platform"})
PLATFORM = frozenset({"admin", "platform"})
RECORDING = frozenset({"admin", "officer", "manager"})
PUBLIC = frozenset()
"""No credentials needed."""


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and how a request to it is made.

    ``roles``: the roles allowed (:data:`PUBLIC`: anyone, without credentials); ``params``: a
    path parameter filled with another :class:`Target` field than its name's default (see
    :data:`DEFAULT_PARAMS`); ``body``: the kind of body sent (see ``_BODIES``)."""

    roles: frozenset[str]
    body: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    """Query parameters filled with a :class:`Target` field."""


POLICY: dict[tuple[str, str], Rule] = {
    # the web shell, its documents and the probes
    ("GET", "/"): Rule(PUBLIC),
    ("GET", "/sw.js"): Rule(PUBLIC),
    ("GET", "/manifest.webmanifest"): Rule(PUBLIC),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    ("GET", "/openapi.json"): Rule(PUBLIC),
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/readyz"): Rule(PUBLIC),
    ("GET", "/metrics"): Rule(PUBLIC),
    # sessions and users
    ("POST", "/api/v1/auth/token"): Rule(PUBLIC, "login"),
    ("POST", "/api/v1/auth/logout"): Rule(PEOPLE),
    ("POST", "/api/v1/me/password"): Rule(PEOPLE, "password"),
    ("GET", "/api/v1/me"): Rule(ALL),
    ("GET", "/api/v1/me/shelters"): Rule(PEOPLE),
    ("POST", "/api/v1/users"): Rule(ADMIN, "user"),
    ("GET", "/api/v1/users"): Rule(ADMIN),
    ("PATCH", "/api/v1/users/{username}"): Rule(ADMIN, "user_patch"),
    ("POST", "/api/v1/users/{username}/api-key"): Rule(ADMIN, "empty"),
    ("GET", "/api/v1/audit"): Rule(ADMIN),
    # the register
    ("POST", "/api/v1/shelters"): Rule(OFFICE, "shelter"),
    ("GET", "/api/v1/shelters"): Rule(ALL),
    ("GET", "/api/v1/shelters/{code}"): Rule(ALL),
    ("PATCH", "/api/v1/shelters/{code}"): Rule(OFFICE, "patch"),
    ("POST", "/api/v1/shelters/{code}/sensors"): Rule(OFFICE, "sensor"),
    ("GET", "/api/v1/shelters/{code}/sensors"): Rule(ALL),
    ("PATCH", "/api/v1/shelters/{code}/sensors/{sensor_id}"): Rule(OFFICE, "sensor_patch"),
    ("POST", "/api/v1/shelters/{code}/sensors/{sensor_id}/credentials"): Rule(OFFICE),
    ("GET", "/api/v1/shelters/{code}/sign.pdf"): Rule(ALL),
    ("GET", "/api/v1/signs.pdf"): Rule(ALL, query=(("district", "district"),)),
    ("GET", "/api/v1/checklist"): Rule(ALL),
    ("POST", "/api/v1/imports/shelters"): Rule(OFFICE, "import"),
    ("GET", "/api/v1/exports/shelters.{fmt}"): Rule(REPORTING),
    ("GET", "/api/v1/exports/ledger.{fmt}"): Rule(REPORTING),
    # inspections and their follow-up
    ("POST", "/api/v1/shelters/{code}/inspections"): Rule(INSPECTING, "inspection"),
    ("GET", "/api/v1/shelters/{code}/inspections"): Rule(ALL),
    ("GET", "/api/v1/inspections/{inspection_id}"): Rule(ALL),
    ("POST", "/api/v1/inspections/{inspection_id}/photos"): Rule(INSPECTING, "files"),
    ("GET", "/api/v1/corrections"): Rule(CHECKING),
    ("POST", "/api/v1/inspections/{inspection_id}/approve"): Rule(OFFICE, "note"),
    ("POST", "/api/v1/inspections/{inspection_id}/reject"): Rule(OFFICE, "note"),
    ("GET", "/api/v1/followups"): Rule(ALL),
    ("POST", "/api/v1/followups/{followup_id}/milestones/{milestone}"): Rule(
        RECORDING, "note_files", (("followup_id", "key_supervision"),)
    ),
    ("POST", "/api/v1/followups/{followup_id}/outcome"): Rule(OFFICE, "outcome"),
    ("PUT", "/api/v1/followups/{followup_id}/manufacturer"): Rule(CHECKING, "maker_choice"),
    ("POST", "/api/v1/followups/{followup_id}/manufacturer-contacts"): Rule(
        CHECKING, "maker_contact"
    ),
    ("POST", "/api/v1/manufacturers"): Rule(ADMIN, "manufacturer"),
    ("PATCH", "/api/v1/manufacturers/{manufacturer_id}"): Rule(ADMIN, "maker_patch"),
    ("GET", "/api/v1/manufacturers"): Rule(PEOPLE),
    ("POST", "/api/v1/followups/{followup_id}/outcome/corrections"): Rule(OFFICE, "correction"),
    ("POST", "/api/v1/findings/{finding_id}/fix"): Rule(FIXING, "note_files"),
    ("POST", "/api/v1/findings/{finding_id}/verify"): Rule(
        CHECKING, "note", (("finding_id", "fix_to_verify"),)
    ),
    ("POST", "/api/v1/findings/{finding_id}/reject"): Rule(
        CHECKING, "note", (("finding_id", "fix_to_reject"),)
    ),
    ("GET", "/api/v1/notices/{followup_id}.pdf"): Rule(
        ALL, params=(("followup_id", "key_supervision"),)
    ),
    ("GET", "/api/v1/referrals/{followup_id}.pdf"): Rule(ALL),
    ("GET", "/api/v1/attachments/{attachment_id}"): Rule(ALL),
    ("GET", "/api/v1/attachments/{attachment_id}/thumbnail"): Rule(ALL),
    ("GET", "/api/v1/stats/compliance"): Rule(REPORTING),
    ("GET", "/api/v1/reports/monthly.{fmt}"): Rule(OFFICE, query=(("month", "month"),)),
    # dashboards, telemetry and alerts
    ("GET", "/api/v1/dashboard"): Rule(REPORTING),
    ("GET", "/api/v1/dashboard/shelters"): Rule(REPORTING),
    ("GET", "/api/v1/shelters/{code}/overview"): Rule(ALL),
    ("GET", "/api/v1/shelters/{code}/telemetry/latest"): Rule(ALL),
    ("GET", "/api/v1/shelters/{code}/telemetry"): Rule(ALL),
    ("GET", "/api/v1/shelters/{code}/telemetry/completeness"): Rule(ALL),
    ("GET", "/api/v1/telemetry/rejects"): Rule(ADMIN),
    ("POST", "/api/v1/telemetry/rejects/reingest"): Rule(ADMIN, "empty"),
    ("GET", "/api/v1/alerts"): Rule(ALL),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): Rule(PEOPLE),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): Rule(RECORDING, "note"),
    ("GET", "/api/v1/alerts/ack"): Rule(PUBLIC),
    ("POST", "/api/v1/alerts/ack"): Rule(PUBLIC),
    ("GET", "/api/v1/alert-rules"): Rule(OFFICE),
    ("PUT", "/api/v1/alert-rules"): Rule(ADMIN, "rules"),
    ("GET", "/api/v1/platform/shelters"): Rule(PLATFORM),
    ("GET", "/api/v1/platform/summary"): Rule(PLATFORM),
    ("GET", "/api/v1/outbox"): Rule(ADMIN),
    ("GET", "/api/v1/outbox/notifications"): Rule(ADMIN),
    # sweeps
    ("POST", "/api/v1/sweeps"): Rule(ADMIN, "sweep"),
    ("GET", "/api/v1/sweeps"): Rule(CHECKING),
    ("GET", "/api/v1/sweeps/{sweep_id}"): Rule(CHECKING),
    ("GET", "/api/v1/sweeps/{sweep_id}/shelters"): Rule(CHECKING),
    ("POST", "/api/v1/sweeps/{sweep_id}/assign"): Rule(OFFICE, "assign"),
    ("POST", "/api/v1/sweeps/{sweep_id}/unassign"): Rule(OFFICE, "unassign"),
    ("PATCH", "/api/v1/sweeps/{sweep_id}"): Rule(ADMIN, "sweep_edit"),
    ("POST", "/api/v1/sweeps/{sweep_id}/shelters"): Rule(ADMIN, "unassign"),
    ("POST", "/api/v1/sweeps/{sweep_id}/shelters/remove"): Rule(ADMIN, "unassign"),
}
"""Every route of the application, by (method, path template)."""

DEFAULT_PARAMS = {
    "code": "code",
    "inspection_id": "inspection",
    "finding_id": "open_finding",
    "followup_id": "referral",
    "attachment_id": "evidence",
    "sensor_id": "sensor",
    "alert_id": "alert",
}
FIXED_PARAMS = {
    "fmt": "xlsx",
    "milestone": "containment",
    "username": "bystander",
    "sweep_id": "1",
    "manufacturer_id": "1",
}
"""Path parameters that name no object in a shelter's scope (the sweep: the world's, over SA
and SB; the manufacturer: the world's, in the office's directory)."""


def routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route the application answers; HEAD goes with GET."""
    app = client.app
    assert isinstance(app, FastAPI)
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD" and route.path is not None:
                found.add((method, route.path))
    return sorted(found)


def _path(template: str, rule: Rule, target: Target) -> str:
    fields = {**DEFAULT_PARAMS, **dict(rule.params)}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in FIXED_PARAMS:
            return FIXED_PARAMS[name]
        return str(getattr(target, fields[name]))

    return re.sub(r"\{(\w+)\}", fill, template)


def _bodies(target: Target) -> dict[str, dict[str, Any]]:
    png = {"files": [("files", ("p.png", PNG, "image/png"))]}
    return {
        "user": {"json": {"username": "newcomer", "role": "manager", "password": PASSWORD}},
        "user_patch": {"json": {"display_name": "旁观者"}},
        "shelter": {"json": {"code": "NEW-A", "name": "新工程", "district": DISTRICT_A}},
        "patch": {"json": {"address": "人民大道 1 号"}},
        "sensor": {"json": {"sensor_id": f"sensor-new-{target.code}"}},
        "sensor_patch": {"json": {"zone": "滤毒室"}},
        "inspection": {"json": {"inspected_at": "2026-06-01T09:30:00+08:00", "findings": []}},
        "files": png,
        "note_files": {**png, "data": {"note": "已整改"}},
        "import": {"files": {"file": ("s.csv", b"code,name,district\r\n", "text/csv")}},
        "outcome": {"json": {"status": "warning"}},
        "manufacturer": {"json": {"name": "人防设备厂", "products": "防护密闭门"}},
        "maker_choice": {"json": {"manufacturer_id": None}},
        "maker_patch": {"json": {"region": "上海"}},
        "maker_contact": {
            "json": {"contacted_at": "2026-06-01T10:00:00+08:00", "outcome": "已联系"}
        },
        "correction": {"json": {"status": "dismissed", "reason": "复核"}},
        "note": {"json": {"note": "核验"}},
        "rules": {"json": []},
        "password": {
            "json": {"current_password": PASSWORD, "new_password": "Brisk-Otter-Lantern-42"}
        },
        "login": {"data": {"username": "nobody", "password": "nothing-at-all"}},
        "empty": {"json": {}},
        "sweep": {
            "json": {
                "name": "巡查",
                "starts_on": "2026-05-01",
                "ends_on": "2026-06-30",
                "shelters": [target.code],
            }
        },
        "assign": {"json": {"inspector": "nobody", "shelters": [target.code]}},
        "unassign": {"json": {"shelters": [target.code]}},
        "sweep_edit": {"json": {"name": "巡查（改）"}},
    }


def _call(client: TestClient, key: tuple[str, str], target: Target, headers: dict[str, str]) -> Any:
    method, template = key
    rule = POLICY[key]
    kwargs = _bodies(target)[rule.body] if rule.body else {}
    path = _path(template, rule, target)
    return client.request(
        method,
        path,
        headers=headers,
        params={name: getattr(target, field) for name, field in rule.query},
        **kwargs,
    )


def _outcome(response: Any) -> Any:
    if response.status_code < 400:
        return response.status_code
    return response.status_code, response.json()["error"]["code"]


def test_every_route_is_in_the_policy(client: TestClient) -> None:
    missing = [key for key in routes(client) if key not in POLICY]
    assert not missing, (
        f"declare who may call {missing} in POLICY of tests/api/test_authorization.py "
        "(a Rule: the roles allowed, PUBLIC for none needed, and the body to send)"
    )
    stale = [key for key in POLICY if key not in routes(client)]
    assert not stale, f"POLICY names routes the application no longer has: {stale}"


def _guarded(client: TestClient) -> list[tuple[str, str]]:
    return [key for key in routes(client) if key in POLICY and POLICY[key].roles]


def _scoped(key: tuple[str, str]) -> bool:
    """Whether the route names an object of a shelter's scope in its path."""
    names = re.findall(r"\{(\w+)\}", key[1])
    return any(name in DEFAULT_PARAMS for name in names)


@pytest.mark.parametrize("role", ROLES)
def test_role_on_its_own_shelter(world: World, client: TestClient, role: str) -> None:
    """An allowed role is never refused on its own shelter's objects (the seeded ones: no
    alert is), nor told they do not exist; any other role is refused 403."""
    login = world.logins[role]
    target = world.targets[OWN.get(role, "SA")]
    wrong = []
    for key in _guarded(client):
        got = _outcome(_call(client, key, target, login.headers))
        status = got if isinstance(got, int) else got[0]
        allowed = role in POLICY[key].roles
        refused = (401, 403, 404) if "{alert_id}" not in key[1] else (401, 403)
        if (allowed and status in refused) or (not allowed and status != 403):
            wrong.append((key, "allowed" if allowed else "forbidden", got))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("role", list(OTHERS))
def test_out_of_scope_is_not_found(world: World, client: TestClient, role: str) -> None:
    """Another shelter's objects answer exactly as objects that do not exist (404, nothing
    leaks); a role refused the route may be refused before the lookup (403 both times)."""
    login = world.logins[role]
    other = world.targets[OTHERS[role]]
    wrong = []
    for key in filter(_scoped, _guarded(client)):
        got = _outcome(_call(client, key, other, login.headers))
        absent = _outcome(_call(client, key, MISSING_TARGET, login.headers))
        allowed = role in POLICY[key].roles
        if got != absent or (got[0] != 404 and (allowed or got[0] != 403)):
            wrong.append((key, got, absent))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.parametrize("role", ["admin", "platform"])
def test_missing_objects_are_not_found_for_see_all_roles(
    world: World, client: TestClient, role: str
) -> None:
    """A role refused the route may be refused before the lookup (403)."""
    login = world.logins[role]
    wrong = []
    for key in filter(_scoped, _guarded(client)):
        got = _outcome(_call(client, key, MISSING_TARGET, login.headers))
        allowed = role in POLICY[key].roles
        if got[0] != 404 and (allowed or got[0] != 403):
            wrong.append((key, got))
    assert not wrong, "\n".join(map(str, wrong))


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
def test_without_valid_credentials_every_route_is_401(
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
    keys = _guarded(client)
    got = {key: _outcome(_call(client, key, target, headers)) for key in keys}
    assert got == dict.fromkeys(keys, (401, code))


def test_error_body_shape(client: TestClient) -> None:
    r = client.get("/api/v1/shelters")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert set(r.json()) == {"error"}
    assert set(r.json()["error"]) == {"code", "message", "details"}


def test_officer_registers_only_in_their_district(world: World, client: TestClient) -> None:
    headers = world.logins["officer"].headers
    body = {"code": "NEW-B", "name": "新工程", "district": DISTRICT_B}
    r = client.post("/api/v1/shelters", headers=headers, json=body)
    assert _outcome(r) == (403, "forbidden")
    r = client.patch("/api/v1/shelters/SA", headers=headers, json={"district": DISTRICT_B})
    assert _outcome(r) == (403, "forbidden")
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
