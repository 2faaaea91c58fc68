"""The directory of protective-equipment manufacturers (added to and edited by the city
office, read by everyone) and a class 3 ledger entry's help in
reaching one: naming the manufacturer, recording each contact (who, when, outcome), shown on
the follow-up and in the ledger export (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection.models import AuditEntry
from tests.api.conftest import CODE, World, error_of

MAKER = {
    "name": "华北人防设备有限公司",
    "products": "防护密闭门、密闭阀门、封堵构件",
    "region": "北京",
    "contact_name": "孙经理",
    "contact_phone": "010-88886666",
}


def _maker(world: World, **fields: Any) -> dict[str, Any]:
    r = world.api.client.post(
        "/api/v1/manufacturers", headers=world.api.admin.headers, json={**MAKER, **fields}
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _ledger(world: World) -> dict[str, Any]:
    body = world.api.inspect(world.inspector, CODE, "SEAL-PARTS-MISSING")
    [ledger] = body["followups"]
    assert ledger["kind"] == "ledger"
    return ledger


def test_the_directory_is_kept_by_the_city_office_and_read_by_everyone(world: World) -> None:
    maker = _maker(world)
    assert {k: maker[k] for k in MAKER} == MAKER
    _maker(world, name="江南防护设备厂", products="过滤吸收器", region="上海")
    again = world.api.client.post(
        "/api/v1/manufacturers", headers=world.api.admin.headers, json=MAKER
    )
    assert error_of(again) == (409, "manufacturer_exists")
    bad = world.api.client.post(
        "/api/v1/manufacturers", headers=world.api.admin.headers, json={"name": "厂\x07"}
    )
    assert error_of(bad) == (422, "validation_error")
    refused = world.api.client.post(
        "/api/v1/manufacturers", headers=world.officer.headers, json={"name": "某厂"}
    )
    assert error_of(refused) == (403, "role_forbidden")
    for params, names in (
        ({}, ["华北人防设备有限公司", "江南防护设备厂"]),
        ({"q": "过滤"}, ["江南防护设备厂"]),
        ({"region": "北京"}, ["华北人防设备有限公司"]),
        ({"limit": 1}, ["华北人防设备有限公司"]),
    ):
        r = world.api.client.get(
            "/api/v1/manufacturers", headers=world.manager.headers, params=params
        )
        assert r.status_code == 200, r.text
        assert [m["name"] for m in r.json()["items"]] == names, params
        assert r.json()["total"] == (2 if "limit" in params else len(names))


def test_the_city_office_edits_an_entry_of_the_directory(world: World, db: Session) -> None:
    maker = _maker(world)
    other = _maker(world, name="江南防护设备厂")
    client, admin = world.api.client, world.api.admin.headers
    path = f"/api/v1/manufacturers/{maker['id']}"
    change = {"contact_name": "钱经理", "contact_phone": "010-88887777", "region": "天津"}
    r = client.patch(path, headers=admin, json=change)
    assert r.status_code == 200, r.text
    assert r.json() == {**maker, **change}
    assert client.patch(path, headers=admin, json={"name": maker["name"]}).status_code == 200
    assert error_of(client.patch(path, headers=admin, json={"name": other["name"]})) == (
        409,
        "manufacturer_exists",
    )
    assert error_of(client.patch(path, headers=admin, json={"name": None})) == (422, "null_field")
    assert error_of(client.patch(path, headers=admin, json={"region": "北\n京"})) == (
        422,
        "validation_error",
    )
    assert error_of(client.patch("/api/v1/manufacturers/999", headers=admin, json={})) == (
        404,
        "manufacturer_not_found",
    )
    refused = client.patch(path, headers=world.officer.headers, json={"region": "上海"})
    assert error_of(refused) == (403, "role_forbidden")
    r = client.get("/api/v1/manufacturers", headers=world.manager.headers, params={"q": "华北"})
    assert [(m["region"], m["contact_name"]) for m in r.json()["items"]] == [("天津", "钱经理")]
    db.rollback()
    audited = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "manufacturer.update").order_by(AuditEntry.id)
    ).all()
    assert audited[0].before is not None and audited[0].before["region"] == "北京"
    assert audited[0].after is not None and audited[0].after["region"] == "天津"


def test_a_ledger_entry_names_its_manufacturer_and_records_each_contact(world: World) -> None:
    maker = _maker(world)
    ledger = _ledger(world)
    path = f"/api/v1/followups/{ledger['id']}"
    client = world.api.client
    contact = {"contacted_at": "2026-06-02T10:00:00+08:00", "outcome": "厂家答复一周内供货"}
    r = client.post(f"{path}/manufacturer-contacts", headers=world.officer.headers, json=contact)
    assert error_of(r) == (422, "no_manufacturer")
    r = client.put(
        f"{path}/manufacturer", headers=world.officer.headers, json={"manufacturer_id": 999}
    )
    assert error_of(r) == (404, "manufacturer_not_found")
    r = client.put(
        f"{path}/manufacturer",
        headers=world.officer.headers,
        json={"manufacturer_id": maker["id"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["manufacturer"]["name"] == MAKER["name"]
    named = client.patch(
        f"/api/v1/users/{world.officer.username}",
        headers=world.api.admin.headers,
        json={"display_name": "陈敏"},
    )
    assert named.status_code == 200, named.text
    r = client.post(f"{path}/manufacturer-contacts", headers=world.officer.headers, json=contact)
    assert r.status_code == 201, r.text
    [made] = r.json()["manufacturer_contacts"]
    assert (made["manufacturer"], made["outcome"], made["recorded_by_name"]) == (
        MAKER["name"],
        "厂家答复一周内供货",
        "陈敏",
    )
    for who in (world.manager, world.officer_b):
        r = client.post(f"{path}/manufacturer-contacts", headers=who.headers, json=contact)
        assert r.status_code in (403, 404), r.text
    listed = world.api.followups(kind="ledger")["items"]
    assert [len(f["manufacturer_contacts"]) for f in listed] == [1]

    export = client.get("/api/v1/exports/ledger.csv", headers=world.api.admin.headers)
    assert export.status_code == 200, export.text
    [header, row] = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    record = dict(zip(header, row, strict=True))
    assert record["防护设备厂家"] == MAKER["name"]
    assert record["厂家联系记录"] == "2026-06-02 10:00 陈敏：厂家答复一周内供货"


def test_only_a_ledger_entry_names_a_manufacturer(world: World) -> None:
    maker = _maker(world)
    [notice] = world.api.inspect(world.inspector, CODE, "EQ-RUST")["followups"]
    r = world.api.client.put(
        f"/api/v1/followups/{notice['id']}/manufacturer",
        headers=world.officer.headers,
        json={"manufacturer_id": maker["id"]},
    )
    assert error_of(r) == (422, "not_a_ledger")
