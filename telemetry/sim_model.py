"""The simulated fleet: shelter sensors and the readings they would send (pure, no I/O).

Values are pure functions of (sensor, time, seed): the same fleet and seed give the same
payloads on every run and machine.

The model, for sensors underground (the device contract: docs/monitoring.md):
    - temperature about 13–23 °C: a base per shelter, warmer in summer (peak mid July), a small
      daily cycle peaking mid-afternoon China time, electrical rooms (配电间) 2 °C warmer;
    - humidity 55–80 %RH with a small daily cycle, wetter in the flood season; "damp"
      shelters have one spell per 4-day block above 75 %RH for 30–60 h, "wet" shelters one
      above 85 %RH for 80–90 h, long enough to raise the humidity alerts;
    - a fire, on request: temperature ramps to 40–60 °C, smoke true, CO rising to 300 ppm;
    - battery draining from 3.6 V to 2.9 V over 6–12 months, then replaced.
Sensors in 配电间 also send smoke, CO and a device fire-risk index (`fri-1`); sensors in 水泵房
(the pump room, where water gathers) also send `water_leak`, true while a "wet" shelter's
spell is at full height (some 76–86 h of each 4-day block), so that leak alerts come and go.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from telemetry.fire_risk import compute_index
from telemetry.instants import to_ms
from telemetry.ports import Placement
from telemetry.readings import RejectReason

ZONES: Final = ("滤毒室", "主通道", "配电间", "人员掩蔽区", "风机房", "水泵房")
DISTRICTS: Final = ("东城区", "西城区", "南湖区", "北山区")
ELECTRICAL_ZONE: Final = "配电间"
PUMP_ZONE: Final = "水泵房"
DAMP_BLOCK: Final = timedelta(days=4)
FIRE_RAMP: Final = timedelta(minutes=20)
_EPOCH: Final = datetime(2024, 1, 1, tzinfo=UTC)
_DAY_S: Final = 86_400.0
_CHINA_UTC_OFFSET_H: Final = 8.0


class Dampness(StrEnum):
    DRY = "dry"
    DAMP = "damp"
    """One spell per 4-day block above 75 %RH for 30–60 h."""
    WET = "wet"
    """One spell per 4-day block above 85 %RH for 80–90 h."""


@dataclass(frozen=True, slots=True)
class SimSensor:
    shelter_code: str
    sensor_id: str
    zone: str
    interval_s: int = 60
    district: str = ""

    @property
    def topic(self) -> str:
        return f"shelters/{self.shelter_code}/{self.sensor_id}/telemetry"


@dataclass(frozen=True, slots=True)
class FireEvent:
    """A fire in one shelter from ``start``: all its sensors ramp over `FIRE_RAMP`."""

    shelter_code: str
    start: datetime


# -- deterministic noise ---------------------------------------------------------------------
def draw(seed: int, *key: object) -> float:
    """A uniform number in [0, 1) determined by ``seed`` and ``key``."""
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _smooth(seed: int, key: str, t_s: float, period_s: float) -> float:
    """Noise in [-1, 1) varying smoothly in time, with knots every ``period_s`` seconds."""
    k, frac = divmod(t_s / period_s, 1.0)
    a = draw(seed, key, int(k)) * 2.0 - 1.0
    b = draw(seed, key, int(k) + 1) * 2.0 - 1.0
    w = frac * frac * (3.0 - 2.0 * frac)
    return a + (b - a) * w


def _seconds(ts: datetime) -> float:
    """Seconds since 2024-01-01 00:00 UTC; ``ts`` must be tz-aware (any zone)."""
    return (ts - _EPOCH).total_seconds()


def _season(ts: datetime) -> float:
    """-1 in mid January .. +1 in mid July."""
    day_of_year = (_seconds(ts) / _DAY_S) % 365.25
    return math.sin(2.0 * math.pi * (day_of_year - 104.0) / 365.25)


def _daily(ts: datetime) -> float:
    """-1 .. +1, highest at 15:00 China time."""
    hour = (_seconds(ts) / 3600.0 + _CHINA_UTC_OFFSET_H) % 24.0
    return math.cos(2.0 * math.pi * (hour - 15.0) / 24.0)


# -- the value model (pure) ------------------------------------------------------------------
def temperature(sensor: SimSensor, ts: datetime, seed: int) -> float:
    """°C without fire: about 13–23 underground."""
    code = sensor.shelter_code
    base = 16.0 + 2.0 * draw(seed, "t-base", code)
    amplitude = 0.3 + 0.5 * draw(seed, "t-amp", code)
    zone = 2.0 if sensor.zone == ELECTRICAL_ZONE else 0.0
    noise = 0.3 * _smooth(seed, "t-" + sensor.sensor_id, _seconds(ts), 3600.0)
    return base + 2.0 * _season(ts) + amplitude * _daily(ts) + zone + noise


def damp_spell(code: str, ts: datetime, seed: int, dampness: Dampness) -> float:
    """How far into a damp spell the shelter is at ``ts``: 0 outside, 1 at full height."""
    if dampness is Dampness.DRY:
        return 0.0
    block_s = DAMP_BLOCK.total_seconds()
    block, offset = divmod(_seconds(ts), block_s)
    low, high = (30.0, 60.0) if dampness is Dampness.DAMP else (80.0, 90.0)
    length = 3600.0 * (low + (high - low) * draw(seed, "spell-len", code, block))
    start = (block_s - length) * draw(seed, "spell-at", code, block)
    into, left = offset - start, start + length - offset
    ramp = 2 * 3600.0
    if into <= 0.0 or left <= 0.0:
        return 0.0
    return min(1.0, into / ramp, left / ramp)


def humidity(sensor: SimSensor, ts: datetime, seed: int, dampness: Dampness) -> float:
    """%RH: 55–80 normally; held above 75 (damp) or 85 (wet) during a spell."""
    code = sensor.shelter_code
    base = 62.0 + 6.0 * draw(seed, "h-base", code) + 4.0 * max(0.0, _season(ts))
    noise = 2.5 * _smooth(seed, "h-" + sensor.sensor_id, _seconds(ts), 3 * 3600.0)
    normal = min(80.0, max(55.0, base - 1.5 * _daily(ts) + noise))
    spell = damp_spell(code, ts, seed, dampness)
    if spell == 0.0:
        return normal
    top = 77.0 + 5.0 * draw(seed, "h-top", code) if dampness is Dampness.DAMP else 87.0
    peak = top + 1.5 * _smooth(seed, "h-peak-" + sensor.sensor_id, _seconds(ts), 3600.0)
    return normal + (max(normal, peak) - normal) * spell


def fire_progress(sensor: SimSensor, ts: datetime, fire: FireEvent | None) -> float:
    """0 before or without a fire in the sensor's shelter, rising to 1 over `FIRE_RAMP`."""
    if fire is None or fire.shelter_code != sensor.shelter_code or ts < fire.start:
        return 0.0
    return min(1.0, (ts - fire.start) / FIRE_RAMP)


