"""The API against its own OpenAPI document, with schemathesis: requests generated from the
document (valid ones and invalid ones) are sent in process to the application by an admin and
by every other role, and no answer may be a server error or differ from the schema documented
for its status. A route added tomorrow is fuzzed the day it is added.

Every role runs on SQLite, the admin on PostgreSQL too (its strictness finds what SQLite
lets pass). Bounds keep the run to two minutes on a slow machine: a few examples per
operation, fewer for the routes that upload files or render PDF and spreadsheets, no
shrinking, and the routes
that revoke the caller's own credentials (logout, password change, API key rotation) run last
with users of their own. Generation is derandomized: the same examples on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.schemas import APIOperation

from inspection.models import Role
from tests.api.conftest import CODE, DISTRICT_A, World
from tests.conftest import Login, UserFactory

EXAMPLES = 5
"""Examples per operation, role and generation mode."""
HEAVY_EXAMPLES = 2
"""The same for uploads, imports, PDF and spreadsheet routes."""
DEADLINE_MS = 5_000
"""Longest time one example may take (an in-process request on a slow, shared core)."""

SELF_REVOKING = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/users/{username}/api-key"),
}
"""Routes that end the caller's own session or credentials: run last, with fresh users."""
HEAVY_SUFFIXES = (".pdf", ".{fmt}", "/photos", "/fix", "/imports/shelters")

ROLES = {
    "admin": Role.ADMIN,
    "inspector": Role.INSPECTOR,
    "manager": Role.MANAGER,
    "district_officer": Role.DISTRICT_OFFICER,
    "platform": Role.PLATFORM,
}
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass(frozen=True)
class Seeded:
    """Path parameters naming objects that exist, so generated requests also reach past the
    lookups (generated values almost always name nothing)."""

    values: dict[str, Any]

    def for_operation(self, operation: APIOperation) -> dict[str, Any]:
        names = {p.name for p in operation.path_parameters}
        return {name: value for name, value in self.values.items() if name in names}


def _seed(world: World) -> Seeded:
    api = world.api
    body = api.inspect(world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING", "OCCUPATION")
    finding = body["findings"][1]["id"]
    assert api.fix(world.manager, finding).status_code == 200
    read = api.client.get(f"/api/v1/inspections/{body['id']}", headers=api.admin.headers)
    [attachment] = read.json()["findings"][1]["attachments"]
    r = api.client.post(
        f"/api/v1/shelters/{CODE}/sensors", headers=api.admin.headers, json={"sensor_id": "S-1"}
    )
    assert r.status_code == 201, r.text
    return Seeded(
        {
            "code": CODE,
            "inspection_id": body["id"],
            "finding_id": body["findings"][0]["id"],
            "followup_id": body["followups"][0]["id"],
            "attachment_id": attachment["id"],
            "sensor_id": "S-1",
        }
    )


def _login(world: World, make_user: UserFactory, role: str) -> Login:
    return {
        "admin": world.api.admin,
        "inspector": world.inspector,
        "manager": world.manager,
        "district_officer": world.officer,
    }.get(role) or make_user(ROLES[role])


def _fresh(make_user: UserFactory, role: str) -> Login:
    district = DISTRICT_A if ROLES[role] in {Role.INSPECTOR, Role.DISTRICT_OFFICER} else None
    return make_user(ROLES[role], district=district)


def _key(operation: APIOperation) -> tuple[str, str]:
    return operation.method.upper(), operation.path


def _operations(app: FastAPI) -> list[APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(
    operation: APIOperation, seeded: Seeded, headers: Callable[[], dict[str, str]]
) -> list[str]:
    """Run one operation's examples; the failures, described (empty when none)."""
    heavy = operation.path.endswith(HEAVY_SUFFIXES)
    failures: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        cases = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE:
            path = seeded.for_operation(operation)
            cases |= operation.as_strategy(generation_mode=mode, path_parameters=path)

        @settings(
            max_examples=HEAVY_EXAMPLES if heavy else EXAMPLES,
            deadline=DEADLINE_MS,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def run(case: Case) -> None:
            response = case.call(headers=headers())
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # nothing in this operation's request can be invalid (no body, free-form strings)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and reported
            failures.append(f"{_key(operation)} {mode.value}: {type(exc).__name__}: {exc}")
    return failures


@pytest.mark.parametrize(
    ("db_url", "role"),
    [
        *(("sqlite", role) for role in ROLES),
        pytest.param("postgres", "admin", marks=pytest.mark.postgres),
    ],
    indirect=["db_url"],
)
def test_every_operation_conforms_to_the_openapi_document(
    world: World, client: TestClient, make_user: UserFactory, role: str
) -> None:
    seeded = _seed(world)
    app = client.app
    assert isinstance(app, FastAPI)
    operations = _operations(app)
    assert len(operations) > 50
    failures: list[str] = []
    login = _login(world, make_user, role)
    for operation in operations:
        if _key(operation) not in SELF_REVOKING:
            failures += _fuzz(operation, seeded, lambda: login.headers)
    fresh = _fresh(make_user, role)
    for operation in operations:
        if _key(operation) in SELF_REVOKING:
            failures += _fuzz(operation, seeded, lambda: fresh.headers)
    assert not failures, "\n\n".join(failures)


def test_every_api_route_documents_its_refusals_with_the_error_schema(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, methods in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            for status in ("401", "403", "404", "409", "422"):
                body = operation["responses"].get(status, {}).get("content", {})
                assert body.get("application/json", {}).get("schema") == error, (
                    method,
                    path,
                    status,
                )
