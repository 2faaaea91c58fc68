"""The migration that adds ``water_leak`` to stored readings and live values: rows written
before it read as not reported, and going down drops the columns and keeps the rows."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from tests.conftest import at_revision, migrate

TABLES = ("telemetry_readings", "sensor_live")


def columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_water_leak_columns_come_with_their_migration_and_go_with_it(engine: Engine) -> None:
    with at_revision(engine, "milestones_1") as before:
        assert all("water_leak" not in columns(before, t) for t in TABLES)
        with before.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO telemetry_readings (sensor_id, ts_ms, shelter_code, district,"
                    " zone, humidity, stored_at_ms) VALUES ('S1', 1000, 'SH', '', '', 70.0, 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sensor_live (sensor_id, shelter_code, last_seen_ms, humidity,"
                    " updated_at_ms) VALUES ('S1', 'SH', 1000, 70.0, 1)"
                )
            )
        migrate(before, "waterleak_1")
        with before.connect() as conn:
            for table in TABLES:
                rows = conn.execute(text(f"SELECT humidity, water_leak FROM {table}")).all()
                assert rows == [(70.0, None)]
        migrate(before, "milestones_1", down=True)
        assert all("water_leak" not in columns(before, t) for t in TABLES)
        with before.connect() as conn:
            assert conn.execute(text("SELECT humidity FROM sensor_live")).all() == [(70.0,)]
    assert all("water_leak" in columns(engine, t) for t in TABLES)
