"""The FastAPI application: built from an :class:`AppState` by the entry point."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api import errors
from api.db import READ_ONLY
from api.routes import alerts, auth, exchange, followups, shelters, stats, telemetry, users
from api.scheduler import Periodic, run_tick
from api.state import AppState
from telemetry.errors import TelemetryError

log = logging.getLogger("shelterwatch.http")

DESCRIPTION = """
ShelterWatch keeps the register of civil-defense shelters (人防工程), grades inspections into
classes 1–4 with their rectification follow-up, and serves live sensor readings and alerts.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <token>`; the smart-city platform sends its key as `X-API-Key`.
Errors are JSON: `{"error": {"code", "message", "details"}}`. Lists are paginated with
`limit` (1–500, default 50) and `offset`, and answer `{"items", "total", "limit", "offset"}`.
"""


class Component(Protocol):
    """Something a process starts with the app and stops at shutdown (in reverse order)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(
    state: AppState, *, run_scheduler: bool = False, components: Sequence[Component] = ()
) -> FastAPI:
    """The API over ``state``; ``run_scheduler`` also runs the periodic tick in-process, and
    ``components`` (broker, ingester, simulator) start and stop with the app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[Component] = []
        if run_scheduler and state.settings.tick_interval_seconds > 0:
            started.append(
                Periodic(
                    "inspection-tick", lambda: run_tick(state), state.settings.tick_interval_seconds
                )
            )
        started[:0] = list(components)
        for component in started:
            component.start()
        try:
            yield
        finally:
            for component in reversed(started):
                component.stop()

    app = FastAPI(title="ShelterWatch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.sw = state
    errors.install(app)
    for module in (auth, users, shelters, followups, stats, exchange, telemetry, alerts):
        app.include_router(module.router)
    app.include_router(users.audit_router)

    @app.middleware("http")
    async def access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        log.info(
            "%s %s %s %.1fms id=%s",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
            request_id,
        )
        return response

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers a query, the reading store answers, and (when
        this process ingests) the broker is connected."""
        checks: dict[str, str] = {}
        try:
            with state.engine.connect().execution_options(**READ_ONLY) as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except SQLAlchemyError as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            state.readings.check()
            checks["reading_store"] = "ok"
        except TelemetryError as exc:
            checks["reading_store"] = f"error: {exc.message}"
        if state.ingest is not None:
            checks.update(state.ingest.checks())
        ready = all(v == "ok" for k, v in checks.items() if k != "spool_depth")
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
        )

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus metrics of this process."""
        return PlainTextResponse(generate_latest(state.metrics), media_type=CONTENT_TYPE_LATEST)

    return app


def create_probe_app(state: AppState, *, components: Sequence[Component]) -> FastAPI:
    """The ingester's HTTP side: liveness, readiness (broker and store checked now) and
    Prometheus metrics; ``components`` start and stop with it."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for component in components:
            component.start()
        try:
            yield
        finally:
            for component in reversed(components):
                component.stop()

    app = FastAPI(title="ShelterWatch ingester", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        checks = state.ingest.checks() if state.ingest else {"ingester": "not running"}
        ready = all(v == "ok" for k, v in checks.items() if k != "spool_depth")
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
        )

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(state.metrics), media_type=CONTENT_TYPE_LATEST)

    return app
