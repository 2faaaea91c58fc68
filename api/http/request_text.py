"""Control characters refused in a request's path and query string, for every route at once.

Path segments and query parameters reach database queries as text (codes, usernames, audit
filters, search terms); PostgreSQL refuses NUL in text, so one ``%00`` would be a 500. A
request whose percent-decoded path, or one of whose query parameter names or values, holds a
control character (tab and line breaks aside, as in :func:`inspection.schemas.check_text`)
answers ``422 validation_error`` with the offending place in ``details``, before any route
runs. Written as plain ASGI, as :mod:`api.http.access` is.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.errors import error_body
from inspection.schemas import check_text


def _refusal(scope: Scope) -> dict[str, object] | None:
    """The validation detail of the first control character found, or None."""
    places: list[tuple[list[str], str]] = [(["path"], scope["path"])]
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        places += [(["query", name], name), (["query", name], value)]
    for loc, text in places:
        try:
            check_text(text)
        except ValueError as exc:
            return {"loc": loc, "msg": str(exc), "type": "control_character"}
    return None


class RefuseControlCharacters:
    """The ASGI middleware of the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            detail = _refusal(scope)
            if detail is not None:
                body = error_body("validation_error", "the request is not valid", [detail])
                await JSONResponse(body, 422)(scope, receive, send)
                return
        await self.app(scope, receive, send)
