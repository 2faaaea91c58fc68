"""The embedded default end to end: the ingester process's parts (embedded broker, ingester,
platform feed) as ``shelterwatch run`` and ``ingest`` wire them, a sensor registered through
the API, its readings stored, and what it may not do refused before the ingester sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.devices import build_device_credentials
from api.http.probes import Component
from api.processes.cli import BrokerEndpoint, ingest_components
from api.processes.telemetry_wiring import IngestService
from api.state import AppState
from telemetry.mqtt import BrokerAddress
from telemetry.ports import Metric
from tests.api.conftest import CODE, World
from tests.telemetry.brokers import Probe, free_port
from tests.waiting import wait_until


@pytest.fixture
def embedded(state: AppState) -> Iterator[tuple[int, IngestService]]:
    """The ingester's components on the embedded broker: the broker's port, the ingester."""
    assert state.settings.mqtt_url is None
    state.devices = build_device_credentials(state.settings)
    port = free_port()
    components, service = ingest_components(state, BrokerEndpoint.of(state.settings, port))
    started: list[Component] = []
    try:
        for component in components:
            component.start()
            started.append(component)
        wait_until(service.subscriber.connected.is_set, 10, "the ingester to connect")
        yield port, service
    finally:
        for component in reversed(started):
            component.stop()


def test_a_registered_sensor_is_heard_and_nothing_else(
    world: World, state: AppState, embedded: tuple[int, IngestService]
) -> None:
    port, ingest = embedded
    api = world.api
    own = api.client.post(
        f"/api/v1/shelters/{CODE}/sensors", headers=api.admin.headers, json={"sensor_id": "S1"}
    )
    other = api.client.post(
        f"/api/v1/shelters/{CODE}/sensors", headers=api.admin.headers, json={"sensor_id": "S2"}
    )
    assert own.status_code == other.status_code == 201, (own.text, other.text)
    login = own.json()["mqtt"]
    # The ingester learns of a new sensor when it first misses it (a refresh in the
    # background); a reading that comes first is rejected as from an unknown sensor.
    wait_until(lambda: ingest.parts.directory.get("S1") is not None, 20, "the directory")
    sensor = Probe(
        BrokerAddress("127.0.0.1", port),
        login["client_id"],
        (login["username"], login["password"]),
    )
    assert not sensor.connect().is_failure
    now_ms = int(state.clock().timestamp() * 1000)
    try:
        forged = {"ts": now_ms, "temperature": 80.0, "smoke": True}
        sensor.publish(other.json()["mqtt"]["topic"], json.dumps(forged).encode())
        sensor.publish(f"shelters/{CODE}/alerts", json.dumps(forged).encode())
        sensor.publish(login["topic"], json.dumps({"ts": now_ms, "temperature": 18.5}).encode())
        wait_until(lambda: bool(state.readings.latest(CODE)), 20, "the reading to be stored")
    finally:
        sensor.close()
    latest = state.readings.latest(CODE)
    assert {v.sensor_id for v in latest} == {"S1"}
    assert (Metric.TEMPERATURE, 18.5) in {(v.metric, v.value) for v in latest}
    _rejects, total = state.rejects.list(limit=10, offset=0)
    assert total == 0  # the forged message never reached the ingester to be rejected
