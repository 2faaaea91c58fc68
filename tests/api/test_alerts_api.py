"""The monitoring and alert API: scope in every view, acknowledging and resolving (logged in
and through a signed link), the outbox and audit entries they leave, the alert rules, and the
platform feeds (ETag, changed_since, city figures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alerting.sink import sink_for
from api.http.deps import get_transitions
from api.notify.ack_links import make_ack_token
from api.state import AppState
from inspection.models import AuditEntry, Notification, Role
from telemetry.alert_rules import Severity
from telemetry.alert_store import AlertView, EventKind
from telemetry.alert_transitions import AlertTransitions
from tests.api.conftest import DISTRICT_A, DISTRICT_B, Api, error_of
from tests.api.test_views import add_sensor, iso, put_alert, put_live
from tests.conftest import TEST_SECRET, FakeClock, Login, UserFactory
from tests.telemetry.fakes import RecordingSink


@dataclass
class City:
    """SA1 and SA2 (district A, manager ``m1``), SB1 (district B, manager ``m2``); one sensor
    each; alerts ``a1`` (SA1, warning), ``a2`` (SA2, critical), ``b1`` (SB1, critical)."""

    api: Api
    people: dict[str, Login]
    alerts: dict[str, AlertView]

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.api.client.get(path, headers=self.people[who].headers, params=params)

    def post(self, who: str, path: str, json: Any = None) -> Any:
        return self.api.client.post(path, headers=self.people[who].headers, json=json)


@pytest.fixture
def city(api: Api, make_user: UserFactory, db: Session, clock: FakeClock) -> City:
    people = {
        "admin": api.admin,
        "m1": make_user(Role.MANAGER),
        "m2": make_user(Role.MANAGER),
        "officer_a": make_user(Role.DISTRICT_OFFICER, district=DISTRICT_A),
        "officer_b": make_user(Role.DISTRICT_OFFICER, district=DISTRICT_B),
        "inspector_a": make_user(Role.INSPECTOR, district=DISTRICT_A),
        "platform": make_user(Role.PLATFORM),
    }
    api.shelter("SA1", DISTRICT_A, manager=people["m1"])
    api.shelter("SA2", DISTRICT_A, manager=people["m1"])
    api.shelter("SB1", DISTRICT_B, manager=people["m2"])
    for code in ("SA1", "SA2", "SB1"):
        add_sensor(api, code, f"{code}-S1", "滤毒室")
    now = clock()
    alerts = {
        "a1": put_alert(db, "SA1-S1", "SA1", "humidity_warning", Severity.WARNING, at=now),
        "a2": put_alert(db, "SA2-S1", "SA2", "temperature_high", Severity.CRITICAL, at=now),
        "b1": put_alert(
            db,
            "SB1-S1",
            "SB1",
            "fire_risk_critical",
            Severity.CRITICAL,
            at=now,
            district=DISTRICT_B,
        ),
    }
    return City(api, people, alerts)


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


def alert_ids(city: City, who: str, **params: Any) -> set[int]:
    r = city.get(who, "/api/v1/alerts", **params)
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()["items"]}


def test_everyone_sees_only_their_own_shelters_and_alerts(city: City) -> None:
    ids = {k: v.id for k, v in city.alerts.items()}
    assert codes(city.get("m1", "/api/v1/me/shelters")) == ["SA1", "SA2"]
    assert codes(city.get("m2", "/api/v1/me/shelters")) == ["SB1"]
    assert codes(city.get("officer_a", "/api/v1/me/shelters")) == ["SA1", "SA2"]
    assert codes(city.get("officer_b", "/api/v1/me/shelters")) == ["SB1"]
    assert codes(city.get("admin", "/api/v1/me/shelters")) == ["SA1", "SA2", "SB1"]
    assert error_of(city.get("platform", "/api/v1/me/shelters")) == (403, "role_forbidden")

    page = city.get("m1", "/api/v1/me/shelters", limit=1, offset=1).json()
    assert ([i["code"] for i in page["items"]], page["total"]) == (["SA2"], 2)

    assert error_of(city.get("m1", "/api/v1/shelters/SB1/overview")) == (404, "shelter_not_found")
    assert error_of(city.get("officer_b", "/api/v1/shelters/SA1/overview")) == (
        404,
        "shelter_not_found",
    )
    assert city.get("platform", "/api/v1/shelters/SA1/overview").status_code == 200
    assert city.get("officer_a", "/api/v1/shelters/SA2/overview").status_code == 200

    assert alert_ids(city, "m1") == {ids["a1"], ids["a2"]}
    assert alert_ids(city, "m2") == {ids["b1"]}
    assert alert_ids(city, "officer_b") == {ids["b1"]}
    assert alert_ids(city, "inspector_a") == {ids["a1"], ids["a2"]}
    assert alert_ids(city, "platform") == set(ids.values())
    assert alert_ids(city, "m1", shelter="SB1") == set()
    assert alert_ids(city, "m1", district=DISTRICT_B) == set()

    for who, alert in (("m1", "b1"), ("officer_b", "a1"), ("m2", "a2")):
        path = f"/api/v1/alerts/{ids[alert]}"
        assert error_of(city.post(who, f"{path}/ack")) == (404, "alert_not_found")
        assert error_of(city.post(who, f"{path}/resolve", {"note": "x"})) == (
            404,
            "alert_not_found",
        )
    assert error_of(city.post("admin", "/api/v1/alerts/987654/ack")) == (404, "alert_not_found")


def test_platform_reads_but_never_acts(city: City) -> None:
    a1 = city.alerts["a1"].id
    assert city.get("platform", "/api/v1/alerts").status_code == 200
    assert error_of(city.post("platform", f"/api/v1/alerts/{a1}/ack")) == (403, "role_forbidden")
    assert error_of(city.post("platform", f"/api/v1/alerts/{a1}/resolve", {"note": "x"})) == (
        403,
        "role_forbidden",
    )
    assert error_of(city.post("inspector_a", f"/api/v1/alerts/{a1}/resolve", {"note": "x"})) == (
        403,
        "role_forbidden",
    )
    assert city.api.client.get("/api/v1/alerts").status_code == 401


def test_alert_filters(city: City, db: Session, clock: FakeClock) -> None:
    ids = {k: v.id for k, v in city.alerts.items()}
    assert city.post("officer_a", f"/api/v1/alerts/{ids['a2']}/ack").status_code == 200
    assert (
        city.post("m2", f"/api/v1/alerts/{ids['b1']}/resolve", {"note": "已处理"}).status_code
        == 200
    )

    assert alert_ids(city, "admin", status="active") == {ids["a1"]}
    assert alert_ids(city, "admin", status="acknowledged") == {ids["a2"]}
    assert alert_ids(city, "admin", status="resolved") == {ids["b1"]}
    assert alert_ids(city, "admin", status="open") == {ids["a1"], ids["a2"]}
    assert alert_ids(city, "admin", status="cleared") == set()
    assert alert_ids(city, "admin", severity="critical") == {ids["a2"], ids["b1"]}
    assert alert_ids(city, "admin", district=DISTRICT_B) == {ids["b1"]}
    assert alert_ids(city, "admin", shelter="SA1") == {ids["a1"]}
    assert error_of(city.get("admin", "/api/v1/alerts", status="gone")) == (422, "validation_error")
    page = city.get("admin", "/api/v1/alerts", limit=2).json()
    assert (len(page["items"]), page["total"], page["limit"]) == (2, 3, 2)


def _outbox(db: Session, kind: str) -> list[tuple[int | None, dict[str, Any]]]:
    """(recipient id, payload) of the outbox rows of one kind, oldest first; the read
    transaction is ended so that the API can write."""
    rows = db.scalars(
        select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    )
    out = [(n.recipient_id, dict(n.payload)) for n in rows]
    db.rollback()
    return out


def _platform_payloads(db: Session, kind: str) -> list[dict[str, Any]]:
    return [payload for recipient, payload in _outbox(db, kind) if recipient is None]


def _audit(db: Session, action: str) -> list[tuple[str, str, str, Any, Any]]:
    """(entity, entity id, actor, before, after) of the audit entries of one action."""
    rows = db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    out = [(e.entity, e.entity_id, e.actor, e.before, e.after) for e in rows]
    db.rollback()
    return out


def test_ack_and_resolve_queue_platform_message_and_audit(
    city: City, db: Session, clock: FakeClock
) -> None:
    a1 = city.alerts["a1"].id
    clock.advance(minutes=3)

    r = city.post("m1", f"/api/v1/alerts/{a1}/ack")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledged_at"]) == (
        "acknowledged",
        city.people["m1"].username,
        iso(clock()),
    )
    assert error_of(city.post("m1", f"/api/v1/alerts/{a1}/ack")) == (409, "alert_not_active")
    [acked] = _platform_payloads(db, "alert_acknowledged")
    assert acked["mqtt_topic"] == "shelters/SA1/alerts"
    assert (acked["alert_id"], acked["status"]) == (a1, "acknowledged")
    [entry] = _audit(db, "alert.acknowledged")
    assert entry[:3] == ("alert", str(a1), city.people["m1"].username)

    assert error_of(city.post("m1", f"/api/v1/alerts/{a1}/resolve", {})) == (
        422,
        "validation_error",
    )
    assert error_of(city.post("m1", f"/api/v1/alerts/{a1}/resolve", {"note": "  "})) == (
        422,
        "validation_error",
    )
    r = city.post("m1", f"/api/v1/alerts/{a1}/resolve", {"note": "除湿机已修复"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolve_note"], r.json()["resolved_by"]) == (
        "resolved",
        "除湿机已修复",
        city.people["m1"].username,
    )
    assert error_of(city.post("m1", f"/api/v1/alerts/{a1}/resolve", {"note": "again"})) == (
        409,
        "alert_not_open",
    )
    [resolved] = _platform_payloads(db, "alert_resolved")
    assert (resolved["mqtt_topic"], resolved["status"]) == ("shelters/SA1/alerts", "resolved")
    people = [recipient for recipient, _ in _outbox(db, "alert_resolved") if recipient]
    assert people == [city.people["m1"].id]
    assert len(_audit(db, "alert.resolved")) == 1

    a2 = city.alerts["a2"].id
    assert city.post("officer_a", f"/api/v1/alerts/{a2}/resolve", {"note": "ok"}).status_code == 200
    assert error_of(city.post("officer_a", f"/api/v1/alerts/{a2}/ack")) == (409, "alert_not_active")


def test_the_platform_message_carries_every_field_of_the_api(city: City, db: Session) -> None:
    a1 = city.alerts["a1"].id
    r = city.post("m1", f"/api/v1/alerts/{a1}/ack")
    assert r.status_code == 200, r.text
    item = r.json()
    [payload] = _platform_payloads(db, "alert_acknowledged")
    assert {key: payload.get(key) for key in item} == item
    assert (payload["event"], payload["alert_id"], payload["shelter"], payload["sensor"]) == (
        "acknowledged",
        a1,
        "SA1",
        "SA1-S1",
    )


# -- acknowledgement links ------------------------------------------------------------------


def _link(city: City, alert: str, who: str, clock: FakeClock, hours: int = 24) -> str:
    token = make_ack_token(
        city.alerts[alert].id, city.people[who].id, key=TEST_SECRET, now=clock(), hours=hours
    )
    return f"/api/v1/alerts/ack?token={token}"


def test_ack_link_shows_then_acknowledges_once(city: City, db: Session, clock: FakeClock) -> None:
    client, url = city.api.client, _link(city, "a1", "m1", clock)

    page = client.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert "humidity_warning 测试" in page.text and "未确认" in page.text
    assert 'method="post"' in page.text and "确认告警</button>" in page.text
    assert city.get("admin", "/api/v1/alerts", status="active").json()["total"] == 3

    done = client.post(url)
    assert done.status_code == 200, done.text
    assert "已确认，谢谢" in done.text
    [a1] = [
        a
        for a in city.get("admin", "/api/v1/alerts").json()["items"]
        if a["rule"] == "humidity_warning"
    ]
    assert (a1["status"], a1["acknowledged_by"]) == ("acknowledged", city.people["m1"].username)
    assert len(_platform_payloads(db, "alert_acknowledged")) == 1
    assert len(_audit(db, "alert.acknowledged")) == 1

    again = client.post(url)
    assert again.status_code == 409 and "已被确认或已解除" in again.text
    assert client.post(url, headers={"Accept": "application/json"}).json()["error"]["code"] == (
        "alert_not_active"
    )
    shown = client.get(url)
    assert shown.status_code == 200 and "<form" not in shown.text


def test_ack_link_refusals(city: City, clock: FakeClock) -> None:
    client = city.api.client
    url = _link(city, "a1", "m1", clock)
    tampered = url[:-1] + ("A" if url[-1] != "A" else "B")
    for method in (client.get, client.post):
        r = method(tampered)
        assert r.status_code == 400 and "确认链接无效" in r.text
    assert error_of(client.post(tampered, headers={"Accept": "application/json"})) == (
        400,
        "ack_link_invalid",
    )
    assert error_of(
        client.get("/api/v1/alerts/ack?token=nonsense", headers={"Accept": "application/json"})
    ) == (
        400,
        "ack_link_invalid",
    )
    assert error_of(
        client.get(_link(city, "a1", "m2", clock), headers={"Accept": "application/json"})
    ) == (
        403,
        "ack_forbidden",
    )
    assert client.post(_link(city, "a1", "platform", clock)).status_code == 403

    clock.advance(hours=24)
    r = client.post(url)
    assert r.status_code == 410 and "已过期" in r.text
    assert error_of(client.get(url, headers={"Accept": "application/json"})) == (
        410,
        "ack_link_expired",
    )
    active = city.get("admin", "/api/v1/alerts", status="active").json()["total"]
    assert active == 3


# -- alert rules ----------------------------------------------------------------------------

VALID = [
    {
        "rule": "humidity_warning",
        "scope": "shelter",
        "scope_value": "SA1",
        "enter": 80,
        "clear": 76,
    },
    {"rule": "temperature_high", "scope": "class", "scope_value": "4", "enter": 30, "clear": 29},
    {"rule": "fire_risk_warning", "scope": "sensor", "scope_value": "SA1-S1", "enabled": False},
    {"rule": "condensation", "scope": "zone", "scope_value": "滤毒室", "severity": "critical"},
]


def _problems(city: City, body: Any) -> list[tuple[int, str]]:
    r = city.api.client.put("/api/v1/alert-rules", headers=city.people["admin"].headers, json=body)
    assert error_of(r) == (422, "invalid_overrides"), r.text
    return [(d["index"], d["error"]) for d in r.json()["error"]["details"]]


def test_alert_rules_read_replace_and_audit(city: City, db: Session) -> None:
    client = city.api.client
    rules = city.get("officer_a", "/api/v1/alert-rules").json()
    assert [r["code"] for r in rules["defaults"]] == [
        "humidity_warning",
        "humidity_critical",
        "temperature_low",
        "temperature_high",
        "condensation",
        "fire_risk_warning",
        "fire_risk_critical",
        "water_leak",
    ]
    assert rules["defaults"][-1] == {
        "code": "water_leak",
        "condition": "water_leak",
        "title": "水浸报警",
        "metric": "water_leak",
        "op": "ge",
        "enter": 1.0,
        "clear": 1.0,
        "sustain_s": 0,
        "severity": "critical",
        "notice_interval_s": 0,
        "enabled": True,
    }
    assert rules["defaults"][0] == {
        "code": "humidity_warning",
        "condition": "humidity",
        "title": "湿度超过75%持续24小时",
        "metric": "humidity",
        "op": "ge",
        "enter": 75.0,
        "clear": 70.0,
        "sustain_s": 86400,
        "severity": "warning",
        "notice_interval_s": 0,
        "enabled": True,
    }
    assert (rules["overrides"], rules["offline"]["factor"]) == ([], 3)
    for who in ("m1", "inspector_a", "platform"):
        assert error_of(city.get(who, "/api/v1/alert-rules")) == (403, "role_forbidden")
    put = client.put("/api/v1/alert-rules", headers=city.people["officer_a"].headers, json=VALID)
    assert error_of(put) == (403, "role_forbidden")

    r = client.put("/api/v1/alert-rules", headers=city.people["admin"].headers, json=VALID)
    assert r.status_code == 200, r.text
    # A field an override leaves out stays as the broader scope has it (None = unchanged).
    expected = [
        {"enter": None, "clear": None, "sustain_s": None, "severity": None, "enabled": None, **o}
        for o in VALID
    ]
    for o in expected:
        o["enter"] = None if o["enter"] is None else float(o["enter"])
        o["clear"] = None if o["clear"] is None else float(o["clear"])
    assert r.json()["overrides"] == expected
    assert city.get("officer_a", "/api/v1/alert-rules").json()["overrides"] == expected
    [(_, _, actor, before, after)] = _audit(db, "alert_rules.replace")
    assert (actor, before, len(after["overrides"])) == (
        city.people["admin"].username,
        {"overrides": []},
        4,
    )

    assert (
        client.put("/api/v1/alert-rules", headers=city.people["admin"].headers, json=[]).json()[
            "overrides"
        ]
        == []
    )


def test_alert_rules_validation(city: City) -> None:
    admin = city.people["admin"].headers
    client = city.api.client
    assert client.put("/api/v1/alert-rules", headers=admin, json=VALID).status_code == 200

    def one(**fields: Any) -> dict[str, Any]:
        return {"rule": "humidity_warning", "scope": "shelter", "scope_value": "SA1", **fields}

    assert _problems(city, [one(rule="humidity_extreme")]) == [(0, "unknown rule code")]
    assert _problems(city, [one(rule="sensor_offline")]) == [(0, "unknown rule code")]
    assert _problems(city, [one(scope="class", scope_value="5")]) == [
        (0, "class scope value is 1–4")
    ]
    assert _problems(city, [one(enter=80), one(clear=60)]) == [(1, "repeats override 0")]
    assert _problems(city, [one(enter=60)]) == [
        (0, "with the default clear: clear 70 is above enter 60")
    ]
    assert _problems(city, [one(enter=70, clear=72)]) == [
        (0, "its own thresholds: clear 72 is above enter 70")
    ]
    assert _problems(city, [one(rule="temperature_low", clear=4)]) == [
        (0, "with the default enter: clear 4 is below enter 5")
    ]
    # Each is fine beside the defaults; a sensor of SA1 would get enter 72 and clear 74.
    assert _problems(
        city, [one(clear=74), one(scope="sensor", scope_value="SA1-S1", enter=72)]
    ) == [(1, "with the clear of override 0: clear 74 is above enter 72")]
    # The sensor's own clear wins over the shelter's, so this pair never meets.
    ok = [one(clear=74, enter=80), one(scope="sensor", scope_value="SA1-S1", enter=72, clear=71)]
    assert client.put("/api/v1/alert-rules", headers=admin, json=ok).status_code == 200

    bad_shape = client.put("/api/v1/alert-rules", headers=admin, json=[one(colour="red")])
    assert error_of(bad_shape) == (422, "validation_error")
    assert error_of(client.put("/api/v1/alert-rules", headers=admin, json=[one(scope="city")])) == (
        422,
        "validation_error",
    )
    assert len(city.get("admin", "/api/v1/alert-rules").json()["overrides"]) == 2


# -- platform feeds -------------------------------------------------------------------------


def test_platform_shelters_etag_round_trip(city: City, clock: FakeClock) -> None:
    client, headers = city.api.client, city.people["platform"].headers
    first = client.get("/api/v1/platform/shelters", headers=headers)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    items = first.json()["items"]
    assert [i["code"] for i in items] == ["SA1", "SA2", "SB1"]
    assert (items[0]["latitude"], items[0]["longitude"], items[1]["readiness"]) == (
        None,
        None,
        "not_ready",
    )

    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = client.get(
            "/api/v1/platform/shelters", headers={**headers, "If-None-Match": value}
        )
        assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", etag)
    assert (
        client.get(
            "/api/v1/platform/shelters", headers={**headers, "If-None-Match": '"stale"'}
        ).status_code
        == 200
    )

    clock.advance(minutes=1)
    r = client.patch(
        "/api/v1/shelters/SA2",
        headers=city.people["admin"].headers,
        json={"latitude": 31.23, "longitude": 121.47},
    )
    assert r.status_code == 200, r.text
    changed = client.get("/api/v1/platform/shelters", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["items"][1]["latitude"] == 31.23

    etag2 = changed.headers["etag"]
    assert city.post("m1", f"/api/v1/alerts/{city.alerts['a1'].id}/ack").status_code == 200
    after_ack = client.get("/api/v1/platform/shelters", headers={**headers, "If-None-Match": etag2})
    assert after_ack.status_code == 200 and after_ack.headers["etag"] != etag2

    assert (
        client.get("/api/v1/platform/shelters", headers=city.people["admin"].headers).status_code
        == 200
    )
    for who in ("m1", "officer_a"):
        assert error_of(city.get(who, "/api/v1/platform/shelters")) == (403, "role_forbidden")


def test_platform_shelters_changed_since(
    city: City, api: Api, db: Session, clock: FakeClock, make_user: UserFactory
) -> None:
    def changed(since: str, **params: Any) -> list[str]:
        return codes(
            city.get("platform", "/api/v1/platform/shelters", changed_since=since, **params)
        )

    t0 = clock()
    assert changed(iso(t0)) == ["SA1", "SA2", "SB1"]
    clock.advance(minutes=1)
    t1 = clock()
    assert changed(iso(t1)) == []

    assert (
        api.client.patch(
            "/api/v1/shelters/SA1", headers=api.admin.headers, json={"address": "人民路1号"}
        ).status_code
        == 200
    )
    assert changed(iso(t1)) == ["SA1"]
    assert changed("2026-06-01T10:01:00+08:00") == ["SA1"]

    clock.advance(minutes=1)
    t2 = clock()
    put_live(db, "SB1-S1", "SB1", seen=t2 - timedelta(seconds=30), updated=t2, humidity=65.0)
    assert changed(iso(t2)) == ["SB1"]

    clock.advance(minutes=1)
    t3 = clock()
    assert city.post("officer_a", f"/api/v1/alerts/{city.alerts['a2'].id}/ack").status_code == 200
    assert changed(iso(t3)) == ["SA2"]

    clock.advance(minutes=1)
    t4 = clock()
    inspector = make_user(Role.INSPECTOR, district=DISTRICT_B)
    api.inspect(inspector, "SB1", "EQ-RUST")
    add_sensor(api, "SA1", "SA1-S2")
    assert changed(iso(t4)) == ["SA1", "SB1"]
    page = city.get("platform", "/api/v1/platform/shelters", changed_since=iso(t4), limit=1).json()
    assert ([i["code"] for i in page["items"]], page["total"]) == (["SA1"], 2)

    naive = city.get("platform", "/api/v1/platform/shelters", changed_since="2026-06-01T02:00:00")
    assert error_of(naive) == (422, "invalid_query")


def test_platform_summary_figures(
    city: City, api: Api, db: Session, clock: FakeClock, make_user: UserFactory
) -> None:
    inspector = make_user(Role.INSPECTOR, district=DISTRICT_A)
    api.inspect(inspector, "SA1")
    api.inspect(inspector, "SA2", "EQ-RUST")
    add_sensor(api, "SB1", "SB1-S2", interval_s=300)
    clock.advance(minutes=40)
    now = clock()
    put_live(db, "SA1-S1", "SA1", seen=now - timedelta(minutes=2), water_leak=True)
    put_live(db, "SA2-S1", "SA2", seen=now - timedelta(minutes=35), water_leak=False)
    put_alert(db, "SB1-S2", "SB1", "sensor_offline", Severity.WARNING, at=now, district=DISTRICT_B)
    assert city.post("m1", f"/api/v1/alerts/{city.alerts['a1'].id}/ack").status_code == 200

    r = city.get("platform", "/api/v1/platform/summary")

    assert r.status_code == 200, r.text
    assert r.json() == {
        "as_of": iso(now),
        "active_shelters": 3,
        "shelters_by_class": {"1": 1, "2": 1, "3": 0, "4": 0, "ungraded": 1},
        "compliance_rate": 0.3333,
        "compliance_by_district": [  # ordered by name: 静安区 (B) sorts before 黄浦区 (A)
            {"district": DISTRICT_B, "active_shelters": 1, "class1_shelters": 0, "rate": 0.0},
            {"district": DISTRICT_A, "active_shelters": 2, "class1_shelters": 1, "rate": 0.5},
        ],
        "active_alerts_by_severity": {"info": 0, "warning": 1, "critical": 2},
        "acknowledged_alerts_by_severity": {"info": 0, "warning": 1, "critical": 0},
        # SA1-S1 fresh; SA2-S1 silent 35 min (> 30); SB1-S1 never heard, 40 min since it was
        # registered; SB1-S2 has an open offline alert.
        "sensors": {"total": 4, "online": 1, "offline": 3, "wet": 1},
        "shelters_with_water": 1,
        # Owed per hour: 6 + 6 + 6 + 12; credited: SA1-S1 all 6, SA2-S1 ⌊25/10⌋ + 1 = 3.
        "completeness": {
            "window_start": iso(now - timedelta(hours=1)),
            "window_end": iso(now),
            "expected": 30,
            "received": 9,
            "ratio": 0.3,
        },
    }
    for who in ("m1", "officer_a"):
        assert error_of(city.get(who, "/api/v1/platform/summary")) == (403, "role_forbidden")
    assert city.get("admin", "/api/v1/platform/summary").status_code == 200


def test_acknowledging_by_login_and_by_link_both_go_through_the_alert_transitions(
    city: City, state: AppState, db: Session, clock: FakeClock
) -> None:
    """The route and the signed link acknowledge through the one AlertTransitions of the
    request; resolving too. Its sink hears each once, with who did it, and hands it on to the
    outbox."""
    heard = RecordingSink(then=sink_for(state))
    app = cast(FastAPI, city.api.client.app)
    app.dependency_overrides[get_transitions] = lambda: AlertTransitions(heard)
    try:
        a1, a2 = city.alerts["a1"].id, city.alerts["a2"].id
        assert city.post("m1", f"/api/v1/alerts/{a1}/ack").status_code == 200
        assert city.api.client.post(_link(city, "a2", "m1", clock)).status_code == 200
        assert city.api.client.post(_link(city, "a2", "m1", clock)).status_code == 409
        resolved = city.post("officer_a", f"/api/v1/alerts/{a1}/resolve", {"note": "已处理"})
        assert resolved.status_code == 200
    finally:
        app.dependency_overrides.pop(get_transitions)
    m1, officer = city.people["m1"].username, city.people["officer_a"].username
    assert [(e.kind, e.alert.id, e.actor) for e in heard.events] == [
        (EventKind.ACKNOWLEDGED, a1, m1),
        (EventKind.ACKNOWLEDGED, a2, m1),
        (EventKind.RESOLVED, a1, officer),
    ]
    assert len(_platform_payloads(db, "alert_acknowledged")) == 2
    assert len(_platform_payloads(db, "alert_resolved")) == 1


def test_a_missing_alert_is_not_found(city: City) -> None:
    for path, body in (("ack", None), ("resolve", {"note": "x"})):
        assert error_of(city.post("admin", f"/api/v1/alerts/999999/{path}", body)) == (
            404,
            "alert_not_found",
        )
