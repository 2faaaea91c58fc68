"""Order kept across the ingester's concurrent store writers.

The worker numbers the chunks it hands to the writers; several writers store chunks at once
(the store's round trips overlap), and this keeps two things in the chunks' order:

* appends to the spool (``wait_for_earlier``): a chunk is spooled only once every earlier
  chunk is settled (stored, spooled or given up), so the spool replays in arrival order;
* releases (``finish``): a chunk's acknowledgement and observers run only after those of
  every earlier chunk. MQTT wants a client's PUBACKs in the order of the PUBLISHes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class InOrder:
    """Sequence numbers, and what must happen in their order. Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._release_lock = threading.Lock()
        self._next = 0
        self._finished: dict[int, Callable[[], None] | None] = {}
        self._released_below = 0
        """Every number below this has finished (settled) and been taken for release."""

    def next(self) -> int:
        """The next sequence number (0, 1, 2, ...)."""
        with self._cond:
            number = self._next
            self._next += 1
            return number

    def wait_for_earlier(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until every number below ``seq`` is settled; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._released_below >= seq, timeout)

    def finish(self, seq: int, release: Callable[[], None] | None) -> None:
        """Settle ``seq`` and run, in order, the release of every finished number whose
        predecessors have all been released (``None``: nothing to run for this one). A
        release that raises is the caller's to log; the ones after it still run."""
        with self._release_lock:
            ready: list[Callable[[], None]] = []
            with self._cond:
                self._finished[seq] = release
                while self._released_below in self._finished:
                    run = self._finished.pop(self._released_below)
                    self._released_below += 1
                    if run is not None:
                        ready.append(run)
                self._cond.notify_all()
            errors: list[BaseException] = []
            for run in ready:
                try:
                    run()
                except Exception as exc:  # noqa: BLE001 - the others must still run
                    errors.append(exc)
            if errors:
                raise errors[0]
