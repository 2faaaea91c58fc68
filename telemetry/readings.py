"""Value types of the monitoring side: a validated sensor reading and the rejection of bad input.

Units follow the device contract (docs/monitoring.md): temperature and dew point in °C,
humidity in %RH, fire risk 0..100, CO in ppm, battery in volts; ``smoke`` and ``water_leak``
are true when the detector reports smoke or water (水浸). Timestamps are tz-aware UTC.
The plausible ranges below are inclusive at both ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NamedTuple

TEMPERATURE_RANGE: Final = (-40.0, 85.0)
HUMIDITY_RANGE: Final = (0.0, 100.0)
FIRE_RISK_RANGE: Final = (0.0, 100.0)
CO_RANGE: Final = (0.0, 10000.0)
BATTERY_RANGE: Final = (0.0, 60.0)

RAW_LIMIT: Final = 2048
"""Default maximum length, in characters, of `Rejection.raw`."""

FIRE_RISK_FROM_DEVICE: Final = "device"


class Reading(NamedTuple):
    """One sensor measurement at one instant, validated.

    Every present metric lies within its plausible range; `ts` is tz-aware UTC. A metric the
    device did not send is None. An immutable named tuple rather than a frozen dataclass:
    the ingester builds one per reading, and a tuple is built about five times faster.
    """

    shelter_code: str
    sensor_id: str
    ts: datetime
    temperature: float | None = None
    humidity: float | None = None
    fire_risk: float | None = None
    # "device" when the device sent the value, else the index version that computed it.
    fire_risk_version: str | None = None
    smoke: bool | None = None
    water_leak: bool | None = None
    co: float | None = None
    battery: float | None = None
    # Computed when both temperature and humidity are present.
    dew_point: float | None = None
    # Where the sensor is, from the register; filled in by the ingester, used as tags.
    district: str = ""
    zone: str = ""


class RejectReason(StrEnum):
    """Why a message, or one element of a batch, was not accepted. Values are stable codes."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED_JSON = "malformed_json"
    BATCH_TOO_LARGE = "batch_too_large"
    NOT_AN_OBJECT = "not_an_object"
    BAD_TOPIC = "bad_topic"
    NO_METRIC = "no_metric"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    NAIVE_TIMESTAMP = "naive_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_OLD = "too_old"
    UNKNOWN_SENSOR = "unknown_sensor"
    STORE_REJECTED = "store_rejected"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that was refused, kept so it can be counted and shown to an operator."""

    topic: str
    reason: RejectReason
    detail: str
    """Human readable, e.g. "humidity 130.0 outside 0..100"."""
    raw: str
    """The offending object or payload as text, at most the configured limit in characters."""
    received_at: datetime
    index: int | None = None
    """Position of the element in a batch; None when the whole message is refused."""

    @classmethod
    def build(
        cls,
        topic: str,
        reason: RejectReason,
        detail: str,
        raw: str,
        received_at: datetime,
        *,
        index: int | None = None,
        raw_limit: int = RAW_LIMIT,
    ) -> Rejection:
        """Create a rejection with `raw` cut to `raw_limit` characters."""
        return cls(topic, reason, detail, raw[:raw_limit], received_at, index)
