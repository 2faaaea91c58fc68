"""The ingestion pipeline: MQTT deliveries in, readings durably stored, then acknowledged.

``submit_many`` is called from the MQTT network thread with the messages of one read and
only queues (no I/O there); ``wait_for_room`` tells that thread to stop reading while the
intake is full. A worker thread takes batches, parses and validates them, resolves each
sensor in the register, computes the fire-risk index and dew point, and (for a store that
encodes ahead) builds the store's request. A batch's readings are cut into chunks of at most
about ``batch_size`` readings (gateway messages carry many). Several writer threads make
chunks durable at once (``telemetry.durable``): written to the reading store, or, while the
store is unreachable, appended to the local spool. Chunks are numbered
(``telemetry.ordering``): a chunk is acknowledged to the broker, and handed to the
observers, only after every earlier one, so PUBACKs leave in the order the PUBLISHes came,
and the spool receives chunks in arrival order. Only durable chunks are acknowledged, so the
broker keeps every message that is not yet durable. A replay thread empties the spool in
order once the store answers again. If neither the store nor the spool can take a chunk, its
writer retries it and nothing after it is acknowledged: the broker holds the backlog and the
system slows down instead of losing data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from telemetry.durable import DurableStore
from telemetry.errors import SpoolFull
from telemetry.fire_risk import enriching
from telemetry.metrics import IngestMetrics
from telemetry.ordering import InOrder
from telemetry.payload import ReadingFactory, parse_payload, parse_topic
from telemetry.ports import ReadingStore, RejectStore, SensorDirectory
from telemetry.readings import Reading, Rejection, RejectReason
from telemetry.spool import Spool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One MQTT message as received; ``generation`` names the connection it came on."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int
    received_at: datetime


AckRef = tuple[int, int, int]
"""What acknowledging a delivery takes: its (mid, qos, generation). Chunks keep these, not
the deliveries, so that payloads are freed as soon as they are parsed."""


def ack_refs(deliveries: Sequence[Delivery]) -> list[AckRef]:
    return [(d.mid, d.qos, d.generation) for d in deliveries]


class Acker(Protocol):
    def ack(self, refs: Sequence[AckRef]) -> None:
        """Acknowledge these messages to the broker (those of a past connection are skipped:
        the broker redelivers them)."""
        ...


class ReadingObserver(Protocol):
    """Sees every stored reading after it is durable (alert evaluation)."""

    def observe(self, readings: Sequence[Reading], *, now: datetime) -> None: ...


@dataclass(slots=True)
class _Chunk:
    """Validated messages on their way to the writer: stored together, then acknowledged.
    ``body`` is the store's request for ``readings``, when the store encodes ahead."""

    acks: list[AckRef]
    readings: list[Reading]
    rejects: list[Rejection]
    body: bytes | None = None
    seq: int = 0


