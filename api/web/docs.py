"""The API documentation pages (/docs, /redoc) served from vendored copies of Swagger UI and
ReDoc (see ``scripts/vendor``), so they work on a network without internet.

FastAPI's page builders write one inline script (Swagger UI's configuration); each page
carries its own Content-Security-Policy that allows exactly that script by its SHA-256 hash.
ReDoc injects its styles at run time and searches in a worker started from a ``blob:`` URL,
so its page also allows inline styles and blob workers; nothing else is relaxed.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from api.web.security import APP_POLICY

VENDOR = "/static/vendor"
ICON = "/static/icons/icon.svg"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _hashes(html: str) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )


def _page(html: str, *extra: str) -> HTMLResponse:
    """``html`` with a policy allowing its own inline scripts and the ``extra`` directives."""
    policy = f"{APP_POLICY}; script-src 'self' {_hashes(html)}".rstrip()
    for directive in extra:
        policy += f"; {directive}"
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def install_docs(app: FastAPI) -> None:
    """Serve /docs, its OAuth2 redirect page and /redoc; the app must be built with
    ``docs_url=None, redoc_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = "/docs/oauth2-redirect"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} – API",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=ICON,
        oauth2_redirect_url=redirect_url,
    )
    redirect = get_swagger_ui_oauth2_redirect_html()
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} – API",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=ICON,
        with_google_fonts=False,
    )

    pages = {
        name: bytes(page.body).decode()
        for name, page in (("swagger", swagger), ("redirect", redirect), ("redoc", redoc))
    }

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _page(pages["swagger"])

    @app.get(redirect_url, include_in_schema=False)
    def swagger_redirect() -> HTMLResponse:
        return _page(pages["redirect"])

    @app.get("/redoc", include_in_schema=False)
    def redoc_ui() -> HTMLResponse:
        return _page(pages["redoc"], "style-src 'self' 'unsafe-inline'", "worker-src 'self' blob:")
