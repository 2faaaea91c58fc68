"""End to end: a sensor switched on before it was registered (real Mosquitto, the ingester
process, PostgreSQL), its rejects re-ingested into the real InfluxDB once it is registered,
and stored once however often that is done (a point of the same series and time overwrites
itself)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from api.db import session_factory
from inspection.access import SYSTEM
from inspection.registry import add_sensor, sensor_placements
from inspection.schemas import SensorCreate
from telemetry.influx_store import InfluxStore
from telemetry.ports import Placement, RejectFilter
from telemetry.reingest import reingest
from telemetry.sql_store import SqlRejectStore
from telemetry.validation import Validator
from tests.integration.conftest import (
    INFLUX_URL,
    Fleet,
    IngesterProcess,
    Publisher,
    influx_count,
    influx_query,
    wait_until,
)

pytestmark = [pytest.mark.influx, pytest.mark.mqtt, pytest.mark.postgres]


def test_a_late_registered_sensor_is_reingested_once_into_influxdb(
    ingester: IngesterProcess,
    fleet: Fleet,
    publisher: Publisher,
    influx_db: str,
    pg_engine: Engine,
) -> None:
    ingester.start()
    code = fleet.shelters[0]
    sensor = f"{code}-S9"
    topic = f"shelters/{code}/{sensor}/telemetry"
    t = int(datetime.now(UTC).timestamp() * 1000) - 60_000
    publisher.publish(topic, [{"ts": t, "temperature": 20.5}, {"ts": t + 1, "humidity": 55.0}])
    rejects = SqlRejectStore(pg_engine, 1000)
    which = RejectFilter(reason="unknown_sensor", sensor_id=sensor)
    wait_until(
        lambda: len(rejects.pending(which, after_id=0, limit=10)) == 2, 20, "the two rejects"
    )
    only_ours = f"WHERE \"sensor\" = '{sensor}'"
    assert influx_count(influx_db, only_ours) == 0

    sessions = session_factory(pg_engine)
    with sessions() as session:
        add_sensor(
            session,
            code,
            SensorCreate(sensor_id=sensor, zone="水泵房", expected_interval_s=60),
            actor=SYSTEM,
            now=datetime.now(UTC),
        )
        session.commit()
        directory = {p.sensor_id: p for p in sensor_placements(session, Placement)}
    store = InfluxStore(INFLUX_URL, token="", org="shelterwatch", bucket=influx_db)
    try:
        rows = rejects.pending(which, after_id=0, limit=10)
        judged = reingest(rows, Validator(directory), store)
        assert (len(judged.readings), judged.still) == (2, [])
        rejects.settle(judged.reingested, judged.still, datetime.now(UTC))
        assert rejects.pending(which, after_id=0, limit=10) == []
        assert _points(influx_db, sensor) == [[t, 20.5, None], [t + 1, None, 55.0]]

        again = reingest(rows, Validator(directory), store)  # judged again by force
        assert len(again.readings) == 2
        assert _points(influx_db, sensor) == [[t, 20.5, None], [t + 1, None, 55.0]]
    finally:
        store.close()


def _points(db: str, sensor: str) -> list[list[object]]:
    """(time ms, temperature, humidity) of every point of ``sensor``."""
    [result] = influx_query(
        db, f'SELECT "temperature", "humidity" FROM shelter_env WHERE "sensor" = \'{sensor}\''
    )
    series = result.get("series") or []
    return [list(row) for row in series[0]["values"]] if series else []
