"""Broker accounts on Mosquitto through its dynamic-security plugin.

The plugin (``mosquitto_dynamic_security.so``, Mosquitto 2.0) keeps clients, roles and ACLs
in its own JSON file and takes JSON commands that an admin account publishes to
``$CONTROL/dynamic-security/v1``; it answers on ``$CONTROL/dynamic-security/v1/response``.
Changes apply at once, without a restart: the plugin drops the connections of a client whose
password, roles or role ACLs change, and of a client it deletes.

The rules of `telemetry.access`, in the plugin's terms:

* default access (set by `ensure_roles`): publish, subscribe and receive denied unless a
  role grants them; unsubscribe allowed;
* roles ``shelterwatch-ingester`` and ``shelterwatch-platform`` (`ensure_roles`), taken by
  the system's accounts (`ensure_service_account`); the platform's client has its client id
  fixed to its user name, the ingester's has none (its processes connect under several ids,
  all beginning with ``shelterwatch-``);
* per sensor (`DynsecCredentials`): a role ``sensor:<id>`` granting publish on its one
  telemetry topic, and a client ``<id>`` with that role and client id ``<id>``: the device
  must connect with its sensor id as client id, so no device can use another's client id
  or the ingester's.

An account is only ever changed or deleted here when it is what this module made it: a
sensor's client must hold exactly its ``sensor:<id>`` role, a service client exactly its
role; any other account of that name is an :class:`AccountConflict`.

`DynsecAdmin` opens one connection per batch of commands (connect as admin, subscribe to
the answers, publish the batch at QoS 1, wait for the answer carrying the batch's
correlation data, disconnect), bounded by ``timeout_s``. A broker that cannot be reached,
refuses the admin login or does not answer in time is :class:`BrokerAdminUnavailable`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from telemetry.access import (
    SYSTEM_PREFIX,
    AccountRole,
    Acl,
    is_reserved,
    new_password,
    sensor_acls,
    service_acls,
    telemetry_topic,
)
from telemetry.errors import AccountConflict, BrokerAdminUnavailable, InvalidSetting
from telemetry.mqtt import BrokerAddress
from telemetry.ports import DeviceLogin

COMMAND_TOPIC: Final = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC: Final = "$CONTROL/dynamic-security/v1/response"
SERVICE_ROLES: Final = {
    AccountRole.INGESTER: "shelterwatch-ingester",
    AccountRole.PLATFORM: "shelterwatch-platform",
}
_TOLERATED: Final = frozenset({"Role already exists", "Client not found", "Role not found"})
"""Answers that mean the state asked for holds already."""

Command = dict[str, Any]


def sensor_role(sensor_id: str) -> str:
    return f"sensor:{sensor_id}"


def acl_json(acls: Sequence[Acl]) -> list[dict[str, Any]]:
    return [{"acltype": a.kind.value, "topic": a.topic, "allow": True} for a in acls]


class _Exchange:
    """One batch of commands on one admin connection: paho's callbacks and what they saw."""

    def __init__(self, token: str, count: int, where: str) -> None:
        self.token = token
        self.count = count
        self.where = where
        self.answers: dict[int, Command] = {}
        self.failure = ""
        self.subscribed = threading.Event()
        self.answered = threading.Event()

    def on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            self.failure = f"the broker at {self.where} refused the admin login: {reason}"
            self.subscribed.set()
            return
        client.subscribe(RESPONSE_TOPIC, qos=1)

    def on_subscribe(
        self, _c: mqtt.Client, _u: Any, _mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        if any(code.is_failure for code in codes):
            self.failure = f"the admin account may not read {RESPONSE_TOPIC} at {self.where}"
        self.subscribed.set()

    def on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            responses = json.loads(msg.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        for response in responses:
            mine, _, index = str(response.get("correlationData", "")).partition(":")
            if mine == self.token and index.isdigit():
                self.answers[int(index)] = response
        if len(self.answers) == self.count:
            self.answered.set()


class DynsecAdmin:
    """Sends dynamic-security commands as the broker's admin account."""

    def __init__(self, address: BrokerAddress, *, timeout_s: float = 10.0) -> None:
        if not address.username or not address.password:
            raise InvalidSetting("the dynamic-security admin URL needs a user name and password")
        self.address = address
        self.timeout_s = timeout_s

    def run(self, commands: Sequence[Command]) -> list[Command]:
        """The plugin's answer to each command, in order (an answer with an ``error`` key
        is a refused command; this does not raise for those)."""
        token = uuid.uuid4().hex
        tagged = [{**c, "correlationData": f"{token}:{i}"} for i, c in enumerate(commands)]
        where = f"{self.address.host}:{self.address.port}"
        exchange = _Exchange(token, len(tagged), where)
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{SYSTEM_PREFIX}dynsec-{token[:12]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(self.address.username, self.address.password)
        self.address.secure(client)
        client.on_connect = exchange.on_connect
        client.on_subscribe = exchange.on_subscribe
        client.on_message = exchange.on_message
        deadline = time.monotonic() + self.timeout_s
        try:
            client.connect(self.address.host, self.address.port, keepalive=30)
        except OSError as exc:
            raise BrokerAdminUnavailable(f"cannot reach the MQTT broker at {where}: {exc}") from exc
        client.loop_start()
        try:
            if not exchange.subscribed.wait(max(0.0, deadline - time.monotonic())):
                raise BrokerAdminUnavailable(f"the MQTT broker at {where} did not answer")
            if exchange.failure:
                raise BrokerAdminUnavailable(exchange.failure)
            client.publish(COMMAND_TOPIC, json.dumps({"commands": tagged}), qos=1)
            if not exchange.answered.wait(max(0.0, deadline - time.monotonic())):
                raise BrokerAdminUnavailable(
                    f"no answer from the dynamic-security plugin at {where} within "
                    f"{self.timeout_s:g}s (is the plugin loaded?)"
                )
        finally:
            client.disconnect()
            client.loop_stop()
        return [exchange.answers[i] for i in range(len(tagged))]

    def run_checked(self, commands: Sequence[Command]) -> list[Command]:
        """As :meth:`run`, raising :class:`BrokerAdminUnavailable` for a refused command
        unless its answer means the state asked for holds already."""
        answers = self.run(commands)
        for command, answer in zip(commands, answers, strict=True):
            error = answer.get("error")
            if error and error not in _TOLERATED:
                raise BrokerAdminUnavailable(
                    f"the dynamic-security plugin refused {command['command']}: {error}"
                )
        return answers

    def client_roles(self, username: str) -> list[str] | None:
        """The roles of the plugin's client ``username``, or None when there is none."""
        [answer] = self.run([{"command": "getClient", "username": username}])
        if answer.get("error") == "Client not found":
            return None
        if answer.get("error"):
            raise BrokerAdminUnavailable(f"getClient {username!r}: {answer['error']}")
        client = answer.get("data", {}).get("client", {})
        return [str(r.get("rolename")) for r in client.get("roles", [])]


def ensure_roles(admin: DynsecAdmin) -> None:
    """Default access and the system's roles as `telemetry.access` defines them (idempotent;
    a role's entries are replaced by the defined ones)."""
    commands: list[Command] = [
        {
            "command": "setDefaultACLAccess",
            "acls": [
                {"acltype": "publishClientSend", "allow": False},
                {"acltype": "publishClientReceive", "allow": False},
                {"acltype": "subscribe", "allow": False},
                {"acltype": "unsubscribe", "allow": True},
            ],
        }
    ]
    for role, name in SERVICE_ROLES.items():
        commands += [
            {"command": "createRole", "rolename": name},
            {"command": "modifyRole", "rolename": name, "acls": acl_json(service_acls(role))},
        ]
    admin.run_checked(commands)


def ensure_service_account(admin: DynsecAdmin, username: str, role: AccountRole) -> str:
    """Create the system account ``username`` with ``role``, or give it a new password if it
    exists with that role; returns the password. The roles must exist (`ensure_roles`)."""
    if role not in SERVICE_ROLES:
        raise InvalidSetting(f"no broker account of role {role.value} is made here")
    if not is_reserved(username):
        raise InvalidSetting(f"the system's broker accounts are named {SYSTEM_PREFIX}…")
    rolename = SERVICE_ROLES[role]
    roles = admin.client_roles(username)
    if roles is not None and roles != [rolename]:
        raise AccountConflict(f"broker account {username!r} exists with roles {roles}")
    password = new_password()
    command: Command = {
        "command": "createClient" if roles is None else "modifyClient",
        "username": username,
        "password": password,
        "roles": [{"rolename": rolename}],
        # Only the ingester role's clients may use any client id.
        "clientid": "" if role is AccountRole.INGESTER else username,
    }
    admin.run_checked([command])
    return password


class DynsecCredentials:
    """`DeviceCredentials` on Mosquitto's dynamic-security plugin."""

    def __init__(self, admin: DynsecAdmin) -> None:
        self.admin = admin

    def _sensor_roles(self, sensor_id: str) -> list[str] | None:
        if is_reserved(sensor_id):
            raise AccountConflict(f"{sensor_id!r} is a name kept for the system's accounts")
        roles = self.admin.client_roles(sensor_id)
        if roles is not None and roles != [sensor_role(sensor_id)]:
            raise AccountConflict(
                f"broker account {sensor_id!r} exists and is not this sensor's (roles {roles})"
            )
        return roles

    def issue(self, sensor_id: str, shelter_code: str) -> DeviceLogin:
        existing = self._sensor_roles(sensor_id)
        role = sensor_role(sensor_id)
        password = new_password()
        self.admin.run_checked(
            [
                {"command": "createRole", "rolename": role},
                {
                    "command": "modifyRole",
                    "rolename": role,
                    "acls": acl_json(sensor_acls(shelter_code, sensor_id)),
                },
                {
                    "command": "createClient" if existing is None else "modifyClient",
                    "username": sensor_id,
                    "password": password,
                    "clientid": sensor_id,
                    "roles": [{"rolename": role}],
                },
            ]
        )
        return DeviceLogin(sensor_id, password, sensor_id, telemetry_topic(shelter_code, sensor_id))

    def revoke(self, sensor_id: str) -> None:
        if is_reserved(sensor_id):
            return  # never a sensor's account
        self._sensor_roles(sensor_id)
        self.admin.run_checked(
            [
                {"command": "deleteClient", "username": sensor_id},
                {"command": "deleteRole", "rolename": sensor_role(sensor_id)},
            ]
        )
