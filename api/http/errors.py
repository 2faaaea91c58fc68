"""JSON error responses with a stable ``code``; the only place HTTP statuses are chosen.

The errors of ``inspection`` and ``telemetry`` (each package's tree is documented in its
``errors`` module) answer the status :data:`STATUS` gives their class; ``api`` raises
:class:`ApiError` with its status and code; request validation answers 422
``validation_error``, a database that does not answer 503 ``database_unavailable``, anything
else 500 ``internal_error``.

Every error body is ``{"error": {"code": str, "message": str, "details": any}}``. The API's
routers build their routes as :class:`DocumentedRoute`, so the OpenAPI document describes the
refusals of every route (:data:`ERROR_RESPONSES`) with that schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.schemas import ErrorResponse
from inspection import errors as inspection_errors
from inspection.errors import InspectionError
from telemetry import errors as telemetry_errors
from telemetry.errors import TelemetryError

log = logging.getLogger(__name__)

DomainError = InspectionError | TelemetryError
"""The errors of the domain packages, each tree documented in its own ``errors`` module."""

STATUS: dict[type[Exception], int] = {
    inspection_errors.InspectionError: 400,
    inspection_errors.NotFound: 404,
    inspection_errors.Forbidden: 403,
    inspection_errors.Conflict: 409,
    inspection_errors.InvalidInput: 422,
    inspection_errors.Unavailable: 503,
    telemetry_errors.TelemetryError: 503,
    telemetry_errors.InvalidQuery: 422,
    telemetry_errors.InvalidSetting: 422,
    telemetry_errors.AccountConflict: 409,
    telemetry_errors.NotFound: 404,
}
"""The HTTP status of each class of the two domain error trees; a class not named here answers
the status of its nearest named base."""


ERROR_RESPONSES: dict[int, str] = {
    401: "No valid credentials (`not_authenticated`, `invalid_token`, `token_expired`, "
    "`token_revoked`, `invalid_api_key`).",
    403: "The caller's role may not do this (`role_forbidden`, `forbidden`).",
    404: "No such object, or one outside the caller's scope: both answer the same "
    "(`shelter_not_found`, `inspection_not_found`, …).",
    409: "The object's state does not allow this now.",
    422: "The request is not valid (`validation_error` with the fields in `details`).",
}
"""The refusals any API route can answer, documented on every route by :class:`DocumentedRoute`."""
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


class DocumentedRoute(APIRoute):
    """A route whose OpenAPI entry lists :data:`ERROR_RESPONSES` as JSON error bodies. A
    route's own entry for one of those statuses keeps its description; a route answering
    another media type (PDF, images) still documents its errors as JSON."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        responses: dict[int | str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        merged: dict[int | str, dict[str, Any]] = dict(responses or {})
        response_class = kwargs.get("response_class")
        media = getattr(getattr(response_class, "value", response_class), "media_type", None)
        json_route = media in (None, "application/json")
        for status, description in ERROR_RESPONSES.items():
            entry = {"description": description, **merged.get(status, {})}
            if entry.get("model") is ErrorResponse and not json_route:
                del entry["model"]
            content = entry.get("content", {})
            if "model" not in entry and "schema" not in content.get("application/json", {}):
                if json_route and not content:
                    entry["model"] = ErrorResponse
                else:
                    json = {
                        **content.get("application/json", {}),
                        **_ERROR_JSON["application/json"],
                    }
                    entry["content"] = {**content, "application/json": json}
            merged[status] = entry
        super().__init__(path, endpoint, responses=merged, **kwargs)


class ApiError(Exception):
    """An error raised in ``api`` itself, with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error: that of its class or of its nearest base in
    :data:`STATUS`."""
    for klass in type(exc).__mro__:
        if klass in STATUS:
            return STATUS[klass]
    raise TypeError(f"{type(exc).__name__} is not a domain error")  # pragma: no cover


def _domain_response(exc: DomainError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_for(exc))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(InspectionError)
    async def _inspection_error(_request: Request, exc: InspectionError) -> JSONResponse:
        return _domain_response(exc)

    @app.exception_handler(TelemetryError)
    async def _telemetry_error(_request: Request, exc: TelemetryError) -> JSONResponse:
        return _domain_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in exc.errors()
        ]
        return JSONResponse(
            error_body("validation_error", "the request is not valid", details), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "not_authenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OperationalError)
    async def _database_away(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body("database_unavailable", "the database is not answering; try again"),
            503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "internal server error"), 500)
