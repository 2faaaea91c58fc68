"""An httpx transport that connects only to addresses an :class:`AddressGuard` allowed.

Each request's host is resolved and checked just before the connection (a name's answer may
have changed since the profile was saved), and the request then goes to the checked address
itself, the host name kept in the ``Host`` header and as the TLS server name (so the
certificate is verified against the name): no second lookup can lead elsewhere. Redirects
are never followed by the channels' client; any that were would pass through here again.
Raises :class:`~api.notify.addresses.ForbiddenAddress` before connecting.
"""

from __future__ import annotations

import httpx

from api.notify.addresses import AddressGuard


class GuardedTransport(httpx.BaseTransport):
    """Wraps ``inner`` (an ``httpx.HTTPTransport``); owns and closes it."""

    def __init__(self, guard: AddressGuard, inner: httpx.BaseTransport) -> None:
        self.guard = guard
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = self.guard.addresses(host, port)
        if addresses != [host]:
            request.url = request.url.copy_with(host=addresses[0])
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def guarded_client(guard: AddressGuard, timeout: float) -> httpx.Client:
    """The channels' HTTP client: guarded, never following redirects."""
    transport = GuardedTransport(guard, httpx.HTTPTransport())
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)
