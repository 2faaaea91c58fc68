"""The fast path of the platform's alert feed: a transition's MQTT message is published as
soon as the transaction that made it commits, from the process that made it.

The alert sink, inside that transaction, creates the message's delivery row with a lease and
stages it here; after the commit the evaluator calls :meth:`PlatformFeed.commit`, which wakes
this thread (it never polls: a message does not wait for a timer). The thread publishes
messages in commit order and records each outcome after it, publishing what became ready
before each record: a message waits for the PUBACKs of those before it and for at most one
database write, not for one per earlier message (an alert storm, or a raise and its clear).
If the transaction rolls back the staged messages are discarded; if this process dies before
publishing, the lease runs out and the regular delivery worker sends the message (at least
once: receivers drop repeats by id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from api.notify.channels import Channel, ChannelError, OutgoingMessage
from api.notify.delivery import Job, record_outcome

log = logging.getLogger(__name__)


class FeedChannel(Channel, Protocol):
    """A long-lived publisher (:class:`api.notify.channels.MqttChannel`)."""

    def start(self) -> None: ...

    def close(self) -> None: ...


class PlatformFeed:
    """Publishes staged platform messages after commit; a Component (start/stop).
    ``monotonic`` (seconds) times each publish for its delivery attempt."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: FeedChannel,
        *,
        clock: Callable[[], datetime],
        max_attempts: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.clock = clock
        self.max_attempts = max_attempts
        self.monotonic = monotonic
        self._staged: list[Job] = []
        self._ready: deque[Job] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0

    # -- called by the alert sink and the evaluator ----------------------------------------
    def stage(self, delivery_id: int, topic: str, message: OutgoingMessage) -> None:
        self._staged.append(Job(delivery_id, "mqtt", topic, message, None, None))

    def commit(self) -> None:
        """The staged messages' transaction committed: publish them now."""
        self._ready.extend(self._staged)
        self._staged.clear()
        self._wake.set()

    def discard(self) -> None:
        self._staged.clear()

    # -- thread -----------------------------------------------------------------------------
    def start(self) -> None:
        self.channel.start()
        self._thread = threading.Thread(target=self._run, name="platform-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.channel.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self.drain()

    def drain(self) -> int:
        """Publish every message ready, in order, and record the outcomes; the number
        published. Publishing goes first: before each outcome is recorded, messages
        committed meanwhile are published, so a message waits for at most one record."""
        published = 0
        sent: deque[tuple[Job, int]] = deque()
        while self._ready or sent:
            while self._ready:
                job = self._ready.popleft()
                duration_ms = self._publish(job)
                if duration_ms is not None:
                    sent.append((job, duration_ms))
                    published += 1
            if sent:
                self._record(*sent.popleft())
        return published

    def _publish(self, job: Job) -> int | None:
        """Send one message; how long it took in ms, None when it failed (left pending under
        its lease: the delivery worker retries it afterwards)."""
        started = self.monotonic()
        try:
            self.channel.send(job.target, job.message)
        except ChannelError as exc:
            log.warning("platform feed: %s; the delivery worker will retry", exc)
            return None
        self.published += 1
        return int((self.monotonic() - started) * 1000)

    def _record(self, job: Job, duration_ms: int) -> None:
        try:
            record_outcome(
                self.sessions,
                job,
                (True, "published", False),
                duration_ms=duration_ms,
                now=self.clock(),
                max_attempts=self.max_attempts,
            )
        except Exception:
            log.exception(
                "platform feed: published delivery %s but could not record it", job.delivery_id
            )
