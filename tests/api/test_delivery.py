"""Delivery of the outbox through real receivers: a local HTTP server (webhook, WeCom,
DingTalk), an in-process SMTP server and the real Mosquitto; retries, backoff, dead letters,
concurrent workers on PostgreSQL, and signed acknowledgement links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import session_factory
from api.notify.ack_links import AckLinks, InvalidAckToken, ack_url, make_ack_token, read_ack_token
from api.notify.channels import (
    Channel,
    ChannelProfile,
    DingTalkChannel,
    EmailChannel,
    MqttChannel,
    WebhookChannel,
    WeComChannel,
    close_channels,
)
from api.notify.delivery import DeliveryWorker, build_channels
from api.notify.metrics import NotifyMetrics
from api.settings import Settings
from api.state import AppState
from inspection.models import OutboxStatus, User
from telemetry.mqtt import BrokerAddress
from tests.api.conftest_delivery import (
    HOOK_SECRET,
    MQTT_HOST,
    MQTT_PORT,
    Receiver,
    SmtpSink,
    TopicSubscriber,
    add_notification,
    add_person,
    attempts,
    deliveries,
    hook_user,
    notification,
    plan_all,
    run_due,
    wait_until,
)
from tests.conftest import TEST_SECRET, FakeClock

DING_SECRET = "SEC0123456789abcdef"
KEY = "k" * 40


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def test_webhook_retries_with_backoff_until_delivered(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    receiver.script = [(500, b"busy"), (500, b"busy")]
    user = hook_user(sessions, receiver, clock)
    nid = add_notification(sessions, "n1", now=clock(), recipient_id=user, payload={"v": 86})
    assert plan_all(sessions, clock) == 1
    channels = {"webhook": WebhookChannel(5.0, http)}

    def run() -> int:
        report = run_due(sessions, clock, channels)
        return report.attempted

    assert run() == 1
    assert run() == 0  # the next try waits 30 s
    clock.advance(seconds=30)
    assert run() == 1
    clock.advance(seconds=119)
    assert run() == 0  # the second wait is 2 min
    clock.advance(seconds=1)
    assert run() == 1
    clock.advance(hours=7)
    assert run() == 0

    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (OutboxStatus.DELIVERED, 3)
    assert delivery.target == f"{receiver.url}/hook"  # the secret stays in the profile
    assert [a.ok for a in attempts(sessions)] == [False, False, True]
    assert notification(sessions, nid).status == OutboxStatus.SENT
    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1
    for request in receiver.requests:
        stamp = request.headers["X-ShelterWatch-Timestamp"]
        mac = hmac.new(HOOK_SECRET.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256)
        assert request.headers["X-ShelterWatch-Signature"] == f"sha256={mac.hexdigest()}"
        assert request.headers["X-ShelterWatch-Delivery"] == str(nid)
    doc = json.loads(receiver.requests[0].body)
    assert set(doc) == {"id", "kind", "subject", "body", "payload", "created_at", "ack_url"}
    assert (doc["id"], doc["payload"], doc["ack_url"]) == (nid, {"v": 86}, None)


def test_refused_webhook_is_dead_after_one_attempt(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    receiver.default = (400, b"bad request")
    nid = add_notification(
        sessions, "n1", now=clock(), recipient_id=hook_user(sessions, receiver, clock)
    )
    plan_all(sessions, clock)
    report = run_due(sessions, clock, {"webhook": WebhookChannel(5.0, http)})
    assert (report.attempted, report.dead) == (1, 1)
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (OutboxStatus.DEAD, 1)
    assert "HTTP 400" in delivery.last_error
    assert notification(sessions, nid).status == OutboxStatus.DEAD


def test_max_attempts_makes_delivery_and_notification_dead(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    receiver.default = (503, b"down")
    nid = add_notification(
        sessions, "n1", now=clock(), recipient_id=hook_user(sessions, receiver, clock)
    )
    plan_all(sessions, clock)
    channels = {"webhook": WebhookChannel(5.0, http)}
    outcomes = []
    for wait in (0, 30, 120):
        clock.advance(seconds=wait)
        report = run_due(sessions, clock, channels, max_attempts=3)
        outcomes.append((report.retrying, report.dead))
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    [delivery] = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == (OutboxStatus.DEAD, 3)
    found = notification(sessions, nid)
    assert (found.status, found.attempts) == (OutboxStatus.DEAD, 3)
    assert found.last_error.startswith("webhook: HTTP 503")


def test_email_reaches_a_real_smtp_server(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    sink = SmtpSink()
    sink.start()
    try:
        user = add_person(sessions, "mgr-mail", now=clock(), email="gcz@example.cn")
        nid = add_notification(
            sessions, "n1", now=clock(), recipient_id=user, payload={"alert_id": 42}
        )
        plan_all(sessions, clock)
        channel = EmailChannel("127.0.0.1", sink.port, None, None, "alerts@example.cn", False, 5.0)
        links = AckLinks("https://sw.example.cn/", KEY, 24)
        report = run_due(sessions, clock, {"email": channel}, links=links)
    finally:
        sink.stop()
    assert report.delivered == 1
    [(rcpt_tos, mail, text)] = sink.mails()
    assert rcpt_tos == ["gcz@example.cn"]
    assert mail["Subject"] == "湿度告警：测试工程 滤毒室"
    assert mail["Message-ID"] == f"<notification-{nid}@shelterwatch>"
    assert "滤毒室相对湿度 86%" in text
    link = text.rsplit("：", 1)[1].strip()
    assert link.startswith("https://sw.example.cn/api/v1/alerts/ack?token=")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert read_ack_token(token, key=KEY, now=clock()) == (42, user)


def test_wecom_and_dingtalk_robot_formats(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    profile = {
        "wecom": {"url": f"{receiver.url}/wecom?key=abc"},
        "dingtalk": {"url": f"{receiver.url}/ding?access_token=xyz", "secret": DING_SECRET},
    }
    user = add_person(sessions, "mgr-robots", now=clock(), channels=profile)
    add_notification(sessions, "n1", now=clock(), recipient_id=user)
    assert plan_all(sessions, clock) == 2
    channels: dict[str, Channel] = {
        "wecom": WeComChannel(5.0, http),
        "dingtalk": DingTalkChannel(5.0, http),
    }
    report = run_due(sessions, clock, channels)
    assert report.delivered == 2
    by_path = {urlsplit(r.path).path: r for r in receiver.requests}
    wecom = json.loads(by_path["/wecom"].body)
    assert wecom["msgtype"] == "markdown"
    assert set(wecom) == {"msgtype", "markdown"}
    assert "湿度告警：测试工程 滤毒室" in wecom["markdown"]["content"]
    ding_request = by_path["/ding"]
    ding = json.loads(ding_request.body)
    assert ding["msgtype"] == "markdown"
    assert ding["markdown"]["title"] == "湿度告警：测试工程 滤毒室"
    assert "滤毒室相对湿度 86%" in ding["markdown"]["text"]
    query = parse_qs(urlsplit(ding_request.path).query)
    assert query["access_token"] == ["xyz"]
    stamp = query["timestamp"][0]
    mac = hmac.new(DING_SECRET.encode(), f"{stamp}\n{DING_SECRET}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(mac.digest()).decode()]
    assert all(DING_SECRET not in d.target for d in deliveries(sessions))


def test_robot_errcode_is_a_retryable_failure(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    receiver.default = (200, b'{"errcode":310000,"errmsg":"sign not match"}')
    profile = {"dingtalk": {"url": f"{receiver.url}/ding?access_token=xyz"}}
    user = add_person(sessions, "mgr-ding", now=clock(), channels=profile)
    add_notification(sessions, "n1", now=clock(), recipient_id=user)
    plan_all(sessions, clock)
    report = run_due(sessions, clock, {"dingtalk": DingTalkChannel(5.0, http)})
    assert report.retrying == 1
    [delivery] = deliveries(sessions)
    assert delivery.status == OutboxStatus.PENDING
    assert delivery.next_attempt_at == clock() + timedelta(seconds=30)
    assert "errcode 310000" in delivery.last_error
    assert "timestamp=" not in receiver.requests[0].path  # no secret, no signature


@pytest.mark.mqtt
def test_mqtt_delivery_reaches_a_subscriber(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    topic = f"shelters/T{uuid.uuid4().hex[:10]}/alerts"
    subscriber = TopicSubscriber(topic)
    subscriber.start()
    channel = MqttChannel(BrokerAddress(MQTT_HOST, MQTT_PORT), client_id=f"t-{uuid.uuid4().hex}")
    try:
        payload = {"mqtt_topic": topic, "alert_id": 5, "severity": "critical"}
        nid = add_notification(
            sessions, "platform", now=clock(), recipient_id=None, payload=payload
        )
        assert plan_all(sessions, clock) == 1
        report = run_due(sessions, clock, {"mqtt": channel})
        assert report.delivered == 1
        assert subscriber.arrived.wait(10)
    finally:
        channel.close()
        subscriber.stop()
    [message] = [json.loads(p) for p in subscriber.payloads]
    assert (message["id"], message["payload"], message["ack_url"]) == (nid, payload, None)
    assert deliveries(sessions)[0].target == topic


def test_plan_is_idempotent_and_keeps_secrets_out(
    sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    profile = {
        "webhook": {"url": "https://hooks.example.cn/sw", "secret": HOOK_SECRET},
        "wecom": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"},
        "dingtalk": {
            "url": "https://oapi.dingtalk.com/robot/send?access_token=t1",
            "secret": DING_SECRET,
        },
    }
    user = add_person(sessions, "mgr-all", now=clock(), email="gcz@example.cn", channels=profile)
    add_notification(sessions, "n1", now=clock(), recipient_id=user)
    assert plan_all(sessions, clock) == 4
    assert plan_all(sessions, clock) == 0
    rows = deliveries(sessions)
    assert sorted(d.channel for d in rows) == ["dingtalk", "email", "webhook", "wecom"]
    assert not [d for d in rows if HOOK_SECRET in d.target or DING_SECRET in d.target]


def test_recipient_without_a_usable_channel_is_undeliverable_and_counted(
    state: AppState, receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    sessions = state.sessions
    bare = add_person(sessions, "mgr-bare", now=clock())
    mail_only = add_person(sessions, "mgr-mail", now=clock(), email="a@example.cn")
    hooked = hook_user(sessions, receiver, clock)
    first = add_notification(sessions, "n1", now=clock(), recipient_id=bare)
    second = add_notification(sessions, "n2", now=clock(), recipient_id=mail_only)
    third = add_notification(sessions, "n3", now=clock(), recipient_id=hooked)
    # A server with webhooks only (no SMTP): mail cannot reach anyone.
    worker = DeliveryWorker(
        state,
        {"webhook": WebhookChannel(5.0, http)},
        interval_s=60,
        metrics=NotifyMetrics(state.metrics),
    )
    worker.run_once()
    expected = {
        first: (OutboxStatus.UNDELIVERABLE, "recipient has no channel"),
        second: (
            OutboxStatus.UNDELIVERABLE,
            "no channel of the recipient is configured here: email",
        ),
        third: (OutboxStatus.SENT, ""),
    }
    for nid, (status, error) in expected.items():
        found = notification(sessions, nid)
        assert (found.status, found.last_error) == (status, error), nid
    assert [d.channel for d in deliveries(sessions)] == ["webhook"]

    def counted(channel: str, outcome: str) -> float | None:
        labels = {"channel": channel, "outcome": outcome}
        return state.metrics.get_sample_value("shelterwatch_notifications_total", labels)

    assert (counted("none", "undeliverable"), counted("webhook", "delivered")) == (2.0, 1.0)


def test_target_removed_from_profile_or_unconfigured_channel_is_dead(
    sessions: sessionmaker[Session], receiver: Receiver, http: httpx.Client, clock: FakeClock
) -> None:
    user = hook_user(sessions, receiver, clock)
    mailer = add_person(sessions, "mgr-mail", now=clock(), email="a@example.cn")
    add_notification(sessions, "n1", now=clock(), recipient_id=user)
    add_notification(sessions, "n2", now=clock(), recipient_id=mailer)
    plan_all(sessions, clock)
    with sessions() as session:
        session.get_one(User, user).channels = {}
        session.commit()
    report = run_due(sessions, clock, {"webhook": WebhookChannel(5.0, http)})
    assert report.dead == 2
    errors = sorted(d.last_error for d in deliveries(sessions))
    assert errors == [
        "channel 'email' is not configured on this server",
        "target is no longer in the recipient's channel profile",
    ]
    assert receiver.requests == []


def test_two_workers_on_postgresql_send_each_delivery_once(
    engine: Engine, sessions: sessionmaker[Session], receiver: Receiver, clock: FakeClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED claiming needs PostgreSQL; SQLite runs a single worker")
    receiver.delay = 0.01
    user = hook_user(sessions, receiver, clock)
    for i in range(20):
        add_notification(sessions, f"n{i}", now=clock(), recipient_id=user)
    assert plan_all(sessions, clock) == 20
    barrier = threading.Barrier(2)
    reports: list[int] = []

    def work() -> None:
        with httpx.Client() as client:
            barrier.wait()
            report = run_due(sessions, clock, {"webhook": WebhookChannel(5.0, client)})
            reports.append(report.attempted)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(reports) == 20
    assert len(receiver.requests) == 20
    assert len({r.headers["X-ShelterWatch-Delivery"] for r in receiver.requests}) == 20
    assert {d.status for d in deliveries(sessions)} == {OutboxStatus.DELIVERED}
    assert len(attempts(sessions)) == 20


def test_worker_thread_plans_and_delivers(
    state: AppState, receiver: Receiver, clock: FakeClock
) -> None:
    user = hook_user(state.sessions, receiver, clock)
    nid = add_notification(
        state.sessions, "n1", now=clock(), recipient_id=user, payload={"alert_id": 9}
    )
    channels: dict[str, Channel] = {"webhook": WebhookChannel(5.0, httpx.Client())}
    worker = DeliveryWorker(state, channels, interval_s=0.05)
    worker.start()
    try:
        assert wait_until(lambda: notification(state.sessions, nid).status == OutboxStatus.SENT)
    finally:
        worker.stop()
    doc = json.loads(receiver.requests[0].body)
    token = parse_qs(urlsplit(doc["ack_url"]).query)["token"][0]
    assert doc["ack_url"].startswith(f"{state.settings.public_base_url}/api/v1/alerts/ack?")
    assert read_ack_token(token, key=TEST_SECRET, now=clock()) == (9, user)


def test_build_channels_from_settings(tmp_path: Any) -> None:
    bare = Settings(var_dir=tmp_path, _env_file=None)
    channels = build_channels(bare, None)
    assert sorted(channels) == ["dingtalk", "webhook", "wecom"]
    close_channels(channels.values())
    full = Settings(var_dir=tmp_path, smtp_host="127.0.0.1", _env_file=None)
    channels = build_channels(full, "mqtt://127.0.0.1:1883")
    assert sorted(channels) == ["dingtalk", "email", "mqtt", "webhook", "wecom"]
    close_channels(channels.values())


@pytest.mark.parametrize(
    "raw",
    [
        {"webhook": {"url": "https://h.example.cn/x"}},  # a webhook needs its secret
        {"webhook": {"url": "https://h.example.cn/x", "secret": "short"}},
        {"wecom": {"url": "not a url"}},
        {"sms": True},
    ],
)
def test_channel_profile_refuses_invalid_entries(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ChannelProfile.parse(raw)


def test_channel_profile_targets_and_secrets() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=t"
    profile = ChannelProfile.parse({"email": False, "dingtalk": {"url": url, "secret": "S"}})
    assert profile.targets("a@example.cn") == [("dingtalk", url)]
    assert profile.secret_for("dingtalk", url) == "S"
    assert profile.secret_for("dingtalk", "https://elsewhere.example.cn/") is None
    assert ChannelProfile.parse(None).targets("a@example.cn") == [("email", "a@example.cn")]


def test_ack_token_round_trip_tamper_and_expiry(clock: FakeClock) -> None:
    token = make_ack_token(17, 3, key=KEY, now=clock(), hours=24)
    assert read_ack_token(token, key=KEY, now=clock()) == (17, 3)
    link = ack_url("https://sw.example.cn/", token)
    assert link == f"https://sw.example.cn/api/v1/alerts/ack?token={token}"
    alert, user, expiry, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    bad = [
        (f"18.{user}.{expiry}.{signature}", KEY, "bad_signature"),
        (f"{alert}.{user}.{expiry}.{flipped}", KEY, "bad_signature"),
        (token, "x" * 40, "bad_signature"),
        (f"{alert}.{user}.{signature}", KEY, "malformed"),
        ("", KEY, "malformed"),
    ]
    for candidate, key, reason in bad:
        with pytest.raises(InvalidAckToken) as caught:
            read_ack_token(candidate, key=key, now=clock())
        assert caught.value.reason == reason
    clock.advance(hours=24, seconds=-1)
    assert read_ack_token(token, key=KEY, now=clock()) == (17, 3)
    clock.advance(seconds=1)
    with pytest.raises(InvalidAckToken) as caught:
        read_ack_token(token, key=KEY, now=clock())
    assert caught.value.reason == "expired"
