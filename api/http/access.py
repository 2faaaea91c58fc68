"""Every HTTP request, logged and counted: an ``X-Request-ID`` on each response (the client's
when it sent one, else a new one), one access-log line, and on ``/metrics`` the requests by
method, route and status with their latency.

The route is the template the request matched (``/api/v1/shelters/{code}``), never the raw
path, so a scanner's thousand made-up paths are one ``unmatched`` series, not a thousand.
Written as plain ASGI: Starlette's ``BaseHTTPMiddleware`` runs every request through an extra
task and memory streams, which cost more than everything else a ``304`` does.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shelterwatch.http")

UNMATCHED = "unmatched"
"""The route of a request that matched none (a 404 before any handler ran)."""
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""A client's ``X-Request-ID`` kept as sent; anything else (too long, control characters,
spaces) is replaced, so that a log line never carries what a client chose to forge."""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Latency buckets, in seconds: a 304 lands in the first, a page of 500 summaries near 0.1."""


class HttpMetrics:
    """Requests by method, route and status, and their latency by method and route."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "shelterwatch_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "shelterwatch_http_request_duration_seconds",
            "time from a request's arrival to the last byte of its answer, by method and route",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )


def route_of(scope: MutableMapping[str, Any]) -> str:
    """The template of the route that handled ``scope`` (a mount's path for static files)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def request_id(headers: list[tuple[bytes, bytes]], new: Callable[[], str]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else new()
    return new()


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


class AccessLog:
    """The ASGI middleware of the module docstring; ``monotonic`` is the clock it times
    requests with (seconds)."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, monotonic: Callable[[], float]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.monotonic = monotonic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.monotonic()
        rid = request_id(scope["headers"], _new_id)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = self.monotonic() - started
            method = scope["method"]
            route = route_of(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            log.info("%s %s %s %.1fms id=%s", method, scope["path"], status, elapsed * 1000, rid)
