"""The outbox view of the city office: notifications sent, failing, dead, undeliverable and
waiting, by channel and by recipient, through the real delivery worker and a real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.notify.channels import WebhookChannel
from api.notify.delivery import DeliveryWorker
from api.state import AppState
from inspection.models import Role
from tests.api.conftest_delivery import HOOK_SECRET, Receiver, add_notification, add_person
from tests.conftest import FakeClock, UserFactory


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def test_the_city_office_sees_where_notifications_stand(
    state: AppState,
    client: TestClient,
    make_user: UserFactory,
    receiver: Receiver,
    clock: FakeClock,
) -> None:
    admin = make_user(Role.ADMIN)
    officer = make_user(Role.DISTRICT_OFFICER, district="黄浦区")
    sessions = state.sessions

    def hooked(name: str, path: str) -> int:
        profile = {
            "email": False,
            "webhook": {"url": f"{receiver.url}/{path}", "secret": HOOK_SECRET},
        }
        return add_person(sessions, name, now=clock(), channels=profile)

    bare = add_person(sessions, "mgr-bare", now=clock())
    busy, refusing, fine = (
        hooked("mgr-busy", "busy"),
        hooked("mgr-no", "no"),
        hooked("mgr-ok", "ok"),
    )
    for key, user in (("n1", bare), ("n2", busy), ("n3", refusing), ("n4", fine)):
        add_notification(sessions, key, now=clock(), recipient_id=user)
    receiver.script = [(503, b"busy"), (400, b"no such hook")]  # in delivery order: n2, n3
    with httpx.Client() as http:
        worker = DeliveryWorker(state, {"webhook": WebhookChannel(5.0, http)}, interval_s=60)
        worker.run_once()
    add_notification(sessions, "n5", now=clock(), recipient_id=fine)  # not planned yet

    r = client.get("/api/v1/outbox", headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    counts = {"pending": 1, "failed": 1, "sent": 1, "dead": 1, "undeliverable": 1}
    assert body["notifications"] == counts
    assert body["by_channel"] == [
        {"channel": "webhook", "pending": 0, "failed": 1, "sent": 1, "dead": 1, "undeliverable": 0},
        {"channel": "none", "pending": 0, "failed": 0, "sent": 0, "dead": 0, "undeliverable": 1},
    ]
    by_recipient = {row["recipient"]: row for row in body["by_recipient"]}
    assert [row["recipient"] for row in body["by_recipient"]][:2] == ["mgr-bare", "mgr-no"]
    assert (by_recipient["mgr-ok"]["sent"], by_recipient["mgr-ok"]["pending"]) == (1, 1)
    assert by_recipient["mgr-busy"]["failed"] == 1

    def listed(**params: Any) -> list[tuple[str | None, str, str]]:
        r = client.get("/api/v1/outbox/notifications", headers=admin.headers, params=params)
        assert r.status_code == 200, r.text
        return [(i["recipient"], i["state"], i["last_error"]) for i in r.json()["items"]]

    assert listed(state="undeliverable") == [
        ("mgr-bare", "undeliverable", "recipient has no channel")
    ]
    assert listed(state="dead") == [("mgr-no", "dead", "webhook: HTTP 400: no such hook")]
    assert listed(state="failed") == [("mgr-busy", "failed", "webhook: HTTP 503: busy")]
    assert listed(channel="none") == listed(state="undeliverable")
    assert [who for who, _s, _e in listed(recipient="mgr-ok")] == ["mgr-ok", "mgr-ok"]
    listing = client.get(
        "/api/v1/outbox/notifications", headers=admin.headers, params={"channel": "webhook"}
    )
    page = listing.json()
    assert page["total"] == 3
    [dead] = [i for i in page["items"] if i["state"] == "dead"]
    assert dead["deliveries"] == [
        {
            "channel": "webhook",
            "state": "dead",
            "attempts": 1,
            "last_error": "HTTP 400: no such hook",
            "delivered_at": None,
        }
    ]
    assert receiver.url not in listing.text  # targets (URLs with keys) are never shown

    assert client.get("/api/v1/outbox", headers=officer.headers).status_code == 403
    bad = client.get("/api/v1/outbox/notifications", headers=admin.headers, params={"state": "x"})
    assert bad.status_code == 422
