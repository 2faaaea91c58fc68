"""Sensors and their broker accounts: the register (``inspection``) and the device
credentials (``telemetry``) kept in step.

Registering a sensor issues its MQTT login (user name and client id = sensor id, a random
password returned once); moving it to another shelter or bringing it back from retirement
issues a new one (the old password stops working and its connection is dropped); retiring
it revokes it. The broker is told inside the request's transaction, before the commit: if
the broker cannot be told, the register is not changed either (503). If the commit fails
after the broker was told, the broker holds an account the register does not know: it can
publish nothing the ingester accepts (an unknown sensor's readings are rejected), and
registering the sensor again replaces it.

Which broker: Mosquitto's dynamic-security plugin when ``SHELTERWATCH_MQTT_ADMIN_URL`` is
set; the embedded broker's account file when no ``SHELTERWATCH_MQTT_URL`` is set; otherwise
none (the operator keeps the broker's password and ACL files; see the README), and the
responses carry no login.

The embedded broker's own accounts (ingester, platform, simulator) have passwords derived
from the installation's signing key, so that every process of the installation (``run``,
``serve``, ``ingest``, ``simulate``) can log in without a password being stored anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from api.settings import Settings
from inspection import audit, registry
from inspection.access import Actor, can_manage_register
from inspection.errors import Conflict, Forbidden, InvalidInput
from inspection.models import Sensor
from inspection.schemas import SensorCreate, SensorUpdate
from telemetry.access import AccountRole, is_reserved, service_account
from telemetry.broker_access import AccessTable, EmbeddedCredentials
from telemetry.dynsec import DynsecAdmin, DynsecCredentials
from telemetry.mqtt import BrokerAddress
from telemetry.ports import DeviceCredentials, DeviceLogin

ACCOUNTS_FILE: Final = "mqtt-accounts.json"
EMBEDDED_ACCOUNTS: Final = {
    AccountRole.INGESTER: "shelterwatch-ingest",
    AccountRole.PLATFORM: "shelterwatch-platform",
    AccountRole.SIMULATOR: "shelterwatch-simulator",
}


def dynsec_admin(settings: Settings) -> DynsecAdmin | None:
    """The dynamic-security admin of ``SHELTERWATCH_MQTT_ADMIN_URL``, if set."""
    if settings.mqtt_admin_url is None:
        return None
    return DynsecAdmin(BrokerAddress.parse(settings.mqtt_admin_url.get_secret_value()))


def build_device_credentials(settings: Settings) -> DeviceCredentials | None:
    admin = dynsec_admin(settings)
    if admin is not None:
        return DynsecCredentials(admin)
    if settings.mqtt_url is None:
        return EmbeddedCredentials(AccessTable(settings.var_dir / ACCOUNTS_FILE))
    return None


# -- the embedded broker's own accounts --------------------------------------------------------
def service_password(signing_key: str, username: str) -> str:
    return hmac.new(signing_key.encode(), f"mqtt:{username}".encode(), hashlib.sha256).hexdigest()


def embedded_access(var_dir: Path, signing_key: str) -> AccessTable:
    """The embedded broker's table: the sensors' accounts file and the system's accounts."""
    return AccessTable(
        var_dir / ACCOUNTS_FILE,
        [
            service_account(name, role, service_password(signing_key, name))
            for role, name in EMBEDDED_ACCOUNTS.items()
        ],
    )


def embedded_url(signing_key: str, port: int, role: AccountRole) -> str:
    """``mqtt://`` URL of the embedded broker on loopback, logged in as the system's
    account of ``role``."""
    name = EMBEDDED_ACCOUNTS[role]
    return f"mqtt://{name}:{service_password(signing_key, name)}@127.0.0.1:{port}"


# -- sensors -----------------------------------------------------------------------------------
def register_sensor(
    session: Session,
    devices: DeviceCredentials | None,
    code: str,
    data: SensorCreate,
    *,
    actor: Actor,
    now: datetime,
) -> tuple[Sensor, DeviceLogin | None]:
    if is_reserved(data.sensor_id):
        raise InvalidInput(
            "sensor ids beginning with 'shelterwatch-' are kept for the system's own MQTT accounts",
            code="reserved_sensor_id",
        )
    sensor = registry.add_sensor(session, code, data, actor=actor, now=now)
    return sensor, _issue(session, devices, sensor, code, actor=actor, now=now)


def update_sensor(
    session: Session,
    devices: DeviceCredentials | None,
    code: str,
    sensor_id: str,
    data: SensorUpdate,
    *,
    actor: Actor,
    now: datetime,
) -> tuple[Sensor, DeviceLogin | None]:
    """Registry change first (flushed, so a refused change never reaches the broker), then
    the broker: a retired sensor's account revoked, a moved or returning one's reissued."""
    sensor, shelter_code, placed = registry.update_sensor(
        session, code, sensor_id, data, actor=actor, now=now
    )
    if devices is None:
        return sensor, None
    if not sensor.active:
        devices.revoke(sensor_id)
        audit.record(session, actor, "sensor.credentials_revoked", "sensor", sensor_id, at=now)
        return sensor, None
    if placed:
        return sensor, _issue(session, devices, sensor, shelter_code, actor=actor, now=now)
    return sensor, None


def renew_credentials(
    session: Session,
    devices: DeviceCredentials | None,
    code: str,
    sensor_id: str,
    *,
    actor: Actor,
    now: datetime,
) -> DeviceLogin:
    """A new password for an active sensor (a lost or leaked one); the old one stops
    working at once."""
    sensor = registry.get_sensor(session, code, sensor_id, actor=actor)
    shelter = registry.get_shelter(session, code, actor=actor)
    if not can_manage_register(actor, shelter.district):
        raise Forbidden("you may not manage the sensors of this shelter")
    if not sensor.active:
        raise Conflict(f"sensor {sensor_id!r} is retired", code="sensor_retired")
    login = _issue(session, devices, sensor, code, actor=actor, now=now)
    if login is None:
        raise Conflict(
            "this installation does not manage broker accounts (no SHELTERWATCH_MQTT_ADMIN_URL)",
            code="credentials_not_managed",
        )
    return login


def _issue(
    session: Session,
    devices: DeviceCredentials | None,
    sensor: Sensor,
    shelter_code: str,
    *,
    actor: Actor,
    now: datetime,
) -> DeviceLogin | None:
    if devices is None:
        return None
    login = devices.issue(sensor.sensor_id, shelter_code)
    audit.record(
        session,
        actor,
        "sensor.credentials_issued",
        "sensor",
        sensor.sensor_id,
        at=now,
        after={"username": login.username, "topic": login.topic},
    )
    return login
