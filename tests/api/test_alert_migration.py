"""The migration to one alert per sensor and condition, on alerts written before it: each gets
its condition, open ones hold, and of two open alerts of one condition the graver stays."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import at_revision, migrate

BEFORE = [
    # id, sensor, rule, severity, status, raised_at_ms
    (1, "S1", "humidity_warning", "warning", "active", 1000),
    (2, "S1", "humidity_critical", "critical", "acknowledged", 2000),
    (3, "S1", "fire_risk_warning", "warning", "resolved", 3000),
    (4, "S2", "temperature_high", "critical", "active", 4000),
    (5, "S2", "sensor_offline", "warning", "cleared", 5000),
]


@pytest.fixture
def at_0001(engine: Engine) -> Iterator[Engine]:
    """The database moved down to the first revision, and back to head afterwards."""
    with at_revision(engine, "0001") as moved:
        yield moved


def test_open_alerts_of_one_condition_become_the_gravest(at_0001: Engine) -> None:
    with at_0001.begin() as conn:
        for id_, sensor, rule, severity, status, raised in BEFORE:
            conn.execute(
                text(
                    "INSERT INTO alerts (id, sensor_id, shelter_code, district, zone, rule,"
                    " severity, status, message, late, raised_at_ms, condition_since_ms,"
                    " resolve_note, escalation_level, updated_at_ms) VALUES (:id, :sensor,"
                    " 'SH', '', '', :rule, :severity, :status, '', false, :raised, :raised,"
                    " '', 0, :updated)"
                ),
                {
                    "id": id_,
                    "sensor": sensor,
                    "rule": rule,
                    "severity": severity,
                    "status": status,
                    "raised": raised,
                    "updated": raised + 1,
                },
            )
    migrate(at_0001, "head")
    with at_0001.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, condition, status, condition_holds, severity_since_ms, cleared_at_ms"
                " FROM alerts ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "humidity", "cleared", False, 1000, 1001),
        (2, "humidity", "acknowledged", True, 2000, None),
        (3, "fire_risk", "resolved", False, 3000, None),
        (4, "temperature_high", "active", True, 4000, None),
        (5, "sensor_offline", "cleared", False, 5000, None),
    ]
    with pytest.raises(IntegrityError), at_0001.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alerts (sensor_id, shelter_code, district, zone, condition, rule,"
                " severity, status, message, late, raised_at_ms, condition_since_ms,"
                " severity_since_ms, condition_holds, resolve_note, escalation_level,"
                " updated_at_ms) VALUES ('S1', 'SH', '', '', 'humidity', 'humidity_warning',"
                " 'warning', 'active', '', false, 1, 1, 1, true, '', 0, 1)"
            )
        )
