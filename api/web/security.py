"""Security headers on every response of the HTTP app.

Every response gets ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and a
``Content-Security-Policy`` whose base is ``default-src 'self'``: nothing is loaded from
another origin and no inline script runs. A request that came over HTTPS (the scheme as
uvicorn sees it, from ``X-Forwarded-Proto`` of a trusted proxy) also gets
``Strict-Transport-Security`` (:data:`HSTS`), which a browser ignores over plain HTTP anyway.
A route may set its own ``Content-Security-Policy``
(the API docs allow their one inline script by hash); this middleware keeps it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def app_policy(image_origins: tuple[str, ...] = ()) -> str:
    """The app's policy: same origin only; photos are previewed from ``blob:`` URLs; images
    also from ``image_origins`` (the city's own map tile server, when one is configured)."""
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("img-src 'self' blob: data:", *image_origins)),
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )


APP_POLICY = app_policy()
"""The policy with no other origin at all."""

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
"""One year; sent only on responses to HTTPS requests."""


class SecurityHeaders:
    """Pure ASGI middleware (streams stay streams) adding the headers above."""

    def __init__(self, app: ASGIApp, *, policy: str = APP_POLICY) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in HEADERS if k not in present)
                if scope.get("scheme") == "https" and HSTS[0] not in present:
                    headers.append(HSTS)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.policy))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
