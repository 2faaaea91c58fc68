"""The FastAPI application: built from an :class:`AppState` by the entry point."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import errors
from api.routes import auth, exchange, followups, shelters, stats, users
from api.scheduler import Ticker
from api.state import AppState

log = logging.getLogger("shelterwatch.http")

DESCRIPTION = """
ShelterWatch keeps the register of civil-defense shelters (人防工程), grades inspections into
classes 1–4 with their rectification follow-up, and serves live sensor readings and alerts.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <token>`; the smart-city platform sends its key as `X-API-Key`.
Errors are JSON: `{"error": {"code", "message", "details"}}`. Lists are paginated with
`limit` (1–500, default 50) and `offset`, and answer `{"items", "total", "limit", "offset"}`.
"""


def create_app(state: AppState, *, run_scheduler: bool = False) -> FastAPI:
    """The API over ``state``; ``run_scheduler`` also runs the periodic tick in-process."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ticker: Ticker | None = None
        if run_scheduler and state.settings.tick_interval_seconds > 0:
            ticker = Ticker(state, state.settings.tick_interval_seconds)
            ticker.start()
        try:
            yield
        finally:
            if ticker is not None:
                ticker.stop()

    app = FastAPI(title="ShelterWatch", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.sw = state
    errors.install(app)
    for module in (auth, users, shelters, followups, stats, exchange):
        app.include_router(module.router)

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
        """Readiness: the database answers a query."""
        checks: dict[str, str] = {}
        try:
            with state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, 200 if ready else 503
        )

    return app
