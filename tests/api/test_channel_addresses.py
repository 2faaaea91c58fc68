"""Channel URLs never reach internal addresses: refused when a profile is saved (422) and
again when a message is sent, with the resolver answered from a table (no real DNS)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.notify.addresses import AddressGuard, ForbiddenAddress, UnresolvableHost, internal_reason
from api.notify.channels import ChannelError, OutgoingMessage, WebhookChannel
from api.notify.guarded_http import guarded_client
from api.state import AppState
from inspection.models import Role
from tests.api.conftest_delivery import HOOK_SECRET, Receiver
from tests.conftest import FakeResolver, UserFactory

MESSAGE = OutgoingMessage(1, "test", "subject", "body", {}, datetime(2026, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("fd00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address judged, never bound
        ("::", "unspecified"),
        ("::ffff:169.254.169.254", "link_local"),
        ("100.64.0.1", "not_global"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_internal_addresses_are_named(address: str, reason: str | None) -> None:
    assert internal_reason(ipaddress.ip_address(address)) == reason


def test_guard_checks_literals_and_every_resolved_address() -> None:
    resolver = FakeResolver(
        {"meta.example.cn": ["169.254.169.254"], "mixed.example.cn": ["93.184.215.14", "10.0.0.1"]}
    )
    guard = AddressGuard(resolver, frozenset({"hooks.internal"}))
    for url in (
        "http://127.0.0.1:8080/x",
        "http://[::1]/x",
        "http://meta.example.cn/latest",
        "https://mixed.example.cn/x",
    ):
        with pytest.raises(ForbiddenAddress):
            guard.check_url(url)
    guard.check_url("https://hooks.example.cn/x")
    guard.check_url("http://HOOKS.internal:9000/x")  # allowed by name, never resolved
    assert "hooks.internal" not in resolver.asked


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9000/hook", "channel_address_forbidden"),
        ("http://169.254.169.254/latest/meta-data", "channel_address_forbidden"),
        ("http://[fd00::1]/hook", "channel_address_forbidden"),
        ("http://10.0.0.8/hook", "channel_address_forbidden"),
        ("http://0.0.0.0/hook", "channel_address_forbidden"),
        ("https://intranet.example.cn/hook", "channel_address_forbidden"),
        ("https://gone.example.cn/hook", "channel_host_unresolvable"),
    ],
)
def test_profile_naming_an_internal_address_is_refused(
    client: TestClient, make_user: UserFactory, resolver: FakeResolver, url: str, code: str
) -> None:
    resolver.names.update({"intranet.example.cn": ["192.168.3.4"], "gone.example.cn": []})
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    for channels in (
        {"webhook": {"url": url, "secret": HOOK_SECRET}},
        {"wecom": {"url": f"{url}?key=k"}},
        {"dingtalk": {"url": url, "secret": "SEC1"}},
    ):
        r = client.patch(
            f"/api/v1/users/{manager.username}", headers=admin.headers, json={"channels": channels}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text
    r = client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "username": "mgr-ssrf",
            "role": "manager",
            "password": "correct-horse-battery",
            "channels": {"webhook": {"url": url, "secret": HOOK_SECRET}},
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, code), r.text


def test_allowed_hosts_setting_admits_a_named_internal_host(
    client: TestClient, make_user: UserFactory, resolver: FakeResolver, state: AppState
) -> None:
    resolver.names["hooks.office.lan"] = ["10.20.0.5"]
    admin = make_user(Role.ADMIN)
    manager = make_user(Role.MANAGER)
    body = {"channels": {"webhook": {"url": "http://hooks.office.lan/sw", "secret": HOOK_SECRET}}}
    path = f"/api/v1/users/{manager.username}"
    assert client.patch(path, headers=admin.headers, json=body).status_code == 422
    state.settings.webhook_allowed_hosts = ["hooks.office.lan"]
    assert client.patch(path, headers=admin.headers, json=body).status_code == 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def test_send_resolves_again_and_refuses_an_internal_answer(receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    resolver = FakeResolver({"hooks.example.cn": ["93.184.215.14"]})
    with guarded_client(AddressGuard(resolver), 5.0) as client:
        channel = WebhookChannel(5.0, client)
        resolver.names["hooks.example.cn"] = ["127.0.0.1"]  # the name moved after the check
        with pytest.raises(ChannelError) as refused:
            channel.send(f"http://hooks.example.cn:{port}/hook", MESSAGE, secret=HOOK_SECRET)
        assert refused.value.retryable is False
        with pytest.raises(ChannelError):
            channel.send(f"http://169.254.169.254:{port}/x", MESSAGE, secret=HOOK_SECRET)
    assert receiver.requests == []


def test_send_to_an_allowed_host_is_delivered(receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    resolver = FakeResolver({"hooks.office.lan": ["127.0.0.1"]})
    guard = AddressGuard(resolver, frozenset({"hooks.office.lan", "127.0.0.1"}))
    with guarded_client(guard, 5.0) as client:
        WebhookChannel(5.0, client).send(f"http://127.0.0.1:{port}/hook", MESSAGE, secret="s")
    [request] = receiver.requests
    assert request.path == "/hook"


def test_a_redirect_is_never_followed(receiver: Receiver) -> None:
    receiver.default = (302, b"{}")
    port = receiver.url.rsplit(":", 1)[1]
    guard = AddressGuard(FakeResolver(), frozenset({"127.0.0.1"}))
    with guarded_client(guard, 5.0) as client, pytest.raises(ChannelError) as refused:
        WebhookChannel(5.0, client).send(f"http://127.0.0.1:{port}/hook", MESSAGE, secret="s")
    assert refused.value.retryable is False
    assert len(receiver.requests) == 1


def test_unresolvable_host_is_a_refused_address() -> None:
    with pytest.raises(UnresolvableHost):
        AddressGuard(FakeResolver({"nx.example.cn": []})).check_url("https://nx.example.cn/")
