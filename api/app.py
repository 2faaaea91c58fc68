"""The FastAPI application: built from an :class:`AppState` by the entry point."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.db import READ_ONLY
from api.http import errors
from api.http.access import AccessLog, HttpMetrics
from api.http.auth import LoginMetrics
from api.http.probes import Checks, Component, add_probes, lifespan
from api.http.request_text import RefuseControlCharacters
from api.http.routes import (
    alerts,
    attachments,
    auth,
    corrections,
    dashboard,
    exchange,
    followups,
    manufacturers,
    outbox,
    reports,
    shelters,
    signs,
    stats,
    sweeps,
    telemetry,
    users,
)
from api.http.view_version import Bodies
from api.state import AppState
from api.web import install as install_web
from telemetry.errors import TelemetryError

DESCRIPTION = """
ShelterWatch keeps the register of civil-defense shelters (人防工程), grades inspections into
classes 1–4 with their rectification follow-up, and serves live sensor readings and alerts.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <token>`; the smart-city platform sends its key as `X-API-Key`.
Errors are JSON: `{"error": {"code", "message", "details"}}`. Lists are paginated with
`limit` (1–500, default 50) and `offset`, and answer `{"items", "total", "limit", "offset"}`.
"""


def create_app(
    state: AppState,
    *,
    components: Sequence[Component] = (),
    extra_checks: Sequence[Checks] = (),
) -> FastAPI:
    """The API over ``state``. ``components`` (jobs, broker, ingester, simulator) start with
    the app and stop, in reverse order, at shutdown; ``extra_checks`` join readiness."""

    app = FastAPI(
        title="ShelterWatch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan(components),
        docs_url=None,  # served offline by api.web
        redoc_url=None,
    )
    app.state.sw = state
    app.state.bodies = Bodies()
    app.state.login_metrics = LoginMetrics(state.metrics)
    errors.install(app)
    for module in (
        auth,
        users,
        shelters,
        signs,
        followups,
        manufacturers,
        attachments,
        corrections,
        sweeps,
        stats,
        dashboard,
        exchange,
        reports,
        telemetry,
        alerts,
        outbox,
    ):
        app.include_router(module.router)
    app.include_router(users.audit_router)
    app.include_router(auth.me_router)

    app.add_middleware(RefuseControlCharacters)
    app.add_middleware(AccessLog, metrics=HttpMetrics(state.metrics), monotonic=state.monotonic)

    def checks() -> dict[str, str]:
        """The database and the reading store answer a query now, and (when this process
        ingests) the broker is connected."""
        out: dict[str, str] = {}
        try:
            with state.engine.connect().execution_options(**READ_ONLY) as conn:
                conn.execute(text("SELECT 1"))
            out["database"] = "ok"
        except SQLAlchemyError as exc:
            out["database"] = f"error: {type(exc).__name__}"
        try:
            state.readings.check()
            out["reading_store"] = "ok"
        except TelemetryError as exc:
            out["reading_store"] = f"error: {exc.message}"
        for extra in extra_checks:
            out.update(extra())
        return out

    token = state.settings.metrics_token
    add_probes(app, state, checks, metrics_token=token.get_secret_value() if token else None)
    tiles = state.settings.map_tile_origin
    install_web(app, image_origins=(tiles,) if tiles else ())
    return app