_HANDOFF_DEPTH = 1
"""Validated chunks that may wait for a writer; the worker blocks beyond that."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    max_bytes: int = 262_144
    max_batch: int = 1000
    max_future: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=365)
    raw_limit: int = 2048


class Pipeline:
    """Batches, validates, stores durably, acknowledges. Thread-safe ``submit``."""

    def __init__(
        self,
        *,
        store: ReadingStore,
        rejects: RejectStore,
        directory: SensorDirectory,
        spool: Spool,
        metrics: IngestMetrics,
        clock: Callable[[], datetime],
        limits: IngestLimits = IngestLimits(),
        batch_size: int = 5000,
        batch_interval_s: float = 0.2,
        max_queued: int | None = None,
        max_queued_bytes: int = 1 << 20,
        retry_s: float = 1.0,
        writers: int = 3,
        observers: Sequence[ReadingObserver] = (),
    ) -> None:
        self.directory = directory
        self.spool = spool
        self.metrics = metrics
        self.clock = clock
        self.limits = limits
        self.batch_size = batch_size
        self.batch_interval_s = batch_interval_s
        self.max_queued = max_queued if max_queued is not None else 2 * batch_size
        self.max_queued_bytes = max_queued_bytes
        self.retry_s = retry_s
        self.writers = max(1, writers)
        self.observers = list(observers)
        self.acker: Acker | None = None
        self._queue: deque[Delivery] = deque()
        self._queued_bytes = 0
        self._oldest = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._stopped = threading.Event()
        self._worker: threading.Thread | None = None
        self._writer_threads: list[threading.Thread] = []
        self._order = InOrder()
        self.durable = DurableStore(
            store=store,
            rejects=rejects,
            spool=spool,
            metrics=metrics,
            order=self._order,
            stopped=self._stopped,
            batch_size=batch_size,
            raw_limit=limits.raw_limit,
            retry_s=retry_s,
        )
        self._replayer: threading.Thread | None = None
        self._factories: dict[tuple[str, str], ReadingFactory] = {}
        self._handoff: deque[_Chunk] = deque()
        self._handoff_cond = threading.Condition()
        self._worker_done = False
        metrics.spool_depth.set_function(lambda: spool.depth)
        metrics.spool_bytes.set_function(lambda: spool.pending_bytes)
        metrics.queue_depth.set_function(lambda: len(self._queue))
        metrics.store_up.set_function(lambda: 1.0 if self.durable.store_ok else 0.0)

    # -- intake (MQTT callback thread) ------------------------------------------------------
    def submit_many(self, deliveries: Sequence[Delivery]) -> None:
        """Queue the deliveries of one read together (one lock, one wake-up); never blocks on
        I/O. Ignored once stopping (the broker keeps them)."""
        with self._cond:
            if self._stopping or not deliveries:
                return
            was = len(self._queue)
            self._queue.extend(deliveries)
            self._queued_bytes += sum([len(d.payload) for d in deliveries])
            if was == 0:
                self._oldest = time.monotonic()
                self._cond.notify_all()
            elif len(self._queue) >= self.batch_size or not self._has_room():
                self._cond.notify_all()  # a full batch, or a full intake: take it now

    def wait_for_room(self, timeout: float) -> bool:
        """Whether the intake queue holds fewer than ``max_queued`` messages and
        ``max_queued_bytes`` of payload, waiting up to ``timeout`` seconds for the worker to
        take some. The MQTT side reads no more while this is false, so a broker that sends
        past the Receive Maximum cannot fill memory."""
        with self._cond:
            return self._cond.wait_for(self._has_room, timeout)

    def _has_room(self) -> bool:
        return self._stopping or (
            len(self._queue) < self.max_queued and self._queued_bytes < self.max_queued_bytes
        )

    # -- threads ----------------------------------------------------------------------------
    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="ingest-worker", daemon=True)
        self._writer_threads = [
            threading.Thread(target=self._write_loop, name=f"ingest-writer-{i}", daemon=True)
            for i in range(self.writers)
        ]
        self._replayer = threading.Thread(
            target=self.durable.replay_loop, name="spool-replay", daemon=True
        )
        self._worker.start()
        for writer in self._writer_threads:
            writer.start()
        self._replayer.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Store and acknowledge what is queued, then stop the threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)
        for writer in self._writer_threads:
            writer.join(timeout)
        self._stopped.set()
        if self._replayer is not None:
            self._replayer.join(timeout)

    def _take(self) -> list[Delivery] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = self._oldest + self.batch_interval_s
            # Wait for a full batch, unless the intake is full: then no more can come.
            while len(self._queue) < self.batch_size and not self._stopping and self._has_room():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            n = min(len(self._queue), self.batch_size)
            batch = [self._queue.popleft() for _ in range(n)]
            self._queued_bytes -= sum([len(d.payload) for d in batch])
            if self._queue:
                self._oldest = time.monotonic()
            self._cond.notify_all()  # room for the reader waiting in wait_for_room
            return batch

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                try:
                    for chunk in self._chunks(batch):
                        self._hand_off(chunk)
                except Exception:
                    # Not acknowledged: the broker redelivers these messages.
                    log.exception("batch of %d messages failed; left for redelivery", len(batch))
        finally:
            with self._handoff_cond:
                self._worker_done = True
                self._handoff_cond.notify_all()

    def _hand_off(self, chunk: _Chunk) -> None:
        chunk.body = self.durable.encode(chunk.readings)
        chunk.seq = self._order.next()
        with self._handoff_cond:
            while len(self._handoff) >= _HANDOFF_DEPTH:
                self._handoff_cond.wait()
            self._handoff.append(chunk)
            self._handoff_cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._handoff_cond:
                while not self._handoff:
                    if self._worker_done:
                        return
                    self._handoff_cond.wait()
                chunk = self._handoff.popleft()
                self._handoff_cond.notify_all()
            self._commit(chunk)

    # -- the work ---------------------------------------------------------------------------
    def validate(self, batch: Sequence[Delivery]) -> tuple[list[Reading], list[Rejection]]:
        """Parse, check against the register, enrich. Pure apart from the directory lookup."""
        readings: list[Reading] = []
        rejects: list[Rejection] = []
        for d in batch:
            self._validate_one(d, readings, rejects)
        return readings, rejects

    def _chunks(self, batch: Sequence[Delivery]) -> Iterator[_Chunk]:
        """The batch validated, cut after the message that brings a chunk to ``batch_size``
        readings (so a chunk exceeds it by less than one message's readings)."""
        limit = self.batch_size
        start = 0
        readings: list[Reading] = []
        rejects: list[Rejection] = []
        for i, d in enumerate(batch):
            self._validate_one(d, readings, rejects)
            if len(readings) >= limit:
                yield _Chunk(ack_refs(batch[start : i + 1]), readings, rejects)
                start, readings, rejects = i + 1, [], []
        if start < len(batch):
            yield _Chunk(ack_refs(batch[start:]), readings, rejects)

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
        if len(self._factories) >= 10_000:  # placements edited over a long run
            self._factories.clear()
        make = self._factories[key] = enriching(*key)
        return make

    def _commit(self, chunk: _Chunk) -> None:
        """Store one chunk durably, then (in chunk order) acknowledge its messages and tell
        the observers. Several writers run this at once."""
        release: Callable[[], None] | None = None
        try:
            if self._make_durable(chunk):
                release = self._releaser(chunk)
        except Exception:
            # Not acknowledged: the broker redelivers these messages.
            log.exception("batch of %d messages failed; left for redelivery", len(chunk.acks))
        finally:
            try:
                self._order.finish(chunk.seq, release)
            except Exception:
                log.exception("acknowledging stored messages failed")

    def _make_durable(self, chunk: _Chunk) -> bool:
        """Store or spool the chunk's readings and rejects; False when stopping first."""
        m = self.metrics
        m.messages.inc(len(chunk.acks))
        m.received.inc(len(chunk.readings) + len(chunk.rejects))
        while True:
            try:
                extra = self.durable.store_readings(chunk.readings, chunk.body, seq=chunk.seq)
                chunk.body = None  # sent: free it while the chunk waits for its turn
                self.durable.store_rejects([*chunk.rejects, *extra], seq=chunk.seq)
                return True
            except SpoolFull:
                log.error(
                    "store down and spool full; holding %d messages unacknowledged",
                    len(chunk.acks),
                )
                if self._stopped.wait(self.retry_s) or self._stopping:
                    return False

    def _releaser(self, chunk: _Chunk) -> Callable[[], None]:
        def release() -> None:
            m = self.metrics
            for x in chunk.rejects:
                m.rejected.labels(x.reason.value).inc()
            if self.acker is not None:
                self.acker.ack(chunk.acks)
                m.acked.inc(len(chunk.acks))
            readings = chunk.readings
            if readings:
                now = self.clock()
                oldest = min(r.ts for r in readings)
                m.lag_seconds.observe(max(0.0, (now - oldest).total_seconds()))
                for observer in self.observers:
                    try:
                        observer.observe(readings, now=now)
                    except Exception:
                        log.exception("reading observer %r failed", observer)

        return release
