"""Device identity on both brokers: each sensor publishes only on its own topic, only the
ingester publishes alerts, the platform only listens, revoked and moved logins stop at once,
and nobody takes over the ingester's client id.

Every test runs twice, with the same rules and the same assertions: on the embedded amqtt
broker (``telemetry.broker``, accounts in an `AccessTable`), and on a Mosquitto of the
test's own with the dynamic-security plugin (``telemetry.dynsec``), started on a free port
(the system broker on 1883 is never touched). A forged message is sent before a genuine
one from the same connection; the test waits for the genuine one and then asserts that it
came alone.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telemetry.access import (
    ALERTS_FILTER,
    TELEMETRY_FILTER,
    AccountRole,
    alert_topic,
    telemetry_topic,
)
from telemetry.access import service_account as make_service_account
from telemetry.broker import EmbeddedBroker
from telemetry.broker_access import AccessTable, EmbeddedCredentials
from telemetry.dynsec import DynsecAdmin, DynsecCredentials, ensure_roles, ensure_service_account
from telemetry.errors import AccountConflict
from telemetry.intake import Delivery, ack_refs
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from telemetry.ports import DeviceCredentials, DeviceLogin
from tests.telemetry.brokers import DynsecMosquitto, Probe, mosquitto_available
from tests.waiting import wait_until

INGESTER = "shelterwatch-ingest"
PLATFORM = "shelterwatch-platform"


@dataclass
class Rig:
    """A broker with accounts: where it listens, who issues sensors' logins, and the
    system's own logins."""

    address: BrokerAddress
    devices: DeviceCredentials
    ingester: tuple[str, str]
    platform: tuple[str, str]
    protocol: str
    shared_group: str | None
    admin: DynsecAdmin | None = None

    def login(self, who: tuple[str, str]) -> BrokerAddress:
        return BrokerAddress(self.address.host, self.address.port, who[0], who[1])


@pytest.fixture(
    scope="module",
    params=[
        "embedded",
        pytest.param(
            "mosquitto",
            marks=[
                pytest.mark.mqtt,
                pytest.mark.skipif(
                    not mosquitto_available(), reason="mosquitto with the plugin not installed"
                ),
            ],
        ),
    ],
)
def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    workdir: Path = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        passwords = {INGESTER: secrets.token_urlsafe(16), PLATFORM: secrets.token_urlsafe(16)}
        table = AccessTable(
            workdir / "accounts.json",
            [
                make_service_account(INGESTER, AccountRole.INGESTER, passwords[INGESTER]),
                make_service_account(PLATFORM, AccountRole.PLATFORM, passwords[PLATFORM]),
            ],
        )
        with EmbeddedBroker(port=0, access=table) as broker:
            yield Rig(
                BrokerAddress("127.0.0.1", broker.port),
                EmbeddedCredentials(AccessTable(workdir / "accounts.json")),
                (INGESTER, passwords[INGESTER]),
                (PLATFORM, passwords[PLATFORM]),
                protocol="3.1.1",  # amqtt speaks nothing else
                shared_group=None,  # nor shared subscriptions
            )
        return
    with DynsecMosquitto(workdir) as mosquitto:
        admin = DynsecAdmin(mosquitto.admin)
        ensure_roles(admin)
        yield Rig(
            mosquitto.address,
            DynsecCredentials(admin),
            (INGESTER, ensure_service_account(admin, INGESTER, AccountRole.INGESTER)),
            (PLATFORM, ensure_service_account(admin, PLATFORM, AccountRole.PLATFORM)),
            protocol="5",
            shared_group="ingest",
            admin=admin,
        )


def _run() -> str:
    return uuid.uuid4().hex[:8]


