"""MQTT over TLS end to end, with a private CA made by ``scripts/make-ca``: a Mosquitto of the
test's own (a free port, TLS only, the dynamic-security plugin) and ShelterWatch's own clients
(the plugin's admin, the ingester's subscriber, the alert publisher) and a sensor, all with
``mqtts://…?ca=``; a client that does not trust that CA gets nowhere."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.notify.channels import MqttChannel, OutgoingMessage
from telemetry.access import ALERTS_FILTER, AccountRole, alert_topic
from telemetry.dynsec import DynsecAdmin, DynsecCredentials, ensure_roles, ensure_service_account
from telemetry.errors import BrokerAdminUnavailable
from telemetry.intake import Delivery, ack_refs
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from tests.telemetry.brokers import ADMIN, DynsecMosquitto, Probe, mosquitto_available
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(not mosquitto_available(), reason="mosquitto with the plugin missing"),
]


def _make_ca(directory: Path) -> Path:
    subprocess.run([str(REPO / "scripts" / "make-ca"), str(directory)], check=True)
    return directory


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynsecMosquitto]:
    tls = _make_ca(tmp_path_factory.mktemp("ca"))
    with DynsecMosquitto(tmp_path_factory.mktemp("tls-broker"), tls_dir=tls) as running:
        yield running


def test_mqtts_url_names_the_ca() -> None:
    address = BrokerAddress.parse("mqtts://u:p%40ss@mqtt.example.org?ca=/etc/sw/ca.pem")
    assert (address.host, address.port, address.tls) == ("mqtt.example.org", 8883, True)
    assert (address.password, address.ca_file) == ("p@ss", "/etc/sw/ca.pem")
    assert "p@ss" not in repr(address)
    for bad in ("mqtt://h?ca=/x.pem", "mqtts://h?cafile=/x.pem"):
        with pytest.raises(ValueError, match="ca"):
            BrokerAddress.parse(bad)


def test_everything_over_tls_with_a_private_ca(broker: DynsecMosquitto) -> None:
    run = uuid.uuid4().hex[:8]
    admin = DynsecAdmin(broker.admin)
    ensure_roles(admin)
    ingest_login = (
        "shelterwatch-ingest",
        ensure_service_account(admin, "shelterwatch-ingest", AccountRole.INGESTER),
    )
    platform_login = (
        "shelterwatch-platform",
        ensure_service_account(admin, "shelterwatch-platform", AccountRole.PLATFORM),
    )
    sensor = DynsecCredentials(admin).issue(f"S{run}", f"SH{run}")

    heard: list[tuple[str, bytes]] = []

    def deliver(deliveries: Sequence[Delivery]) -> None:
        heard.extend((d.topic, d.payload) for d in deliveries)
        subscriber.ack(ack_refs(deliveries))

    subscriber = MqttSubscriber(
        broker.login(*ingest_login),
        client_id=f"shelterwatch-ingest-{run}",
        on_deliveries=deliver,
        clock=lambda: datetime.now(UTC),
    )
    platform = Probe(
        broker.login(*platform_login), "shelterwatch-platform", platform_login, protocol="5"
    )
    device = Probe(
        broker.address, sensor.client_id, (sensor.username, sensor.password), protocol="5"
    )
    channel = MqttChannel(
        broker.login(*ingest_login), client_id=f"shelterwatch-ingest-{run}-alerts"
    )
    subscriber.start()
    try:
        wait_until(subscriber.connected.is_set, 10, "the ingester over TLS")
        assert not platform.connect().is_failure
        assert not platform.subscribe(ALERTS_FILTER).is_failure
        assert not device.connect().is_failure

        def reading_heard() -> bool:
            device.publish(sensor.topic, b'{"temperature": 18.5}')
            return any(topic == sensor.topic for topic, _ in heard)

        wait_until(reading_heard, 10, "the sensor's reading over TLS", every=0.2)
        message = OutgoingMessage(1, "alert_raised", "s", "b", {}, datetime.now(UTC))
        channel.send(alert_topic(f"SH{run}"), message)
        wait_until(lambda: bool(platform.received()), 10, "the alert over TLS")
        assert platform.received()[0][0] == alert_topic(f"SH{run}")
    finally:
        subscriber.stop()
        channel.close()
        platform.close()
        device.close()


# paho 2.2 drops the socket of a TLS handshake that failed inside connect() without closing
# it; the garbage collector closes it, with a ResourceWarning this test is not about.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_client_that_does_not_trust_the_ca_gets_nowhere(
    broker: DynsecMosquitto, tmp_path: Path
) -> None:
    other_ca = str(_make_ca(tmp_path / "other") / "ca.pem")
    system_only = BrokerAddress(
        "127.0.0.1", broker.port, ADMIN, broker.admin_password, tls=True, ca_file=None
    )
    another = BrokerAddress(
        "127.0.0.1", broker.port, ADMIN, broker.admin_password, tls=True, ca_file=other_ca
    )
    plain = BrokerAddress("127.0.0.1", broker.port, ADMIN, broker.admin_password)
    for address in (system_only, another, plain):
        with pytest.raises(BrokerAdminUnavailable):
            DynsecAdmin(address, timeout_s=5.0).run([{"command": "listClients"}])
