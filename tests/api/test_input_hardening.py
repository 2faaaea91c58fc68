"""Input that once broke or fooled the API: control characters in text (and the Excel exports
they broke), LIKE wildcards in searches, booleans and strings passed off as numbers, and
integers past the database's 64 bits in paths, queries and bodies."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session

from inspection.models import Role, Shelter
from tests.api.conftest import CODE, DISTRICT_A, PNG, Api, World, error_of
from tests.conftest import UserFactory

TOO_BIG = 2**64  # 18446744073709551616: past every 64-bit column
JUST_PAST = 2**63  # 9223372036854775808: one past the largest BIGINT


def _create(api: Api, **fields: Any) -> Any:
    """Register a shelter; the body is ASCII JSON, so even a lone surrogate gets through."""
    body = {"code": "NEW-1", "name": "新工程", "district": DISTRICT_A, **fields}
    headers = {**api.admin.headers, "Content-Type": "application/json"}
    return api.client.post("/api/v1/shelters", headers=headers, content=json.dumps(body))


# ---------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"name": "Fine\u0001"}, id="name-soh"),
        pytest.param({"name": "两行\n名称"}, id="name-newline"),
        pytest.param({"district": "黄浦\t区"}, id="district-tab"),
        pytest.param({"address": "人民大道\x1b[31m1号"}, id="address-escape"),
        pytest.param({"responsible_unit": "单位\x00"}, id="unit-nul"),
        pytest.param({"peacetime_use": "停车\x85场"}, id="use-c1"),
        pytest.param({"address": "路\ud800"}, id="lone-surrogate"),
    ],
)
def test_control_characters_are_refused_in_text_fields(api: Api, fields: dict[str, str]) -> None:
    r = _create(api, **fields)
    assert error_of(r) == (422, "validation_error"), r.text
    [field] = fields
    assert [d["loc"] for d in r.json()["error"]["details"]] == [["body", field]]


def test_multi_line_text_keeps_its_line_breaks(world: World) -> None:
    api = world.api
    note = "东侧防护门\n锈蚀\t严重\r\n已拍照"
    r = api.submit(world.inspector, CODE, {"item": "EQ-RUST", "note": note}, note=note)
    assert r.status_code == 201, r.text
    assert r.json()["findings"][0]["note"] == note
    bad = api.submit(world.inspector, CODE, {"item": "EQ-RUST", "note": "锈蚀\x07"})
    assert error_of(bad) == (422, "validation_error")


def test_control_characters_are_refused_in_form_fields_and_channel_profiles(
    world: World, client: TestClient
) -> None:
    api = world.api
    finding = api.inspect(world.inspector, CODE, "EQ-RUST")["findings"][0]["id"]
    r = client.post(
        f"/api/v1/findings/{finding}/fix",
        headers=world.manager.headers,
        data={"note": "已整改\x01"},
        files=[("files", ("fix.png", PNG, "image/png"))],
    )
    assert error_of(r) == (422, "validation_error")
    r = client.patch(
        f"/api/v1/users/{world.manager.username}",
        headers=api.admin.headers,
        json={"display_name": "李\x08工"},
    )
    assert error_of(r) == (422, "validation_error")


def _sheet_values(content: bytes) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_a_control_character_stored_earlier_never_breaks_an_excel_export(
    world: World, client: TestClient, db: Session
) -> None:
    """Rows written before input was checked (or by a direct database edit) still export."""
    api = world.api
    api.inspect(world.inspector, CODE, "EQ-RUST")  # class 2: a notice in the ledger
    db.execute(update(Shelter).where(Shelter.code == CODE).values(name="Fine\u0001\u001f"))
    db.commit()
    for export in ("shelters", "ledger"):
        r = client.get(f"/api/v1/exports/{export}.xlsx", headers=api.admin.headers)
        assert r.status_code == 200, r.text
        cells = [c for row in _sheet_values(r.content) for c in row]
        assert "Fine\ufffd\ufffd" in cells, export


# ---------------------------------------------------------------- searches


def test_like_wildcards_in_a_search_match_themselves(api: Api) -> None:
    for code, name in (("A-1", "100%完好"), ("B_2", "北区二号"), ("C-3", "东区三号")):
        assert _create(api, code=code, name=name).status_code == 201

    def found(q: str) -> list[str]:
        r = api.client.get("/api/v1/shelters", headers=api.admin.headers, params={"q": q})
        assert r.status_code == 200, r.text
        return [s["code"] for s in r.json()["items"]]

    assert found("%") == ["A-1"]
    assert found("_") == ["B_2"]
    assert found("\\") == []
    assert found("区") == ["B_2", "C-3"]


# ---------------------------------------------------------------- strict types


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"longitude": False}, id="bool-longitude"),
        pytest.param({"latitude": "31.2"}, id="string-latitude"),
        pytest.param({"area_m2": True}, id="bool-area"),
        pytest.param({"use_registered": 1}, id="int-bool"),
        pytest.param({"signage_installed": "yes"}, id="string-bool"),
        pytest.param({"active": "false"}, id="string-active"),
    ],
)
def test_booleans_and_numbers_are_strict(api: Api, fields: dict[str, Any]) -> None:
    assert error_of(_create(api, **fields)) == (422, "validation_error")


def test_whole_numbers_are_numbers_and_not_a_number_is_not(api: Api) -> None:
    r = _create(api, latitude=31, longitude=121, area_m2=800)
    assert r.status_code == 201, r.text
    assert (r.json()["latitude"], r.json()["area_m2"]) == (31.0, 800.0)
    raw = '{"code": "NEW-2", "name": "新", "district": "黄浦区", "area_m2": NaN}'
    r = api.client.post(
        "/api/v1/shelters",
        headers={**api.admin.headers, "Content-Type": "application/json"},
        content=raw,
    )
    assert error_of(r) == (422, "validation_error")


def test_strict_fields_of_sensors_findings_and_outcomes(world: World, client: TestClient) -> None:
    headers = world.api.admin.headers
    r = client.post(
        f"/api/v1/shelters/{CODE}/sensors",
        headers=headers,
        json={"sensor_id": "S-1", "expected_interval_s": True},
    )
    assert error_of(r) == (422, "validation_error")
    r = world.api.submit(world.inspector, CODE, {"item": "EQ-RUST", "fixed_on_spot": 1})
    assert error_of(r) == (422, "validation_error")


def test_a_csv_import_still_reads_numbers_and_refuses_a_non_number(api: Api) -> None:
    content = (
        "code,name,district,latitude,area_m2\r\n"
        "IM-1,导入一号,黄浦区,31.23,1200.5\r\n"
        "IM-2,导入二号,黄浦区,north,\r\n"
    ).encode()
    r = api.client.post(
        "/api/v1/imports/shelters",
        headers=api.admin.headers,
        files={"file": ("shelters.csv", content, "text/csv")},
        data={"only_valid": "true"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["imported"], report["rejected"]) == (1, 1)
    assert "expected a number" in report["errors"][0]["errors"][0]
    r = api.client.get("/api/v1/shelters/IM-1", headers=api.admin.headers)
    assert (r.json()["latitude"], r.json()["area_m2"]) == (31.23, 1200.5)


# ---------------------------------------------------------------- 64-bit integers


def _integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("anyOf", ())
    )


def _integer_params(client: TestClient, where: str) -> list[tuple[str, str, str]]:
    """(method, path, parameter) of every integer parameter ``where`` ("path" or "query") in
    the route table, as the OpenAPI document lists it: a new route is checked the day it
    is added."""
    found = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method, operation in methods.items():
            for param in operation.get("parameters", ()):
                if param["in"] == where and _integer(param["schema"]):
                    found.append((method.upper(), path, param["name"]))
    return found


def _fill(path: str, **values: object) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), "SH-001")), path)


def test_every_integer_in_a_path_past_64_bits_answers_422(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    params = _integer_params(client, "path")
    assert len(params) >= 9  # inspections, photos, outcome, fix, verify, reject, notice, alerts
    for method, path, name in params:
        r = client.request(method, _fill(path, **{name: TOO_BIG}), headers=admin.headers)
        assert r.status_code == 422, (method, path, r.text)
        locs = [d["loc"] for d in r.json()["error"]["details"]]
        assert ["path", name] in locs, (method, path, locs)


def test_every_integer_in_a_query_past_64_bits_answers_422(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    params = _integer_params(client, "query")
    assert ("GET", "/api/v1/shelters", "offset") in params
    for method, path, name in params:
        r = client.request(method, _fill(path), headers=admin.headers, params={name: JUST_PAST})
        assert r.status_code == 422, (method, path, name, r.text)
        locs = [d["loc"] for d in r.json()["error"]["details"]]
        assert ["query", name] in locs, (method, path, locs)


def test_the_largest_offset_is_an_empty_page(client: TestClient, make_user: UserFactory) -> None:
    admin = make_user(Role.ADMIN)
    for path in ("/api/v1/shelters", "/api/v1/followups", "/api/v1/alerts", "/api/v1/users"):
        r = client.get(path, headers=admin.headers, params={"offset": JUST_PAST - 1})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["items"] == []


def test_an_id_past_64_bits_in_a_body_answers_422(world: World) -> None:
    r = world.api.submit(world.inspector, CODE, "EQ-RUST", corrects=TOO_BIG)
    assert error_of(r) == (422, "validation_error")
    assert json.loads(r.text)["error"]["details"][0]["loc"] == ["body", "corrects"]


def test_alert_rule_overrides_and_resolve_notes_are_checked_too(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    override = {"rule": "humidity_warning", "scope": "shelter", "scope_value": "SH-001"}
    for bad in (
        {"enter": True, "clear": 76},
        {"enter": "80", "clear": 76},
        {"enabled": 0},
        {"sustain_s": 60.0},
        {"scope_value": "SH\x00001"},
    ):
        r = client.put("/api/v1/alert-rules", headers=admin.headers, json=[{**override, **bad}])
        assert error_of(r) == (422, "validation_error"), bad
    r = client.post("/api/v1/alerts/1/resolve", headers=admin.headers, json={"note": "已处理\x1b"})
    assert error_of(r) == (422, "validation_error")


def test_every_row_id_in_a_path_past_32_bits_answers_422(
    client: TestClient, make_user: UserFactory
) -> None:
    """Ids are 32-bit columns: on PostgreSQL a larger one made the lookup itself fail (500)."""
    admin = make_user(Role.ADMIN)
    for method, path, name in _integer_params(client, "path"):
        r = client.request(method, _fill(path, **{name: 2**31}), headers=admin.headers)
        assert r.status_code == 422, (method, path, r.text)
        r = client.request(method, _fill(path, **{name: 2**31 - 1}), headers=admin.headers)
        assert r.status_code != 422 or ["path", name] not in [
            d["loc"] for d in r.json()["error"]["details"]
        ], (method, path, r.text)


@pytest.mark.parametrize(
    ("path", "loc"),
    [
        pytest.param("/api/v1/audit?entity=%00", ["query", "entity"], id="audit-nul"),
        pytest.param("/api/v1/shelters?district=a%01b", ["query", "district"], id="district-soh"),
        pytest.param("/api/v1/followups?shelter=%1b", ["query", "shelter"], id="shelter-escape"),
        pytest.param("/api/v1/shelters/SH%00001", ["path"], id="code-nul"),
    ],
)
def test_control_characters_in_a_path_or_query_answer_422(
    client: TestClient, make_user: UserFactory, path: str, loc: list[str]
) -> None:
    """A NUL in a query made PostgreSQL refuse the whole statement (500)."""
    r = client.get(path, headers=make_user(Role.ADMIN).headers)
    assert error_of(r) == (422, "validation_error"), r.text
    assert [d["loc"] for d in r.json()["error"]["details"]] == [loc]