class _Ingested:
    """What the ingester's subscriber received, but for the readiness probe's messages."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.probe_topic = ""
        self.probed = False

    def payloads(self) -> list[bytes]:
        return [payload for _topic, payload in self.messages]


@contextmanager
def _ingester(rig: Rig, run: str) -> Iterator[tuple[MqttSubscriber, _Ingested]]:
    """The ingester's own subscriber, logged in as the ingester, on the telemetry filter."""
    seen = _Ingested()

    def deliver(deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            if d.topic == seen.probe_topic:
                seen.probed = True
            else:
                seen.messages.append((d.topic, d.payload))
        subscriber.ack(ack_refs(deliveries))

    subscriber = MqttSubscriber(
        rig.login(rig.ingester),
        client_id=f"{INGESTER}-{run}",
        on_deliveries=deliver,
        protocol=rig.protocol,
        # A group per test: the persistent sessions of earlier tests' ingesters stay members.
        shared_group=None if rig.shared_group is None else f"{rig.shared_group}{run}",
        clock=lambda: datetime.now(UTC),
    )
    subscriber.start()
    try:
        wait_until(subscriber.connected.is_set, 10, "the ingester to connect")
        # A message published now reaches it only once its SUBSCRIBE is through: prove it.
        login, probe = _sensor(rig, f"P{run}", f"SP{run}")
        seen.probe_topic = login.topic

        def heard() -> bool:
            probe.publish(login.topic, b"ready")
            return seen.probed

        wait_until(heard, 10, "the ingester's subscription", every=0.2)
        probe.close()
        yield subscriber, seen
    finally:
        subscriber.stop()


def _system_probe(rig: Rig, run: str) -> Probe:
    """The ingester's login on a connection of its own: what publishes the real alerts."""
    probe = Probe(rig.address, f"{INGESTER}-pub-{run}", rig.ingester, protocol=rig.protocol)
    assert not probe.connect().is_failure
    return probe


def _sensor(rig: Rig, sensor_id: str, shelter: str) -> tuple[DeviceLogin, Probe]:
    login = rig.devices.issue(sensor_id, shelter)
    probe = Probe(
        rig.address, login.client_id, (login.username, login.password), protocol=rig.protocol
    )
    reason = probe.connect()
    assert not reason.is_failure, reason
    return login, probe


def _platform(rig: Rig) -> Probe:
    probe = Probe(rig.address, PLATFORM, rig.platform, protocol=rig.protocol)
    assert not probe.connect().is_failure
    assert not probe.subscribe(ALERTS_FILTER).is_failure
    return probe


# -- logins ------------------------------------------------------------------------------------
def test_anonymous_clients_and_wrong_passwords_are_refused(rig: Rig) -> None:
    run = _run()
    login = rig.devices.issue(f"S{run}", f"SH{run}")
    attempts = {
        "anonymous": Probe(rig.address, f"S{run}", None, protocol=rig.protocol),
        "wrong password": Probe(
            rig.address, f"S{run}", (login.username, "x" + login.password), protocol=rig.protocol
        ),
        "unknown user": Probe(
            rig.address, f"U{run}", (f"U{run}", login.password), protocol=rig.protocol
        ),
        "another client id": Probe(
            rig.address, f"S{run}-2", (login.username, login.password), protocol=rig.protocol
        ),
    }
    for what, probe in attempts.items():
        assert probe.connect().is_failure, what
        probe.close()


def test_a_revoked_sensor_is_dropped_and_cannot_connect(rig: Rig) -> None:
    run = _run()
    login, sensor = _sensor(rig, f"S{run}", f"SH{run}")
    rig.devices.revoke(login.username)
    wait_until(sensor.dropped.is_set, 10, "the revoked sensor's connection to be dropped")
    sensor.close()
    again = Probe(
        rig.address, login.client_id, (login.username, login.password), protocol=rig.protocol
    )
    assert again.connect().is_failure
    again.close()
    rig.devices.revoke(login.username)  # nothing left to revoke: no error


def test_a_moved_sensor_has_a_new_password_and_only_its_new_topic(rig: Rig) -> None:
    run = _run()
    old, sensor = _sensor(rig, f"S{run}", f"OLD{run}")
    with _ingester(rig, run) as (_subscriber, seen):
        new = rig.devices.issue(old.username, f"NEW{run}")
        assert new.password != old.password
        assert new.topic == telemetry_topic(f"NEW{run}", old.username)
        wait_until(sensor.dropped.is_set, 10, "the moved sensor's old connection to be dropped")
        sensor.close()
        stale = Probe(
            rig.address, old.client_id, (old.username, old.password), protocol=rig.protocol
        )
        assert stale.connect().is_failure
        stale.close()
        moved = Probe(
            rig.address, new.client_id, (new.username, new.password), protocol=rig.protocol
        )
        assert not moved.connect().is_failure
        moved.publish(old.topic, b"forged: the old shelter")
        moved.publish(new.topic, b"new")
        wait_until(lambda: b"new" in seen.payloads(), 10, "the reading on the new topic")
        moved.close()
    assert seen.messages == [(new.topic, b"new")]


# -- topics ------------------------------------------------------------------------------------
def test_a_sensors_message_on_another_sensors_topic_never_reaches_the_ingester(rig: Rig) -> None:
    run = _run()
    mine, sensor = _sensor(rig, f"A{run}", f"SH{run}")
    other = rig.devices.issue(f"B{run}", f"SH{run}")
    with _ingester(rig, run) as (_subscriber, seen):
        sensor.publish(other.topic, b"forged: B's topic")
        sensor.publish(telemetry_topic(f"X{run}", mine.username), b"forged: another shelter")
        sensor.publish(telemetry_topic(f"SH{run}", f"C{run}"), b"forged: unregistered id")
        sensor.publish(mine.topic, b"own")
        wait_until(lambda: b"own" in seen.payloads(), 10, "the sensor's own reading")
        sensor.close()
    assert seen.messages == [(mine.topic, b"own")]


def test_a_sensor_cannot_publish_an_alert_nor_subscribe(rig: Rig) -> None:
    run = _run()
    _login, sensor = _sensor(rig, f"S{run}", f"SH{run}")
    platform = _platform(rig)
    system = _system_probe(rig, run)
    try:
        assert sensor.subscribe(TELEMETRY_FILTER).is_failure
        assert sensor.subscribe(ALERTS_FILTER).is_failure
        sensor.publish(alert_topic(f"SH{run}"), b"forged alert")
        system.publish(alert_topic(f"SH{run}"), b"real alert")
        wait_until(lambda: b"real alert" in platform.payloads(), 10, "the real alert")
        assert platform.received() == [(alert_topic(f"SH{run}"), b"real alert")]
        assert sensor.payloads() == []
    finally:
        for probe in (sensor, platform, system):
            probe.close()


def test_a_sensors_last_will_never_reaches_the_platform(rig: Rig) -> None:
    """amqtt would broadcast a will unchecked, so the embedded broker refuses the CONNECT;
    Mosquitto checks the will's topic when it sends it, and drops it."""
    run = _run()
    login = rig.devices.issue(f"S{run}", f"SH{run}")
    platform = _platform(rig)
    system = _system_probe(rig, run)
    sensor = Probe(
        rig.address,
        login.client_id,
        (login.username, login.password),
        protocol=rig.protocol,
        will=(alert_topic(f"SH{run}"), b"forged will"),
    )
    try:
        if not sensor.connect().is_failure:
            sensor.vanish()
        system.publish(alert_topic(f"SH{run}"), b"real alert")
        wait_until(lambda: b"real alert" in platform.payloads(), 10, "the real alert")
        assert platform.payloads() == [b"real alert"]
    finally:
        for probe in (sensor, platform, system):
            probe.close()


def test_the_platform_cannot_publish_anything(rig: Rig) -> None:
    run = _run()
    login, sensor = _sensor(rig, f"S{run}", f"SH{run}")
    platform = _platform(rig)
    system = _system_probe(rig, run)
    try:
        with _ingester(rig, run) as (_subscriber, seen):
            assert platform.subscribe(TELEMETRY_FILTER).is_failure
            platform.publish(login.topic, b"forged reading")
            platform.publish(alert_topic(f"SH{run}"), b"forged alert")
            sensor.publish(login.topic, b"real reading")
            system.publish(alert_topic(f"SH{run}"), b"real alert")
            wait_until(lambda: b"real reading" in seen.payloads(), 10, "the real reading")
            wait_until(lambda: b"real alert" in platform.payloads(), 10, "the real alert")
        assert seen.payloads() == [b"real reading"]
        assert platform.payloads() == [b"real alert"]
    finally:
        for probe in (sensor, platform, system):
            probe.close()


# -- the ingester's client id ------------------------------------------------------------------
def test_nobody_else_takes_over_the_ingesters_client_id(rig: Rig) -> None:
    run = _run()
    login = rig.devices.issue(f"S{run}", f"SH{run}")
    with _ingester(rig, run) as (subscriber, seen):
        taken = f"{INGESTER}-{run}"
        for who in (None, (login.username, login.password), rig.platform):
            thief = Probe(rig.address, taken, who, protocol=rig.protocol)
            assert thief.connect().is_failure, who
            thief.close()
        assert subscriber.connected.is_set()
        sensor = Probe(
            rig.address, login.client_id, (login.username, login.password), protocol=rig.protocol
        )
        assert not sensor.connect().is_failure
        sensor.publish(login.topic, b"still heard")
        wait_until(lambda: b"still heard" in seen.payloads(), 10, "the reading")
        sensor.close()
        assert subscriber.connected.is_set()
        assert subscriber.generation == 0  # never disconnected


def test_no_sensor_is_registered_under_a_system_name(rig: Rig) -> None:
    for name in (INGESTER, f"{INGESTER}-2", PLATFORM, "ShelterWatch-x"):
        with pytest.raises(AccountConflict):
            rig.devices.issue(name, "SH1")
    probe = Probe(rig.address, INGESTER, rig.ingester, protocol=rig.protocol)
    assert not probe.connect().is_failure  # the ingester's own login untouched
    probe.close()


def test_an_account_that_is_not_the_sensors_is_never_changed(rig: Rig) -> None:
    """Only the plugin holds accounts the register did not make (its admin, say)."""
    if rig.admin is None:
        pytest.skip("the embedded broker's file holds sensors' accounts only")
    run = _run()
    name = f"other{run}"
    rig.admin.run_checked(
        [{"command": "createClient", "username": name, "password": "pw-of-someone-else"}]
    )
    with pytest.raises(AccountConflict):
        rig.devices.issue(name, "SH1")
    with pytest.raises(AccountConflict):
        rig.devices.revoke(name)
    assert rig.admin.client_roles(name) == []
