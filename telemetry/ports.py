"""Ports of the telemetry side: where readings are stored, where rejects are kept, where
sensors are placed, and who hears of alert transitions. Real implementations live beside them
(InfluxDB, SQL) or in ``api`` (the register, the notification outbox); tests may fake only
these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from telemetry.alert_store import AlertEvent
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
    reingested_at: datetime | None = None
    """When a re-ingestion stored the reading; None while it stays rejected."""


@dataclass(frozen=True, slots=True)
class RejectFilter:
    """Which stored rejects to take up again: by reason, by the sensor of their topic, and
    by when they were received (``received_from`` inclusive, ``received_to`` exclusive)."""

    reason: str | None = None
    sensor_id: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


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

    def pending(self, which: RejectFilter, *, after_id: int, limit: int) -> Sequence[StoredReject]:
        """Rejects not re-ingested yet that ``which`` selects, with an id above ``after_id``,
        oldest first, at most ``limit``."""
        ...

    def settle(
        self, reingested: Sequence[int], still: Sequence[tuple[int, str, str]], at: datetime
    ) -> None:
        """Mark ``reingested`` ids re-ingested at ``at``; give each (id, reason, detail) of
        ``still`` its reason and detail as judged again. One transaction."""
        ...


class SensorDirectory(Protocol):
    """Where sensors are: the ingester's view of the register."""

    def get(self, sensor_id: str) -> Placement | None: ...


@dataclass(frozen=True, slots=True)
class WatchedSensor:
    """A sensor the register expects to report (active, in an active shelter), as the
    offline check needs it."""

    sensor_id: str
    shelter_code: str
    district: str
    zone: str
    expected_interval_s: int
    registered_at: datetime
    """Silence counts from here until its first reading."""


class AlertSink(Protocol):
    """Hears of every alert transition inside the transaction that made it (to queue its
    notifications, so none is lost or doubled). Only
    :class:`telemetry.alert_transitions.AlertTransitions` calls it."""

    def on_events(self, session: Session, events: Sequence[AlertEvent]) -> None:
        """``events`` in the order they happened: one transition, or all of a flush or a
        sweep at once (an alert storm), to be written in a few statements whatever their
        number, with the outcome of hearing them one by one."""
        ...


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
