"""Who may do what on the MQTT broker: the accounts' roles and their topic rules.

One definition for every broker: the embedded broker (`telemetry.broker_access`) evaluates
these rules itself, and the Mosquitto dynamic-security roles (`telemetry.dynsec`) are built
from the same entries, in the plugin's own ACL vocabulary:

=========  ==========================================================================
role       may
=========  ==========================================================================
sensor     publish to ``shelters/{its shelter}/{its id}/telemetry``, nothing else;
           connects with client id = its sensor id
ingester   subscribe to ``shelters/+/+/telemetry`` (also as ``$share/<group>/…``) and
           receive it; publish to ``shelters/+/alerts`` (alerts for the platform)
platform   subscribe to ``shelters/+/alerts`` and receive it; publish nothing;
           connects with client id = its user name
simulator  publish to ``shelters/+/+/telemetry`` (the embedded broker's demo fleet only,
           under a secret only the installation's own processes derive)
=========  ==========================================================================

Anything not granted is refused, and nobody but an ingester publishes on an alert topic.
Names that begin with :data:`SYSTEM_PREFIX` belong to the system's own accounts and client
ids (the ingester's among them); no sensor may be registered under one, which is what keeps
a device from taking over the ingester's client id.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

SYSTEM_PREFIX: Final = "shelterwatch-"
TELEMETRY_FILTER: Final = "shelters/+/+/telemetry"
ALERTS_FILTER: Final = "shelters/+/alerts"
SHARED_TELEMETRY_FILTER: Final = f"$share/+/{TELEMETRY_FILTER}"
PASSWORD_BYTES: Final = 24
"""Random bytes in a generated password (32 URL-safe characters)."""


def telemetry_topic(shelter_code: str, sensor_id: str) -> str:
    return f"shelters/{shelter_code}/{sensor_id}/telemetry"


def alert_topic(shelter_code: str) -> str:
    """Where the platform hears a shelter's alert transitions."""
    return f"shelters/{shelter_code}/alerts"


def is_reserved(name: str) -> bool:
    """True for names kept for the system's own accounts and client ids."""
    return name.lower().startswith(SYSTEM_PREFIX)


class AccountRole(StrEnum):
    SENSOR = "sensor"
    INGESTER = "ingester"
    PLATFORM = "platform"
    SIMULATOR = "simulator"


class AclKind(StrEnum):
    """What an entry grants, named as Mosquitto's dynamic-security plugin names it."""

    PUBLISH = "publishClientSend"
    """The client may publish to topics matching the entry."""
    RECEIVE = "publishClientReceive"
    """The broker may deliver messages on matching topics to the client."""
    SUBSCRIBE = "subscribePattern"
    """The client may subscribe with filters the entry's filter covers."""


@dataclass(frozen=True, slots=True)
class Acl:
    kind: AclKind
    topic: str


_SERVICE_ACLS: Final[dict[AccountRole, tuple[Acl, ...]]] = {
    AccountRole.INGESTER: (
        Acl(AclKind.SUBSCRIBE, TELEMETRY_FILTER),
        Acl(AclKind.SUBSCRIBE, SHARED_TELEMETRY_FILTER),
        Acl(AclKind.RECEIVE, TELEMETRY_FILTER),
        Acl(AclKind.PUBLISH, ALERTS_FILTER),
    ),
    AccountRole.PLATFORM: (
        Acl(AclKind.SUBSCRIBE, ALERTS_FILTER),
        Acl(AclKind.RECEIVE, ALERTS_FILTER),
    ),
    AccountRole.SIMULATOR: (Acl(AclKind.PUBLISH, TELEMETRY_FILTER),),
}


def sensor_acls(shelter_code: str, sensor_id: str) -> tuple[Acl, ...]:
    return (Acl(AclKind.PUBLISH, telemetry_topic(shelter_code, sensor_id)),)


def service_acls(role: AccountRole) -> tuple[Acl, ...]:
    """The entries of a role shared by all its accounts (every role but the sensor's)."""
    if role is AccountRole.SENSOR:
        raise ValueError("a sensor's rights depend on its placement: use sensor_acls")
    return _SERVICE_ACLS[role]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching of a concrete ``topic`` against ``topic_filter`` (``+``, ``#``).

    A topic beginning with ``$`` is not matched by a filter beginning with a wildcard."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    want = topic_filter.split("/")
    have = topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


def filter_covered(granted: str, requested: str) -> bool:
    """True when every topic the subscription filter ``requested`` can match is matched by
    ``granted``: a ``+`` in ``granted`` covers one level (a literal or ``+``), ``#`` covers
    the rest; a wildcard requested where ``granted`` names a level is not covered."""
    want = granted.split("/")
    have = requested.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or have[i] == "#":
            return False
        if level != "+" and level != have[i]:
            return False
    return len(want) == len(have)


def password_digest(password: str) -> str:
    """SHA-256 of a generated password: it carries 192 random bits, so a slow hash adds
    nothing (as for the platform's API key)."""
    return hashlib.sha256(password.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


@dataclass(frozen=True, slots=True)
class Account:
    """A broker login and what it may do."""

    username: str
    role: AccountRole
    password_sha256: str
    acls: tuple[Acl, ...]
    client_id: str | None
    """The only client id it may connect with; None for the ingester role, whose processes
    connect under several ids (all beginning with :data:`SYSTEM_PREFIX`), and for the
    embedded broker's simulator."""

    def admits(self, password: str | None, client_id: str | None) -> bool:
        if password is None or (self.client_id is not None and client_id != self.client_id):
            return False
        return hmac.compare_digest(password_digest(password), self.password_sha256)

    def may_publish(self, topic: str) -> bool:
        return any(a.kind is AclKind.PUBLISH and topic_matches(a.topic, topic) for a in self.acls)

    def may_receive(self, topic: str) -> bool:
        return any(a.kind is AclKind.RECEIVE and topic_matches(a.topic, topic) for a in self.acls)

    def may_subscribe(self, topic_filter: str) -> bool:
        return any(
            a.kind is AclKind.SUBSCRIBE and filter_covered(a.topic, topic_filter) for a in self.acls
        )


def sensor_account(sensor_id: str, shelter_code: str, password: str) -> Account:
    return Account(
        sensor_id,
        AccountRole.SENSOR,
        password_digest(password),
        sensor_acls(shelter_code, sensor_id),
        client_id=sensor_id,
    )


def service_account(username: str, role: AccountRole, password: str) -> Account:
    """An account of the system itself; the platform's may use only its user name as
    client id."""
    return Account(
        username,
        role,
        password_digest(password),
        service_acls(role),
        client_id=username if role is AccountRole.PLATFORM else None,
    )
