"""Every request is logged and counted: by route template (never the raw path), method and
status, with its latency, and an ``X-Request-ID`` on the answer."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api.app import create_app
from api.state import AppState
from inspection.models import Role
from tests.conftest import Login, UserFactory


class Stepping:
    """A monotonic clock that moves ``step`` seconds each time it is read: a request read
    at its start and its end takes exactly ``step``."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 100.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def timed(state: AppState) -> Iterator[TestClient]:
    # an app of its own beside the one make_user logs in through: its own registry
    stepped = dataclasses.replace(state, monotonic=Stepping(0.02), metrics=CollectorRegistry())
    with TestClient(create_app(stepped)) as client:
        yield client


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text, 0 when it is absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        series, _, rest = head.partition("{")
        if series != name:
            continue
        got = ",".join(sorted(p for p in re.findall(r'\w+="[^"]*"', rest) if p))
        if got == want:
            return float(value)
    return 0.0


def test_requests_are_counted_by_route_template_and_status(
    timed: TestClient, make_user: UserFactory
) -> None:
    admin: Login = make_user(Role.ADMIN)
    for code in ("NOPE-1", "NOPE-2", "NOPE-3"):
        assert timed.get(f"/api/v1/shelters/{code}", headers=admin.headers).status_code == 404
    assert timed.get("/api/v1/shelters", headers=admin.headers).status_code == 200
    for n in range(5):
        assert timed.get(f"/no/such/path/{n}").status_code == 404

    metrics = timed.get("/metrics").text
    route = "/api/v1/shelters/{code}"
    assert (
        sample(metrics, "shelterwatch_http_requests_total", method="GET", route=route, status="404")
        == 3
    )
    assert (
        sample(
            metrics,
            "shelterwatch_http_requests_total",
            method="GET",
            route="/api/v1/shelters",
            status="200",
        )
        == 1
    )
    assert (
        sample(
            metrics,
            "shelterwatch_http_requests_total",
            method="GET",
            route="unmatched",
            status="404",
        )
        == 5
    )
    assert "NOPE-1" not in metrics and "/no/such/path" not in metrics
    # each request read the clock at its start and its end: 20 ms each, in the 25 ms bucket
    duration = "shelterwatch_http_request_duration_seconds"
    assert sample(metrics, f"{duration}_count", method="GET", route=route) == 3
    assert sample(metrics, f"{duration}_sum", method="GET", route=route) == pytest.approx(0.06)
    assert sample(metrics, f"{duration}_bucket", method="GET", route=route, le="0.01") == 0
    assert sample(metrics, f"{duration}_bucket", method="GET", route=route, le="0.025") == 3


def test_each_answer_names_its_request_and_a_forged_id_is_replaced(
    timed: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="shelterwatch.http"):
        kept = timed.get("/healthz", headers={"X-Request-ID": "gateway-42.a_b"})
        forged = timed.get("/healthz", headers={"X-Request-ID": "x\tinjected=1 " + "y" * 80})
        fresh = timed.get("/healthz")
    assert kept.headers["x-request-id"] == "gateway-42.a_b"
    assert re.fullmatch(r"[0-9a-f]{16}", forged.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
    assert fresh.headers["x-request-id"] != forged.headers["x-request-id"]
    lines = [r.getMessage() for r in caplog.records if r.name == "shelterwatch.http"]
    assert len(lines) == 3
    assert lines[0] == "GET /healthz 200 20.0ms id=gateway-42.a_b"
    assert all("injected" not in line for line in lines)
