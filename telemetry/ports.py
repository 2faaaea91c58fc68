"""Ports of the telemetry side: where readings are stored, where rejects are kept, and where
sensors are placed. Real implementations live beside them (InfluxDB, SQL, the register
through ``api``); tests may fake only these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from telemetry.readings import Reading, Rejection


class Metric(StrEnum):
    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    FIRE_RISK = "fire_risk"
    DEW_POINT = "dew_point"
    CO = "co"
    BATTERY = "battery"


class Resolution(StrEnum):
    """Which data a series is read from: the raw readings or their hourly rollup."""

    RAW = "raw"
    HOURLY = "1h"


class Aggregate(StrEnum):
    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    LAST = "last"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a registered sensor is, as the register says."""

    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    expected_interval_s: int
    current_class: int | None = None


@dataclass(frozen=True, slots=True)
class LatestValue:
    sensor_id: str
    metric: Metric
    value: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A validated aggregation request (see :mod:`telemetry.query`)."""

    shelter_code: str
    metric: Metric
    start: datetime
    end: datetime
    every_s: int
    agg: Aggregate
    tz: str
    sensor_id: str | None = None
    resolution: Resolution = Resolution.RAW
    """``HOURLY``: aggregate the hourly rollup (then ``every_s`` is whole hours and ``agg`` is
    not ``last``); ``RAW``: the readings themselves."""


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    sensor_id: str
    ts: datetime  # start of the bucket, UTC
    value: float | None


@dataclass(frozen=True, slots=True)
class StoredReject:
    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    raw: str
    batch_index: int | None


class ReadingStore(Protocol):
    """A time-series store of readings. ``write`` returns only once the data is durable;
    writing the same (sensor, ts) again overwrites it."""

    def write(self, readings: Sequence[Reading]) -> None:
        """Raises :class:`StoreUnavailable` (transient) or :class:`StoreRejected`."""
        ...

    def latest(self, shelter_code: str) -> list[LatestValue]:
        """Per sensor and metric, the newest value by measurement time."""
        ...

    def series(self, query: SeriesQuery) -> list[SeriesPoint]: ...

    def hourly_counts(
        self, shelter_code: str, start: datetime, end: datetime
    ) -> dict[tuple[str, datetime], int]:
        """Readings received per (sensor, hour start UTC) in [start, end): counted in the raw
        readings, and for hours whose raw readings are gone, in the hourly rollup."""
        ...

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers now."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class EncodingStore(Protocol):
    """A reading store whose write request can be built apart from sending it. The ingester
    encodes chunks on its worker thread while its writer threads send earlier ones, so the
    store's round trips and the encoding overlap. ``write(r)`` is
    ``write_encoded(encode(r))``."""

    def encode(self, readings: Sequence[Reading]) -> bytes:
        """The request body; raises :class:`StoreRejected` for a reading it cannot take."""
        ...

    def write_encoded(self, body: bytes) -> None:
        """Send what :meth:`encode` built; raises as :meth:`ReadingStore.write` does."""
        ...


class RejectStore(Protocol):
    """A bounded store of rejected readings (oldest dropped beyond its bound)."""

    def add(self, rejects: Sequence[Rejection]) -> None: ...

    def list(
        self, *, limit: int, offset: int, reason: str | None = None
    ) -> tuple[list[StoredReject], int]: ...


class SensorDirectory(Protocol):
    """Where sensors are: the ingester's view of the register."""

    def get(self, sensor_id: str) -> Placement | None: ...


@dataclass(frozen=True, slots=True)
class DeviceLogin:
    """What a sensor connects with: shown once, never stored in clear."""

    username: str
    password: str
    client_id: str
    topic: str
    """The one topic it may publish to."""


class DeviceCredentials(Protocol):
    """The broker accounts of sensors (Mosquitto's dynamic-security plugin, or the embedded
    broker's account table). Changes apply at once, without restarting the broker."""

    def issue(self, sensor_id: str, shelter_code: str) -> DeviceLogin:
        """Create or replace the sensor's account: a new password, and the right to publish
        on its own telemetry topic in ``shelter_code`` only; a connection it holds is
        dropped. Raises :class:`AccountConflict` when the name belongs to an account that
        is not this sensor's, :class:`BrokerAdminUnavailable` when the broker cannot be
        told."""
        ...

    def revoke(self, sensor_id: str) -> None:
        """Remove the sensor's account and drop its connection; nothing happens when it has
        none. Raises as :meth:`issue` does."""
        ...
