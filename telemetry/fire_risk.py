"""Fire-risk index `fri-1` and dew point, as the city defines them (docs/monitoring.md).

Used when a device sends no fire risk of its own. The version string is stored beside every
computed value so that readings stay comparable if the formula changes.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import IntEnum
from typing import Final

from telemetry.payload import ReadingFactory
from telemetry.readings import Reading

FRI_VERSION: Final = "fri-1"

MAGNUS_A: Final = 17.62
MAGNUS_B: Final = 243.12
"""°C; with MAGNUS_A, the Magnus coefficients for water, valid about −45..60 °C."""


class RiskLevel(IntEnum):
    """Fire-risk level 1..5; the member name, lower-cased, is the colour shown to users."""

    GREEN = 1
    BLUE = 2
    YELLOW = 3
    ORANGE = 4
    RED = 5

    @property
    def colour(self) -> str:
        return self.name.lower()


_EDGE_TOLERANCE: Final = 1e-9


def dryness_score(temperature: float | None, humidity: float | None) -> float:
    """Dryness points from the Angström index I = RH/20 + (27 − T)/10; 0 unless both are known."""
    if temperature is None or humidity is None:
        return 0.0
    # Compared as 20·I = RH + 2·(27 − T) with a tolerance far below sensor resolution:
    # decimal inputs that sit exactly on a band edge (T = −12.9, RH = 0.2 gives I = 4) would
    # otherwise land a binary rounding error below it and score a band too high. (An added
    # tolerance, not round(x, 9), which costs more than the rest of the index.)
    twenty_i = humidity + 2.0 * (27.0 - temperature) + _EDGE_TOLERANCE
    if twenty_i >= 80.0:
        return 0.0
    if twenty_i >= 60.0:
        return 10.0
    if twenty_i >= 50.0:
        return 20.0
    if twenty_i >= 40.0:
        return 30.0
    return 40.0


HEAT_FROM_C: Final = 35.0
"""Below this air temperature the heat score is 0."""


def heat_score(temperature: float | None) -> float:
    """Heat points from the air temperature in °C; 0 when unknown."""
    if temperature is None:
        return 0.0
    if temperature >= 54.0:
        return 100.0
    if temperature >= 50.0:
        return 80.0
    if temperature >= 40.0:
        return 50.0
    if temperature >= HEAT_FROM_C:
        return 30.0
    return 0.0


def smoke_co_score(smoke: bool | None, co: float | None) -> float:
    """Points from the smoke detector and the CO concentration in ppm; 0 when unknown."""
    if smoke:
        return 100.0
    if co is None:
        return 0.0
    if co >= 150.0:
        return 90.0
    if co >= 70.0:
        return 70.0
    return 0.0


def compute_index(
    temperature: float | None,
    humidity: float | None,
    smoke: bool | None,
    co: float | None,
) -> float | None:
    """Index 0..100, or None when there is neither a temperature nor a smoke or CO value.

    Humidity alone says nothing: dryness needs the temperature too.
    """
    if temperature is None and smoke is None and co is None:
        return None
    if not smoke and co is None and temperature is not None and temperature < HEAT_FROM_C:
        return dryness_score(temperature, humidity)  # no heat, smoke or CO points: dryness alone
    worst = max(heat_score(temperature), smoke_co_score(smoke, co))
    combined = dryness_score(temperature, humidity) + 0.3 * worst
    # The bands keep every term within 0..100 today; the cap holds if a band is ever raised.
    return min(100.0, max(worst, combined))


def level(index: float) -> RiskLevel:
    """Level for an index: 1 below 20, 2 below 40, 3 below 60, 4 below 80, else 5."""
    return RiskLevel(level_number(index))


def level_number(index: float) -> int:
    """The number of :func:`level` (alert evaluation uses it per reading)."""
    if index < 20.0:
        return 1
    if index < 40.0:
        return 2
    if index < 60.0:
        return 3
    if index < 80.0:
        return 4
    return 5


def dew_point(t_c: float, rh: float) -> float | None:
    """Dew point in °C by the Magnus formula; None when RH ≤ 0 (no water vapour, undefined)."""
    if rh <= 0.0:
        return None
    gamma = math.log(rh / 100.0) + MAGNUS_A * t_c / (MAGNUS_B + t_c)
    return MAGNUS_B * gamma / (MAGNUS_A - gamma)


def enrich(reading: Reading) -> Reading:
    """Copy of `reading` with dew point and, if the device sent no fire risk, the `fri-1` index
    (the same computation as :func:`enriching`). A device-sent fire risk is kept as it is."""
    r = reading
    made = enriching(r.district, r.zone)(
        r.shelter_code,
        r.sensor_id,
        r.ts,
        r.temperature,
        r.humidity,
        r.fire_risk,
        r.fire_risk_version,
        r.smoke,
        r.water_leak,
        r.co,
        r.battery,
    )
    return made if made.dew_point is not None else made._replace(dew_point=r.dew_point)


def enriching(district: str, zone: str) -> ReadingFactory:
    """A reading factory for :func:`telemetry.payload.parse_payload` that builds what
    ``enrich(replace(reading, district=district, zone=zone))`` would, in one construction
    (the ingester's hot path: a frozen dataclass costs about a microsecond per copy)."""

    def make(
        shelter_code: str,
        sensor_id: str,
        ts: datetime,
        temperature: float | None,
        humidity: float | None,
        fire_risk: float | None,
        fire_risk_version: str | None,
        smoke: bool | None,
        water_leak: bool | None,
        co: float | None,
        battery: float | None,
    ) -> Reading:
        t, rh = temperature, humidity
        dew = dew_point(t, rh) if t is not None and rh is not None else None
        if fire_risk is None:
            fire_risk = compute_index(t, rh, smoke, co)
            if fire_risk is not None:
                fire_risk_version = FRI_VERSION
        return Reading(
            shelter_code,
            sensor_id,
            ts,
            t,
            rh,
            fire_risk,
            fire_risk_version,
            smoke,
            water_leak,
            co,
            battery,
            dew,
            district,
            zone,
        )

    return make