def battery(sensor: SimSensor, ts: datetime, seed: int) -> float:
    """Volts: 3.6 falling to 2.9 over a 180–365 day life, then a fresh battery."""
    life_s = _DAY_S * (180.0 + 185.0 * draw(seed, "b-life", sensor.sensor_id))
    phase = draw(seed, "b-phase", sensor.sensor_id)
    used = (_seconds(ts) / life_s + phase) % 1.0
    return 3.6 - 0.7 * used


def reading_at(
    sensor: SimSensor,
    ts: datetime,
    *,
    seed: int = 0,
    dampness: Dampness = Dampness.DRY,
    fire: FireEvent | None = None,
    stamp: datetime | None = None,
) -> dict[str, Any]:
    """The payload object the sensor sends for the state at ``ts``.

    ``stamp`` is the instant put in ``ts`` (epoch ms) when it differs from the simulated
    instant, e.g. a demo that runs a day in minutes but stamps real time.
    """
    t = temperature(sensor, ts, seed)
    rh = humidity(sensor, ts, seed, dampness)
    burn = fire_progress(sensor, ts, fire)
    smoke: bool | None = None
    co: float | None = None
    if burn > 0.0:
        peak = 40.0 + 20.0 * draw(seed, "fire-peak", sensor.sensor_id)
        t += (peak - t) * burn
        rh = max(20.0, rh * (1.0 - 0.5 * burn))
        smoke, co = True, 5.0 + 295.0 * burn
    elif sensor.zone == ELECTRICAL_ZONE:
        smoke = False
        co = 2.0 + 2.0 * _smooth(seed, "co-" + sensor.sensor_id, _seconds(ts), 1800.0)
    payload: dict[str, Any] = {
        "ts": to_ms(stamp or ts),
        "temperature": round(t, 2),
        "humidity": round(rh, 1),
    }
    if smoke is not None:
        payload["smoke"] = smoke
        payload["co"] = round(co or 0.0, 1)
    if sensor.zone == ELECTRICAL_ZONE:
        payload["fire_risk"] = round(compute_index(t, rh, smoke, co) or 0.0, 1)
    if sensor.zone == PUMP_ZONE:
        wet = dampness is Dampness.WET
        payload["water_leak"] = wet and damp_spell(sensor.shelter_code, ts, seed, dampness) >= 1.0
    payload["battery"] = round(battery(sensor, ts, seed), 3)
    return payload


class Malformation(StrEnum):
    """Deliberately broken messages, in the order `Simulator` rotates through them."""

    BROKEN_JSON = "broken_json"
    HUMIDITY_130 = "humidity_130"
    NAIVE_TIMESTAMP = "naive_timestamp"
    STRING_TEMPERATURE = "string_temperature"
    UNKNOWN_SENSOR = "unknown_sensor"

    @property
    def expected(self) -> RejectReason:
        """The reason the ingester gives for it (UNKNOWN_SENSOR: the register, not the parser)."""
        return _EXPECTED[self]


