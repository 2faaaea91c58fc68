"""Fire-risk index fri-1 band by band, its combination and levels, dew point and enrichment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from telemetry.fire_risk import (
    FRI_VERSION,
    RiskLevel,
    compute_index,
    dew_point,
    dryness_score,
    enrich,
    heat_score,
    level,
    smoke_co_score,
)
from telemetry.readings import Reading

TS = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("temperature", "humidity", "expected"),
    [
        # At T = 27 the Angström index is RH / 20, so each band edge is hit exactly.
        (27, 80, 0),  # I = 4
        (27, 100, 0),  # I = 5
        (27, 79, 10),  # I = 3.95
        (27, 60, 10),  # I = 3
        (27, 59, 20),  # I = 2.95
        (27, 50, 20),  # I = 2.5
        (27, 49, 30),  # I = 2.45
        (27, 40, 30),  # I = 2
        (27, 39, 40),  # I = 1.95
        (27, 0, 40),  # I = 0
        (17, 60, 0),  # I = 3 + 1 = 4
        (37, 60, 30),  # I = 3 − 1 = 2
        (-12.9, 0.2, 0),  # I = 0.01 + 3.99 = 4, decimals that binary floats cannot hold
        (-11.3, 3.4, 0),  # I = 0.17 + 3.83 = 4
        (-12.9, 0.19, 10),  # I = 3.9995
        (36, 10, 40),  # I = 0.5 − 0.9 = −0.4
        (None, 10, 0),
        (36, None, 0),
        (None, None, 0),
    ],
)
def test_dryness_bands(temperature: float | None, humidity: float | None, expected: float) -> None:
    assert dryness_score(temperature, humidity) == expected


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        (None, 0),
        (-40, 0),
        (34.99, 0),
        (35, 30),
        (39.99, 30),
        (40, 50),
        (49.99, 50),
        (50, 80),
        (53.99, 80),
        (54, 100),
        (85, 100),
    ],
)
def test_heat_bands(temperature: float | None, expected: float) -> None:
    assert heat_score(temperature) == expected


@pytest.mark.parametrize(
    ("smoke", "co", "expected"),
    [
        (None, None, 0),
        (False, None, 0),
        (False, 0, 0),
        (None, 69.99, 0),
        (None, 70, 70),
        (False, 149.99, 70),
        (None, 150, 90),
        (None, 10000, 90),
        (True, None, 100),
        (True, 0, 100),
        (True, 200, 100),
    ],
)
def test_smoke_co_bands(smoke: bool | None, co: float | None, expected: float) -> None:
    assert smoke_co_score(smoke, co) == expected


@pytest.mark.parametrize(
    ("temperature", "humidity", "smoke", "co", "expected"),
    [
        # heat 30, dryness 40 → max(30, 0, 40 + 0.3·30) = 49
        (36, 10, None, None, 49),
        # heat 0, dryness 10 (I = 3.2) → 10
        (20, 50, None, None, 10),
        # cool and damp: nothing
        (27, 80, None, None, 0),
        (-40, 100, False, 0, 0),
        # heat 50, dryness 40 (I = −0.8) → 40 + 15 = 55 beats 50
        (45, 20, None, None, 55),
        # heat 80, dryness 30 (I = 2.1) → 30 + 24 = 54 loses to 80
        (51, 90, None, None, 80),
        # CO 70, dryness 40 → 40 + 21 = 61 loses to 70
        (27, 39, None, 70, 70),
        # CO 90 (150 ppm), dryness 40 → 40 + 27 = 67 loses to 90
        (30, 30, None, 150, 90),
        # dryness alone counts without heat or smoke: 40 + 0
        (30, 0, None, None, 40),
        # heat alone when humidity is unknown: dryness 0
        (36, None, None, None, 30),
        # smoke only
        (None, None, True, None, 100),
        (None, None, False, None, 0),
        (None, None, None, 69, 0),
        # the worst of everything stays capped at 100
        (85, 0, True, 10000, 100),
        (54, 0, None, 150, 100),
    ],
)
def test_compute_index(
    temperature: float | None,
    humidity: float | None,
    smoke: bool | None,
    co: float | None,
    expected: float,
) -> None:
    assert compute_index(temperature, humidity, smoke, co) == expected


@pytest.mark.parametrize(
    ("temperature", "humidity", "smoke", "co"),
    [
        (None, None, None, None),
        (None, 10, None, None),
    ],
)
def test_compute_index_without_inputs_is_none(
    temperature: float | None, humidity: float | None, smoke: bool | None, co: float | None
) -> None:
    assert compute_index(temperature, humidity, smoke, co) is None


def test_combination_example_is_level_3() -> None:
    index = compute_index(36, 10, None, None)
    assert index == 49
    assert index is not None and level(index) == 3


@pytest.mark.parametrize(
    ("index", "expected", "colour"),
    [
        (0, 1, "green"),
        (19.99, 1, "green"),
        (20, 2, "blue"),
        (39.99, 2, "blue"),
        (40, 3, "yellow"),
        (59.99, 3, "yellow"),
        (60, 4, "orange"),
        (79.99, 4, "orange"),
        (80, 5, "red"),
        (100, 5, "red"),
    ],
)
def test_level_boundaries(index: float, expected: int, colour: str) -> None:
    result = level(index)
    assert result == expected
    assert result.colour == colour
    assert isinstance(result, RiskLevel)


@pytest.mark.parametrize(
    ("temperature", "humidity", "expected"),
    [
        (20, 50, 9.26),
        (25, 80, 21.31),
        (20, 100, 20.0),
        (0, 100, 0.0),
        (30, 10, -4.96),
        (-10, 60, -16.31),
    ],
)
def test_dew_point_magnus(temperature: float, humidity: float, expected: float) -> None:
    result = dew_point(temperature, humidity)
    assert result == pytest.approx(expected, abs=0.01)


def test_dew_point_known_value_precisely() -> None:
    assert dew_point(20, 50) == pytest.approx(9.2552, abs=1e-4)


@pytest.mark.parametrize("humidity", [0, -1])
def test_dew_point_undefined_without_vapour(humidity: float) -> None:
    assert dew_point(20, humidity) is None


def test_enrich_computes_index_and_dew_point() -> None:
    reading = Reading("SH", "s", TS, temperature=36.0, humidity=10.0)
    enriched = enrich(reading)
    assert enriched.fire_risk == 49
    assert enriched.fire_risk_version == FRI_VERSION == "fri-1"
    assert enriched.dew_point == pytest.approx(dew_point(36.0, 10.0))
    assert enriched.dew_point is not None and enriched.dew_point < 0
    assert (enriched.shelter_code, enriched.sensor_id, enriched.ts) == ("SH", "s", TS)
    assert reading.fire_risk is None and reading.dew_point is None


def test_enrich_keeps_device_fire_risk() -> None:
    reading = Reading(
        "SH", "s", TS, temperature=60.0, humidity=5.0, fire_risk=12.0, fire_risk_version="device"
    )
    enriched = enrich(reading)
    assert enriched.fire_risk == 12.0
    assert enriched.fire_risk_version == "device"
    assert enriched.dew_point is not None


@pytest.mark.parametrize(
    ("reading", "fire_risk", "version", "has_dew_point"),
    [
        (Reading("SH", "s", TS, humidity=50.0), None, None, False),
        (Reading("SH", "s", TS, humidity=0.0, temperature=20.0), 40.0, "fri-1", False),
        (Reading("SH", "s", TS, temperature=40.0), 50.0, "fri-1", False),
        (Reading("SH", "s", TS, humidity=50.0, smoke=True), 100.0, "fri-1", False),
        (Reading("SH", "s", TS, fire_risk=5.0, co=200.0), 5.0, None, False),
        (Reading("SH", "s", TS, water_leak=True, battery=3.0), None, None, False),
        (Reading("SH", "s", TS, temperature=20.0, water_leak=False), 0.0, "fri-1", False),
    ],
)
def test_enrich_partial_readings(
    reading: Reading, fire_risk: float | None, version: str | None, has_dew_point: bool
) -> None:
    enriched = enrich(reading)
    assert enriched.fire_risk == fire_risk
    assert enriched.fire_risk_version == version
    assert (enriched.dew_point is not None) is has_dew_point
    assert (enriched.water_leak, enriched.smoke, enriched.co, enriched.battery) == (
        reading.water_leak,
        reading.smoke,
        reading.co,
        reading.battery,
    )


def test_index_equals_the_full_formula_on_a_grid() -> None:
    """Whatever path computes it, the index is min(100, max(worst, dryness + 0.3·worst))."""
    temperatures = [None, -40.0, -12.9, 0.0, 17.3, 27.0, 34.9, 35.0, 39.9, 40.0, 53.9, 54.0, 85.0]
    humidities = [None, 0.0, 0.2, 19.9, 40.0, 55.5, 80.0, 100.0]
    for t in temperatures:
        for rh in humidities:
            for smoke in (None, False, True):
                for co in (None, 0.0, 69.9, 70.0, 150.0):
                    got = compute_index(t, rh, smoke, co)
                    if t is None and smoke is None and co is None:
                        assert got is None
                        continue
                    worst = max(heat_score(t), smoke_co_score(smoke, co))
                    full = min(100.0, max(worst, dryness_score(t, rh) + 0.3 * worst))
                    assert got == full, (t, rh, smoke, co)
