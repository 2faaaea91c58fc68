"""The 工程长 as a contact before and after the office gives them an account, and the
responsible unit's contact, through the HTTP API: set on the shelter, shown on its reads and
views and printed on its notice and sign; an account given from the API or from
``shelterwatch user create --shelter`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.processes import cli
from inspection.models import AuditEntry
from tests import pdf_tools
from tests.api.conftest import DISTRICT_A, Api, error_of

CODE = "SH-C01"
CONTACT = {
    "manager_contact_name": "周建华",
    "manager_contact_phone": "13700000002",
    "responsible_unit": "外滩物业管理有限公司",
    "responsible_unit_contact": "赵主任",
    "responsible_unit_phone": "010-66001234",
}
PASSWORD = "walnut-lantern-orbit-42"


def _create(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"code": CODE, "name": "外滩地下工程", "district": DISTRICT_A, **fields}
    r = api.client.post("/api/v1/shelters", headers=api.admin.headers, json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _shelter(api: Api) -> dict[str, Any]:
    r = api.client.get(f"/api/v1/shelters/{CODE}", headers=api.admin.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _give_account(api: Api, username: str, **fields: Any) -> dict[str, Any]:
    body = {"username": username, "role": "manager", "password": PASSWORD, "shelter": CODE}
    r = api.client.post("/api/v1/users", headers=api.admin.headers, json={**body, **fields})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_a_manager_without_an_account_is_a_contact_on_the_register(api: Api) -> None:
    created = _create(api, **CONTACT)
    assert {k: created[k] for k in CONTACT} == CONTACT
    assert (created["manager"], created["manager_name"], created["manager_phone"]) == (
        None,
        "周建华",
        "13700000002",
    )
    r = api.client.patch(
        f"/api/v1/shelters/{CODE}",
        headers=api.admin.headers,
        json={"manager_contact_phone": "13700000003", "responsible_unit_phone": ""},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["manager_phone"], r.json()["responsible_unit_phone"]) == ("13700000003", "")
    listed = api.client.get(
        "/api/v1/shelters", headers=api.admin.headers, params={"q": CODE}
    ).json()["items"]
    assert [(s["manager_name"], s["manager_phone"]) for s in listed] == [("周建华", "13700000003")]


def test_contact_fields_refuse_control_characters_line_breaks_and_null(api: Api) -> None:
    _create(api)
    for field, value in (
        ("manager_contact_name", "周\x07建华"),
        ("manager_contact_phone", "137\n0000"),
        ("responsible_unit_contact", "x" * 129),
        ("responsible_unit_phone", "1" * 33),
    ):
        r = api.client.patch(
            f"/api/v1/shelters/{CODE}", headers=api.admin.headers, json={field: value}
        )
        assert error_of(r) == (422, "validation_error"), (field, r.text)
    r = api.client.patch(
        f"/api/v1/shelters/{CODE}", headers=api.admin.headers, json={"manager_contact_name": None}
    )
    assert error_of(r) == (422, "null_field")


def test_an_account_given_for_the_shelter_is_linked_and_takes_the_contact(
    api: Api, db: Session
) -> None:
    _create(api, **CONTACT)
    user = _give_account(api, "mgr_zhou")
    assert (user["role"], user["display_name"], user["phone"]) == (
        "manager",
        "周建华",
        "13700000002",
    )
    shelter = _shelter(api)
    assert (shelter["manager"], shelter["manager_name"], shelter["manager_phone"]) == (
        "mgr_zhou",
        "周建华",
        "13700000002",
    )
    # The account's own name and phone take precedence over the contact fields.
    r = api.client.patch(
        "/api/v1/users/mgr_zhou", headers=api.admin.headers, json={"phone": "13911112222"}
    )
    assert r.status_code == 200, r.text
    assert _shelter(api)["manager_phone"] == "13911112222"
    # The new manager sees their shelter at once.
    token = api.client.post(
        "/api/v1/auth/token", data={"username": "mgr_zhou", "password": PASSWORD}
    ).json()["access_token"]
    mine = api.client.get("/api/v1/me/shelters", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200, mine.text
    assert [(s["code"], s["manager_name"]) for s in mine.json()["items"]] == [(CODE, "周建华")]
    db.rollback()
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == CODE).order_by(AuditEntry.id)
    ).all()
    assert actions == ["shelter.create", "shelter.update"]


def test_an_account_for_a_shelter_must_be_a_manager_of_a_registered_shelter(api: Api) -> None:
    _create(api)
    body = {"username": "insp_x", "role": "inspector", "password": PASSWORD, "shelter": CODE}
    r = api.client.post("/api/v1/users", headers=api.admin.headers, json=body)
    assert error_of(r) == (422, "shelter_needs_manager")
    body = {**body, "role": "manager", "shelter": "NOPE"}
    r = api.client.post("/api/v1/users", headers=api.admin.headers, json=body)
    assert error_of(r) == (404, "shelter_not_found")
    assert _shelter(api)["manager"] is None


@pytest.mark.usefixtures("cli_env")
def test_the_cli_gives_a_manager_an_account_for_one_or_more_shelters(
    api: Api, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(api, **CONTACT)
    api.shelter("SH-C02")
    args = ["user", "create", "mgr_zhou", "--role", "manager", "--password", PASSWORD]
    assert cli.main([*args, "--shelter", CODE, "--shelter", "SH-C02", "--shelter", CODE]) == 0
    out = capsys.readouterr().out
    assert "created manager mgr_zhou" in out and f"manager of {CODE}, SH-C02" in out
    # as from the API: linked, the contact's name and phone taken from the first shelter
    for code in (CODE, "SH-C02"):
        r = api.client.get(f"/api/v1/shelters/{code}", headers=api.admin.headers)
        assert (r.json()["manager"], r.json()["manager_name"]) == ("mgr_zhou", "周建华"), code
    r = api.client.get("/api/v1/users", headers=api.admin.headers)
    [made] = [u for u in r.json()["items"] if u["username"] == "mgr_zhou"]
    assert (made["display_name"], made["phone"]) == ("周建华", "13700000002")
    db.rollback()
    actions = db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_id.in_([CODE, "SH-C02"]))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["shelter.create", "shelter.create", "shelter.update", "shelter.update"]


@pytest.mark.usefixtures("cli_env")
def test_the_cli_refuses_a_shelter_for_another_role_or_one_not_registered(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(api)
    capsys.readouterr()
    base = ["user", "create", "someone", "--password", PASSWORD, "--shelter", CODE]
    assert cli.main([*base, "--role", "inspector"]) == 1
    assert "only a manager account can be given for a shelter" in capsys.readouterr().err
    assert cli.main([*base, "--role", "manager", "--shelter", "NOPE"]) == 1
    assert "NOPE" in capsys.readouterr().err
    # nothing was kept of the refused command: no account, the first shelter still unlinked
    assert _shelter(api)["manager"] is None
    r = api.client.get("/api/v1/users", headers=api.admin.headers)
    assert "someone" not in [u["username"] for u in r.json()["items"]]


def test_notice_and_sign_print_the_contact_of_a_manager_without_an_account(
    api: Api, client: TestClient, tmp_path: Path
) -> None:
    _create(api, **CONTACT)
    r = api.submit(api.admin, CODE, "EQ-RUST")
    assert r.status_code == 201, r.text
    [notice] = r.json()["followups"]
    path = tmp_path / "notice.pdf"
    response = client.get(f"/api/v1/notices/{notice['id']}.pdf", headers=api.admin.headers)
    assert response.status_code == 200, response.text
    path.write_bytes(response.content)
    text = pdf_tools.text(path)
    assert "工程长：周建华；联系电话：13700000002。" in text
    sign = tmp_path / "sign.pdf"
    response = client.get(f"/api/v1/shelters/{CODE}/sign.pdf", headers=api.admin.headers)
    assert response.status_code == 200, response.text
    sign.write_bytes(response.content)
    text = pdf_tools.text(sign)
    assert "工程长周建华" in text and "联系电话13700000002" in text
