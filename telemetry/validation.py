"""From MQTT deliveries to readings and rejects: parse, place in the register, enrich.

:class:`Validator` is pure apart from the sensor directory lookup: no threads, no store, no
spool, so it is built and tested alone. It parses each message with
:func:`telemetry.payload.parse_payload`, checks that the topic's sensor is registered to the
topic's shelter, and builds each reading enriched (fire-risk index, dew point) and placed
(district, zone). ``chunks`` cuts a batch into the units the pipeline stores and
acknowledges together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from telemetry.fire_risk import enriching
from telemetry.intake import AckRef, Delivery, ack_refs
from telemetry.payload import ReadingFactory, parse_payload, parse_topic
from telemetry.ports import SensorDirectory
from telemetry.readings import Reading, Rejection, RejectReason


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_bytes: int = 262_144
    max_batch: int = 1000
    max_future: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=365)
    raw_limit: int = 2048


@dataclass(slots=True)
class Chunk:
    """Validated messages on their way to a writer: stored together, then acknowledged.
    ``body`` is the store's request for ``readings`` when the store encodes ahead; ``seq``
    is the chunk's place in arrival order."""

    acks: list[AckRef]
    readings: list[Reading]
    rejects: list[Rejection]
    body: bytes | None = None
    seq: int = 0


_FACTORIES_MAX = 10_000
"""Placements kept with a ready reading factory; cleared past this (placements edited over a
long run)."""


class Validator:
    """Turns deliveries into placed, enriched readings and rejects with their reasons."""

    def __init__(self, directory: SensorDirectory, limits: IngestLimits = IngestLimits()) -> None:
        self.directory = directory
        self.limits = limits
        self._factories: dict[tuple[str, str], ReadingFactory] = {}

    def validate(self, batch: Sequence[Delivery]) -> tuple[list[Reading], list[Rejection]]:
        readings: list[Reading] = []
        rejects: list[Rejection] = []
        for d in batch:
            self._validate_one(d, readings, rejects)
        return readings, rejects

    def chunks(self, batch: Sequence[Delivery], size: int) -> Iterator[Chunk]:
        """The batch validated, cut after the message that brings a chunk to ``size``
        readings (so a chunk exceeds it by less than one message's readings)."""
        start = 0
        readings: list[Reading] = []
        rejects: list[Rejection] = []
        for i, d in enumerate(batch):
            self._validate_one(d, readings, rejects)
            if len(readings) >= size:
                yield Chunk(ack_refs(batch[start : i + 1]), readings, rejects)
                start, readings, rejects = i + 1, [], []
        if start < len(batch):
            yield Chunk(ack_refs(batch[start:]), readings, rejects)

    def _validate_one(self, d: Delivery, readings: list[Reading], rejects: list[Rejection]) -> None:
        lim = self.limits
        # A message's readings all carry its topic's shelter and sensor: one register lookup,
        # and a factory that builds each reading enriched and placed in one go.
        ids = parse_topic(d.topic)
        placement = None if ids is None else self.directory.get(ids[1])
        placed = False
        make: ReadingFactory = Reading
        if placement is not None and ids is not None and placement.shelter_code == ids[0]:
            placed = True
            key = (placement.district, placement.zone)
            make = self._factories.get(key) or self._factory(key)
        parsed = parse_payload(
            d.topic,
            d.payload,
            d.received_at,
            max_bytes=lim.max_bytes,
            max_batch=lim.max_batch,
            max_future=lim.max_future,
            retention=lim.retention,
            raw_limit=lim.raw_limit,
            make=make,
        )
        if parsed.rejects:
            rejects.extend(parsed.rejects)
        if placed:
            readings.extend(parsed.readings)
            return
        for r in parsed.readings:
            rejects.append(
                Rejection.build(
                    d.topic,
                    RejectReason.UNKNOWN_SENSOR,
                    f"sensor {r.sensor_id} is not registered to shelter {r.shelter_code}",
                    d.payload.decode("utf-8", "replace"),
                    d.received_at,
                    raw_limit=lim.raw_limit,
                )
            )

    def _factory(self, key: tuple[str, str]) -> ReadingFactory:
        if len(self._factories) >= _FACTORIES_MAX:
            self._factories.clear()
        make = self._factories[key] = enriching(*key)
        return make
