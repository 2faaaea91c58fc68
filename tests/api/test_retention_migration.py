"""The migration of the hourly rollup: its tables and the index on when readings were stored
come with ``retention_1`` and go with it, the readings staying."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from tests.conftest import at_revision, migrate


def test_the_rollup_tables_come_with_their_migration_and_go_with_it(engine: Engine) -> None:
    with at_revision(engine, "ingestfix_1") as before:
        assert "telemetry_hourly" not in inspect(before).get_table_names()
        with before.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO telemetry_readings (sensor_id, ts_ms, shelter_code, district,"
                    " zone, humidity, stored_at_ms) VALUES ('S1', 1000, 'SH', '', '', 70.0, 1)"
                )
            )
        migrate(before, "retention_1")
        names = inspect(before).get_table_names()
        assert {"telemetry_hourly", "telemetry_rollup_mark"} <= set(names)
        indexes = {i["name"] for i in inspect(before).get_indexes("telemetry_readings")}
        assert "ix_telemetry_readings_stored" in indexes
        migrate(before, "ingestfix_1", down=True)
        assert "telemetry_hourly" not in inspect(before).get_table_names()
        with before.connect() as conn:
            assert conn.execute(text("SELECT humidity FROM telemetry_readings")).all() == [(70.0,)]
    assert "telemetry_hourly" in inspect(engine).get_table_names()
