"""The fast path of the platform's alert feed: a transition's MQTT message is published as
soon as the transaction that made it commits, from the process that made it.

The alert sink, inside that transaction, creates the message's delivery row with a lease and
stages it here; after the commit the evaluator calls :meth:`PlatformFeed.commit` and this
thread publishes and records the outcome. If the transaction rolls back the staged messages
are discarded; if this process dies before publishing, the lease runs out and the regular
delivery worker sends the message (at least once: receivers drop repeats by id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from api.notify.channels import ChannelError, MqttChannel, OutgoingMessage
from api.notify.delivery import Job, record_outcome

log = logging.getLogger(__name__)


class PlatformFeed:
    """Publishes staged platform messages after commit; a Component (start/stop)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        channel: MqttChannel,
        *,
        clock: Callable[[], datetime],
        max_attempts: int,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.clock = clock
        self.max_attempts = max_attempts
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
            self._wake.wait(1.0)
            self._wake.clear()
            while self._ready:
                self._publish(self._ready.popleft())

    def _publish(self, job: Job) -> None:
        started = time.monotonic()
        try:
            self.channel.send(job.target, job.message)
            outcome = (True, "published", False)
            self.published += 1
        except ChannelError as exc:
            # Left pending under its lease: the delivery worker retries it afterwards.
            log.warning("platform feed: %s; the delivery worker will retry", exc)
            return
        try:
            record_outcome(
                self.sessions,
                job,
                outcome,
                duration_ms=int((time.monotonic() - started) * 1000),
                now=self.clock(),
                max_attempts=self.max_attempts,
            )
        except Exception:
            log.exception(
                "platform feed: published delivery %s but could not record it", job.delivery_id
            )
