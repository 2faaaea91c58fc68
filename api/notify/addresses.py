"""Where notification channels may connect: no internal address, unless named as allowed.

A user's channel profile names URLs that this server then POSTs to. Pointed at an internal
address (loopback, link-local with the cloud metadata service 169.254.169.254, RFC 1918 and
ULA private ranges, multicast, unspecified, reserved or any other non-global range), such a
URL would let a profile reach services behind the firewall (server-side request forgery).
:class:`AddressGuard` refuses them, by IP literal or by a host name that resolves to one,
both when a profile is saved and when a message is sent (the name is resolved again and the
connection goes to the address that was checked; see :mod:`api.notify.guarded_http`).
Host names listed in ``SHELTERWATCH_WEBHOOK_ALLOWED_HOSTS`` are exempt: an office's own
internal receivers.

Errors: :class:`ForbiddenAddress` (``code`` ``channel_address_forbidden``: an internal
address) and its subclass :class:`UnresolvableHost` (``channel_host_unresolvable``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Resolver(Protocol):
    """Resolves a host name to its IP addresses (as text); raises ``OSError`` when it
    cannot."""

    def __call__(self, host: str, port: int) -> Sequence[str]: ...


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (``getaddrinfo``), TCP addresses only."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class ForbiddenAddress(ValueError):
    """A channel URL whose host is, or resolves to, an address no channel may reach."""

    code = "channel_address_forbidden"

    def __init__(self, host: str, address: str | None, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.address = address
        self.reason = reason


class UnresolvableHost(ForbiddenAddress):
    """A channel URL whose host name does not resolve, so it cannot be checked."""

    code = "channel_host_unresolvable"


def internal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is internal (``loopback``, ``link_local``, ...), or None when it is a
    global unicast address. An IPv4-mapped IPv6 address is judged as its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not_global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class AddressGuard:
    """Checks channel hosts; ``allowed_hosts`` (lower-case names or IP literals) are
    exempt."""

    resolver: Resolver = system_resolver
    allowed_hosts: Collection[str] = field(default_factory=frozenset)

    def allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in self.allowed_hosts}

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: every one checked; raises
        :class:`ForbiddenAddress` when any is internal (a name with one internal address
        among public ones is refused too: a client may pick any of them)."""
        if self.allowed(host):
            return [host]
        literal = _literal(host)
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = list(self.resolver(host, port))
            except (OSError, UnicodeError) as exc:
                raise UnresolvableHost(host, None, "the host name does not resolve") from exc
            if not found:
                raise UnresolvableHost(host, None, "the host name does not resolve")
        for text in found:
            address = _literal(text)
            reason = "not an IP address" if address is None else internal_reason(address)
            if reason is not None:
                raise ForbiddenAddress(host, text, f"{text} is {reason.replace('_', ' ')}")
        return found

    def check_url(self, url: str) -> None:
        """Raise :class:`ForbiddenAddress` when ``url`` may not be connected to."""
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise ForbiddenAddress(url, None, "the URL names no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise ForbiddenAddress(host, None, "the URL's port is not valid") from exc
        self.addresses(host, port)
