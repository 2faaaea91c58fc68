"""The ingester's intake: MQTT deliveries queued by the network thread, taken in batches.

``submit_many`` is called from the MQTT network thread with the messages of one read and
only queues (no I/O there); ``wait_for_room`` tells that thread to stop reading while the
intake is full (by count or by payload bytes), so a broker that sends past the Receive
Maximum cannot fill memory. ``take`` hands the ingest worker the next batch. Batching adapts
to load: while the caller says a batch is worth filling (the store writers are all busy),
``take`` waits for a full batch, at most until the oldest message has waited
``batch_interval_s``; otherwise (a writer is free) it hands over what is queued at once, so a
reading on a quiet pipeline is written, acknowledged and judged without waiting for company.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime


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


class Intake:
    """A bounded queue of deliveries between the MQTT network thread and the ingest worker.
    Thread-safe; ``monotonic`` (seconds) times how long the oldest message has waited."""

    def __init__(
        self,
        *,
        batch_size: int,
        batch_interval_s: float,
        max_queued: int | None = None,
        max_queued_bytes: int = 1 << 20,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.batch_size = batch_size
        self.batch_interval_s = batch_interval_s
        self.max_queued = max_queued if max_queued is not None else 2 * batch_size
        self.max_queued_bytes = max_queued_bytes
        self._monotonic = monotonic
        self._queue: deque[Delivery] = deque()
        self._queued_bytes = 0
        self._oldest = 0.0
        """When the oldest queued message arrived (meaningful only while one is queued)."""
        self._cond = threading.Condition()
        self._stopping = False

    def __len__(self) -> int:
        return len(self._queue)

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
                self._oldest = self._monotonic()
                self._cond.notify_all()
            elif len(self._queue) >= self.batch_size or not self._has_room():
                self._cond.notify_all()  # a full batch, or a full intake: take it now

    def wait_for_room(self, timeout: float) -> bool:
        """Whether the intake holds fewer than ``max_queued`` messages and
        ``max_queued_bytes`` of payload, waiting up to ``timeout`` seconds for the worker to
        take some. The MQTT side reads no more while this is false."""
        with self._cond:
            return self._cond.wait_for(self._has_room, timeout)

    def _has_room(self) -> bool:
        return self._stopping or (
            len(self._queue) < self.max_queued and self._queued_bytes < self.max_queued_bytes
        )

    def take(self, fill: Callable[[], bool] = lambda: True) -> list[Delivery] | None:
        """The next batch of at most ``batch_size`` deliveries, in arrival order; None once
        stopping with nothing left. While ``fill()`` is true it waits for a full batch, up to
        ``batch_interval_s`` after the oldest message arrived, unless the intake is full (then
        no more can come); :meth:`wake` makes it look at ``fill`` again."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = self._oldest + self.batch_interval_s
            while (
                len(self._queue) < self.batch_size
                and not self._stopping
                and self._has_room()
                and fill()
            ):
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            n = min(len(self._queue), self.batch_size)
            batch = [self._queue.popleft() for _ in range(n)]
            self._queued_bytes -= sum([len(d.payload) for d in batch])
            if self._queue:
                self._oldest = self._monotonic()
            self._cond.notify_all()  # room for the reader waiting in wait_for_room
            return batch

    def wake(self) -> None:
        """Have a waiting :meth:`take` check its ``fill`` again (a writer became free)."""
        with self._cond:
            self._cond.notify_all()

    def stop(self) -> None:
        """Take no more deliveries; ``take`` hands out what is queued, then None."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
