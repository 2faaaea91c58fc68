"""Making readings durable: the reading store, or the local spool while it is unreachable.

Used by the ingestion pipeline (``telemetry.ingest``): its writer threads, several at once,
and its replay thread. A chunk's readings go to the store, as the request encoded ahead when
the store encodes (:class:`~telemetry.ports.EncodingStore`); a request the store refuses is
written again piecewise, halving, to find the readings it refuses, which become rejects.
While the store is unreachable, chunks are appended to the spool in chunk order (each waits
for every earlier chunk to settle, see ``telemetry.ordering``) and replayed in order once
the store answers again. A replay that fails (the store down, or answering its health check
but refusing writes) waits before the next try, doubling from ``retry_s`` up to
``retry_max_s`` with jitter, and says so in the log once per outage, not once per try.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence

from telemetry.errors import StoreRejected, StoreUnavailable, TelemetryError
from telemetry.metrics import IngestMetrics
from telemetry.ordering import InOrder
from telemetry.ports import EncodingStore, ReadingStore, RejectStore
from telemetry.readings import Reading, Rejection, RejectReason
from telemetry.spool import Spool

log = logging.getLogger(__name__)


class DurableStore:
    """The store and the spool behind it. ``store_ok`` is False from a failed write until
    the replay thread finds the store answering again. Built and tested alone: it needs a
    store, a reject store, a spool and metrics."""

    def __init__(
        self,
        *,
        store: ReadingStore,
        rejects: RejectStore,
        spool: Spool,
        metrics: IngestMetrics,
        batch_size: int,
        raw_limit: int,
        retry_s: float,
        retry_max_s: float = 30.0,
        jitter: Callable[[], float] = random.random,
        stopped: threading.Event | None = None,
    ) -> None:
        """``stopped`` is what the replay thread waits on between tries (set by
        :meth:`stop`); ``jitter`` gives a number in [0, 1) for the retry backoff."""
        self.store = store
        self.rejects = rejects
        self.spool = spool
        self.metrics = metrics
        self.batch_size = batch_size
        self.raw_limit = raw_limit
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self._jitter = jitter
        self.replay_failures = 0
        """Replay attempts failed in a row; 0 while replay succeeds."""
        self.retry_in_s = 0.0
        """The wait before the next replay attempt after a failure."""
        self.store_ok = True
        self._encoder = store if isinstance(store, EncodingStore) else None
        self.order = InOrder()
        """Chunk numbers in arrival order: the spool takes chunks in this order, and the
        pipeline acknowledges them in it."""
        self._stopped = stopped if stopped is not None else threading.Event()
        self._replayer: threading.Thread | None = None

    def start(self) -> None:
        """Start the replay thread."""
        self._replayer = threading.Thread(target=self.replay_loop, name="spool-replay", daemon=True)
        self._replayer.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop replaying (after the writers have stopped: a chunk waiting for its turn to
        be spooled gives up waiting once this is called)."""
        self._stopped.set()
        if self._replayer is not None:
            self._replayer.join(timeout)

    def encode(self, readings: Sequence[Reading]) -> bytes | None:
        """The store's request for these readings, when it encodes ahead and takes them all;
        None otherwise (they are then written as readings)."""
        if self._encoder is None or not readings:
            return None
        try:
            return self._encoder.encode(readings)
        except StoreRejected:
            return None  # written piecewise to isolate the reading the store refuses

    def _spool(
        self, seq: int | None, readings: Sequence[Reading], rejects: Sequence[Rejection] = ()
    ) -> None:
        """Append to the spool once every earlier chunk is settled (arrival order)."""
        if seq is not None:
            while not self.order.wait_for_earlier(seq, self.retry_s):
                if self._stopped.is_set():
                    break
        self.spool.append(readings, rejects)

    def store_readings(
        self, readings: list[Reading], body: bytes | None = None, *, seq: int | None = None
    ) -> list[Rejection]:
        """Write to the store or spool them; returns readings the store refused, as rejects.
        ``body`` is the request the store encoded for them ahead of time, if any."""
        if not readings:
            return []
        if self.store_ok:
            started = time.perf_counter()
            try:
                refused = self._write_body(body, readings)
            except StoreUnavailable as exc:
                self.store_ok = False
                log.warning("reading store unavailable (%s); spooling", exc)
            else:
                self.metrics.write_seconds.observe(time.perf_counter() - started)
                self.metrics.stored.inc(len(readings) - len(refused))
                return refused
        self._spool(seq, readings)
        self.metrics.spooled.inc(len(readings))
        return []

    def _write_body(self, body: bytes | None, readings: Sequence[Reading]) -> list[Rejection]:
        """Send the encoded request; should the store refuse it, write the readings again
        piecewise to find out which it refuses."""
        if body is None or self._encoder is None:
            return self._write_all(readings)
        try:
            self._encoder.write_encoded(body)
            return []
        except StoreRejected:
            return self._write_all(readings)

    def _write_all(self, readings: Sequence[Reading]) -> list[Rejection]:
        """Write in requests of at most ``batch_size`` readings, of about equal size."""
        parts = -(-len(readings) // self.batch_size)
        if parts <= 1:
            return self._write(readings)
        size = -(-len(readings) // parts)
        refused: list[Rejection] = []
        for i in range(0, len(readings), size):
            refused.extend(self._write(readings[i : i + size]))
        return refused

    def _write(self, readings: Sequence[Reading]) -> list[Rejection]:
        """Write, isolating readings the store refuses by halving the batch."""
        try:
            self.store.write(readings)
            return []
        except StoreRejected as exc:
            if len(readings) == 1:
                r = readings[0]
                return [
                    Rejection.build(
                        f"shelters/{r.shelter_code}/{r.sensor_id}/telemetry",
                        RejectReason.STORE_REJECTED,
                        f"the store refused the reading: {exc}",
                        repr(r),
                        r.ts,
                        raw_limit=self.raw_limit,
                    )
                ]
            half = len(readings) // 2
            return [*self._write(readings[:half]), *self._write(readings[half:])]

    def store_rejects(self, rejects: list[Rejection], *, seq: int | None = None) -> None:
        if not rejects:
            return
        try:
            self.rejects.add(rejects)
        except Exception as exc:  # noqa: BLE001 - any failure: keep them durable in the spool
            log.warning("reject store unavailable (%s); spooling %d rejects", exc, len(rejects))
            self._spool(seq, [], rejects)

    def replay_loop(self) -> None:
        while not self._stopped.is_set():
            if self.spool.depth == 0 and self.store_ok:
                self._stopped.wait(0.5)
                continue
            if not self.store_ok:
                try:
                    self.store.check()
                except TelemetryError as exc:
                    self._failed(exc)
                    self._stopped.wait(self.retry_in_s)
                    continue
                self.store_ok = True
            if self.replay_once() == 0 and self.replay_failures:
                self._stopped.wait(self.retry_in_s)

    def replay_once(self) -> int:
        """Replay one chunk of the spool; returns records committed (0 on failure, with
        ``retry_in_s`` set to the wait before the next try)."""
        item = self.spool.peek(self.batch_size)
        if item is None:
            return 0
        frame, pos = item
        try:
            refused = self._write_all(frame.readings) if frame.readings else []
            if frame.rejects or refused:
                self.rejects.add([*frame.rejects, *refused])
        except StoreUnavailable as exc:
            self.store_ok = False
            self._failed(exc)
            return 0
        except Exception as exc:  # noqa: BLE001 - any failure: the spool keeps the chunk
            self._failed(exc)
            return 0
        if self.replay_failures:
            log.info(
                "spool replay resumed after %d failed attempts; %d records left",
                self.replay_failures,
                self.spool.depth - len(frame.readings) - len(frame.rejects),
            )
            self.replay_failures = 0
            self.retry_in_s = 0.0
            self.metrics.replay_retry_seconds.set(0.0)
        self.spool.commit(pos, frame)
        self.metrics.stored.inc(len(frame.readings) - len(refused))
        return len(frame.readings) + len(frame.rejects)

    def _failed(self, exc: Exception) -> None:
        """Count a failed replay attempt and set the wait before the next: ``retry_s``
        doubling per failure in a row up to ``retry_max_s``, of which a random half is
        jitter (so several ingesters do not retry in step). Logged once per outage."""
        self.replay_failures += 1
        self.metrics.replay_failures.inc()
        ceiling = min(self.retry_max_s, self.retry_s * 2 ** min(self.replay_failures - 1, 30))
        self.retry_in_s = ceiling / 2 + ceiling / 2 * self._jitter()
        self.metrics.replay_retry_seconds.set(self.retry_in_s)
        if self.replay_failures == 1:
            log.warning(
                "spool replay failing (%s); %d records wait, retrying with backoff up to %.0fs",
                exc,
                self.spool.depth,
                self.retry_max_s,
            )
        else:
            log.debug("spool replay failed again (%d in a row): %s", self.replay_failures, exc)
