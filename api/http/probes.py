"""What every ShelterWatch process serves over HTTP: health probes and metrics.

The API (``api.app``) and the ingester's small probe app both use these; the ingester loads
only this module of the HTTP side, not the API's routes.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.state import AppState


class Component(Protocol):
    """Something a process starts with the app and stops at shutdown (in reverse order)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


Checks = Callable[[], dict[str, str]]
"""A readiness check: names a dependency and says "ok" or what is wrong, checked now."""


def create_probe_app(
    state: AppState, *, components: Sequence[Component], checks: Checks
) -> FastAPI:
    """The ingester's HTTP side: liveness, readiness (``checks``: broker and store, checked
    now) and Prometheus metrics; ``components`` start and stop with it."""
    app = FastAPI(
        title="ShelterWatch ingester",
        lifespan=lifespan(components),
        docs_url=None,
        redoc_url=None,
    )
    add_probes(app, state, checks)
    return app


def lifespan(
    components: Sequence[Component],
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start ``components`` with the app and stop them, in reverse order, at shutdown."""

    @asynccontextmanager
    async def run(_app: FastAPI) -> AsyncIterator[None]:
        for component in components:
            component.start()
        try:
            yield
        finally:
            for component in reversed(components):
                component.stop()

    return run


INFO_ONLY = frozenset({"spool_depth"})
"""Entries of the readiness checks that inform rather than pass or fail."""


def add_probes(
    app: FastAPI, state: AppState, checks: Checks, *, metrics_token: str | None = None
) -> None:
    """``/healthz`` (the process answers), ``/readyz`` (``checks`` run now; 503 unless all
    pass) and ``/metrics`` (Prometheus): open, or with ``metrics_token`` only to a request
    sending ``Authorization: Bearer <metrics_token>`` (else 401 ``metrics_token_required``).
    The ingester's probe app, on its private port, leaves it open."""

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Readiness: every dependency checked now."""
        found = checks()
        ready = all(v == "ok" for k, v in found.items() if k not in INFO_ONLY)
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": found},
            200 if ready else 503,
        )

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics(request: Request) -> Response:
        """Prometheus metrics of this process."""
        if metrics_token is not None:
            sent = request.headers.get("authorization", "")
            expected = f"Bearer {metrics_token}"
            if not hmac.compare_digest(sent.encode(), expected.encode()):
                return JSONResponse(
                    {
                        "error": {
                            "code": "metrics_token_required",
                            "message": "send the metrics token as a bearer token",
                            "details": None,
                        }
                    },
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return PlainTextResponse(generate_latest(state.metrics), media_type=CONTENT_TYPE_LATEST)
