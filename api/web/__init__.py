"""The web app: a single-page app of plain ES modules served by the API process itself.

``install`` adds to the FastAPI app: the shell at ``/`` (``static/index.html``), the files
under ``/static``, the service worker at ``/sw.js`` (at the root so its scope is the whole
app) and ``/manifest.webmanifest``, the offline API docs, gzip, and the security headers
every response carries. Nothing here reads settings or touches the database.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from api.web.docs import install_docs
from api.web.security import SecurityHeaders, app_policy
from inspection.media import ACCEPTED_TYPES

STATIC = Path(__file__).parent / "static"
SW_TEMPLATE = Path(__file__).parent / "sw.js"
NOT_PRECACHED = ("vendor/",)
"""Fetched when a page needs them, not when the app is installed (charts, API docs)."""
NETWORK_TIMEOUT_MS = 8000
"""How long the service worker waits for the network before it answers an inspector's read
with the copy it kept (with no copy kept, it goes on waiting for the network)."""


def shell_files() -> list[str]:
    """The URLs the service worker keeps for offline use: the shell and every page module
    and style, but not the large vendored libraries."""
    files = sorted(
        p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    served_at_root = ("index.html", "manifest.webmanifest")
    kept = [f for f in files if f not in served_at_root and not f.startswith(NOT_PRECACHED)]
    return ["/", "/manifest.webmanifest", *(f"/static/{f}" for f in kept)]


def service_worker() -> str:
    """``sw.js`` with its cache version (a digest of every kept file), its file list and its
    network timeout; a change to any file installs a new worker and drops the old caches."""
    files = shell_files()
    digest = hashlib.sha256()
    for path in [*files, "/sw.js"]:
        rel = {"/": "index.html", "/manifest.webmanifest": "manifest.webmanifest"}.get(path)
        if path == "/sw.js":
            source = SW_TEMPLATE
        else:
            source = STATIC / (rel or path.removeprefix("/static/"))
        digest.update(path.encode() + b"\0" + source.read_bytes())
    header = (
        f"const VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
        f"const SHELL = {json.dumps(files)};\n"
        f"const NETWORK_TIMEOUT_MS = {NETWORK_TIMEOUT_MS};\n"
    )
    return header + SW_TEMPLATE.read_text(encoding="utf-8")


def install(app: FastAPI, *, image_origins: tuple[str, ...] = ()) -> None:
    """Serve the web app and the docs on ``app`` and add gzip and the security headers
    (``image_origins``: where else images may come from, e.g. the city's map tiles)."""
    worker = service_worker()
    install_docs(app)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def shell() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/sw.js", include_in_schema=False)
    def sw() -> Response:
        return Response(
            worker,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    @app.get("/manifest.webmanifest", include_in_schema=False)
    def manifest() -> FileResponse:
        return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        # zlib's default: Starlette's 9 spent 5.7 ms on the 150 KB grid of 5,000 shelters
        # against 1.6 ms here, for a body 10 % smaller
        compresslevel=6,
        # photos and PDFs are compressed already: gzip would spend CPU to gain nothing
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, *ACCEPTED_TYPES),
    )
    app.add_middleware(SecurityHeaders, policy=app_policy(image_origins))