_EXPECTED: Final = {
    Malformation.BROKEN_JSON: RejectReason.MALFORMED_JSON,
    Malformation.HUMIDITY_130: RejectReason.OUT_OF_RANGE,
    Malformation.NAIVE_TIMESTAMP: RejectReason.NAIVE_TIMESTAMP,
    Malformation.STRING_TEMPERATURE: RejectReason.NOT_A_NUMBER,
    Malformation.UNKNOWN_SENSOR: RejectReason.UNKNOWN_SENSOR,
}


def malformed(kind: Malformation, sensor: SimSensor, ts: datetime) -> tuple[str, bytes]:
    """Topic and payload of a broken message as ``sensor`` might send it at ``ts``."""
    ms = to_ms(ts)
    topic = sensor.topic
    obj: dict[str, Any] = {"ts": ms, "temperature": 18.0, "humidity": 60.0}
    if kind is Malformation.BROKEN_JSON:
        return topic, f'{{"ts": {ms}, "temperature": 18.0, "humid'.encode()
    if kind is Malformation.HUMIDITY_130:
        obj["humidity"] = 130.0
    elif kind is Malformation.NAIVE_TIMESTAMP:
        obj["ts"] = ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    elif kind is Malformation.STRING_TEMPERATURE:
        obj["temperature"] = "18.0"
    else:
        topic = f"shelters/{sensor.shelter_code}/{sensor.sensor_id}-X/telemetry"
    return topic, json.dumps(obj).encode()


@dataclass(frozen=True)
class Fleet:
    """Simulated sensors and how damp each shelter is; a `SensorDirectory` of itself."""

    sensors: tuple[SimSensor, ...]
    seed: int = 0
    dampness: dict[str, Dampness] = field(default_factory=dict)
    _by_id: dict[str, SimSensor] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {s.sensor_id: s for s in self.sensors})

    @classmethod
    def generate(
        cls,
        n_shelters: int,
        sensors_per_shelter: int,
        seed: int,
        *,
        district_names: Sequence[str] = DISTRICTS,
        prefix: str = "SIM",
        interval_s: int = 60,
        damp_fraction: float = 0.2,
        wet_fraction: float = 0.1,
    ) -> Fleet:
        """Shelters ``{prefix}-001``.. with sensors ``{code}-S1``..; zones start with 滤毒室.

        Dampness is drawn per shelter from ``seed``: wet with probability ``wet_fraction``,
        else damp with ``damp_fraction``.
        """
        sensors: list[SimSensor] = []
        dampness: dict[str, Dampness] = {}
        for i in range(1, n_shelters + 1):
            code = f"{prefix}-{i:03d}"
            district = district_names[(i - 1) % len(district_names)] if district_names else ""
            chance = draw(seed, "dampness", code)
            dampness[code] = (
                Dampness.WET
                if chance < wet_fraction
                else Dampness.DAMP
                if chance < wet_fraction + damp_fraction
                else Dampness.DRY
            )
            for j in range(1, sensors_per_shelter + 1):
                zone = ZONES[(j - 1) % len(ZONES)]
                sensors.append(SimSensor(code, f"{code}-S{j}", zone, interval_s, district))
        return cls(tuple(sensors), seed, dampness)

    @property
    def shelters(self) -> list[str]:
        return list(dict.fromkeys(s.shelter_code for s in self.sensors))

    def reading_at(
        self,
        sensor: SimSensor,
        ts: datetime,
        *,
        fire: FireEvent | None = None,
        stamp: datetime | None = None,
    ) -> dict[str, Any]:
        """`reading_at` with this fleet's seed and the shelter's dampness."""
        damp = self.dampness.get(sensor.shelter_code, Dampness.DRY)
        return reading_at(sensor, ts, seed=self.seed, dampness=damp, fire=fire, stamp=stamp)

    def silent(self, fraction: float) -> frozenset[str]:
        """Ids of the sensors, about ``fraction`` of them, that go quiet in a simulation."""
        return frozenset(
            s.sensor_id for s in self.sensors if draw(self.seed, "silent", s.sensor_id) < fraction
        )

    def get(self, sensor_id: str) -> Placement | None:
        s = self._by_id.get(sensor_id)
        if s is None:
            return None
        return Placement(s.sensor_id, s.shelter_code, s.district, s.zone, s.interval_s)

    def placements(self) -> list[Placement]:
        """Every sensor as the register would place it (a `CachedDirectory` loader)."""
        return [
            Placement(s.sensor_id, s.shelter_code, s.district, s.zone, s.interval_s)
            for s in self.sensors
        ]


# -- the publisher (paho adapter) ------------------------------------------------------------
