"""The ingestion pipeline: MQTT deliveries in, readings durably stored, then acknowledged.

Its parts are built and tested alone and passed in: the :class:`~telemetry.intake.Intake`
(the bounded queue the MQTT network thread fills), the :class:`~telemetry.validation.
Validator` (parse, place, enrich) and the :class:`~telemetry.durable.DurableStore` (the
reading store, or the local spool while it is unreachable, and the spool's replay). The
pipeline runs the threads between them: a worker takes batches from the intake, validates
them, cuts them into chunks of at most about ``batch_size`` readings (gateway messages carry
many) and, for a store that encodes ahead, builds the store's request; several writer threads
make chunks durable at once. Chunks are numbered (``telemetry.ordering``): a chunk is
acknowledged to the broker, and handed to the observers, only after every earlier one, so
PUBACKs leave in the order the PUBLISHes came, and the spool receives chunks in arrival
order. Only durable chunks are acknowledged, so the broker keeps every message that is not
yet durable. If neither the store nor the spool can take a chunk, its writer retries it and
nothing after it is acknowledged: the broker holds the backlog and the system slows down
instead of losing data.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from telemetry.durable import DurableStore
from telemetry.errors import SpoolFull
from telemetry.intake import AckRef, Intake
from telemetry.metrics import IngestMetrics
from telemetry.readings import Reading
from telemetry.validation import Chunk, Validator

log = logging.getLogger(__name__)


class Acker(Protocol):
    def ack(self, refs: Sequence[AckRef]) -> None:
        """Acknowledge these messages to the broker (those of a past connection are skipped:
        the broker redelivers them)."""
        ...


class ReadingObserver(Protocol):
    """Sees every stored reading after it is durable (alert evaluation)."""

    def observe(self, readings: Sequence[Reading], *, now: datetime) -> None: ...


_HANDOFF_DEPTH = 1
"""Validated chunks that may wait for a writer; the worker blocks beyond that."""


class Pipeline:
    """Takes batches from the intake, validates them, stores them durably and acknowledges
    them in arrival order; start/stop as a component."""

    def __init__(
        self,
        *,
        intake: Intake,
        validator: Validator,
        durable: DurableStore,
        acker: Acker,
        metrics: IngestMetrics,
        clock: Callable[[], datetime],
        writers: int = 3,
        retry_s: float = 1.0,
        observers: Sequence[ReadingObserver] = (),
    ) -> None:
        self.intake = intake
        self.validator = validator
        self.durable = durable
        self.acker = acker
        self.metrics = metrics
        self.clock = clock
        self.writers = max(1, writers)
        self.retry_s = retry_s
        self.observers = tuple(observers)
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._writer_threads: list[threading.Thread] = []
        self._handoff: deque[Chunk] = deque()
        self._handoff_cond = threading.Condition()
        self._worker_done = False
        self._busy_writers = 0
        """Writers storing a chunk now (read without the lock: a hint for batching)."""
        spool = durable.spool
        metrics.spool_depth.set_function(lambda: spool.depth)
        metrics.spool_bytes.set_function(lambda: spool.pending_bytes)
        metrics.queue_depth.set_function(lambda: len(intake))
        metrics.store_up.set_function(lambda: 1.0 if durable.store_ok else 0.0)

    # -- threads ----------------------------------------------------------------------------
    def start(self) -> None:
        self._worker = threading.Thread(target=self._run, name="ingest-worker", daemon=True)
        self._writer_threads = [
            threading.Thread(target=self._write_loop, name=f"ingest-writer-{i}", daemon=True)
            for i in range(self.writers)
        ]
        self._worker.start()
        for writer in self._writer_threads:
            writer.start()
        self.durable.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Store and acknowledge what is queued, then stop the threads."""
        self._stopping.set()
        self.intake.stop()
        if self._worker is not None:
            self._worker.join(timeout)
        for writer in self._writer_threads:
            writer.join(timeout)
        self.durable.stop(timeout)

    def _run(self) -> None:
        try:
            while (batch := self.intake.take(fill=self._writers_busy)) is not None:
                try:
                    for chunk in self.validator.chunks(batch, self.intake.batch_size):
                        self._hand_off(chunk)
                except Exception:
                    # Not acknowledged: the broker redelivers these messages.
                    log.exception("batch of %d messages failed; left for redelivery", len(batch))
        finally:
            with self._handoff_cond:
                self._worker_done = True
                self._handoff_cond.notify_all()

    def _hand_off(self, chunk: Chunk) -> None:
        chunk.body = self.durable.encode(chunk.readings)
        chunk.seq = self.durable.order.next()
        with self._handoff_cond:
            while len(self._handoff) >= _HANDOFF_DEPTH:
                self._handoff_cond.wait()
            self._handoff.append(chunk)
            self._handoff_cond.notify_all()

    def _writers_busy(self) -> bool:
        """Whether a batch is worth filling: every writer is storing a chunk, so the next
        write starts only when one of them has finished anyway."""
        return self._busy_writers >= self.writers

    def _write_loop(self) -> None:
        while True:
            with self._handoff_cond:
                while not self._handoff:
                    if self._worker_done:
                        return
                    self._handoff_cond.wait()
                chunk = self._handoff.popleft()
                self._busy_writers += 1
                self._handoff_cond.notify_all()
            try:
                self._commit(chunk)
            finally:
                with self._handoff_cond:
                    self._busy_writers -= 1
                self.intake.wake()

    # -- the work ---------------------------------------------------------------------------
    def _commit(self, chunk: Chunk) -> None:
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
                self.durable.order.finish(chunk.seq, release)
            except Exception:
                log.exception("acknowledging stored messages failed")

    def _make_durable(self, chunk: Chunk) -> bool:
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
                if self._stopping.wait(self.retry_s):
                    return False

    def _releaser(self, chunk: Chunk) -> Callable[[], None]:
        def release() -> None:
            m = self.metrics
            for x in chunk.rejects:
                m.rejected.labels(x.reason.value).inc()
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
