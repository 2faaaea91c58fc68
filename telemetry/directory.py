"""A cached sensor directory: the register's placements held in memory, refreshed in the
background, and kept as they were while the register cannot be read (e.g. PostgreSQL down).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from telemetry.ports import Placement

log = logging.getLogger(__name__)

Loader = Callable[[], Iterable[Placement]]


class CachedDirectory:
    """Implements :class:`telemetry.ports.SensorDirectory` over a loader."""

    def __init__(
        self,
        loader: Loader,
        *,
        refresh_s: float,
        miss_refresh_s: float = 5.0,
        on_failure: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._monotonic = monotonic
        self._on_failure = on_failure
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._by_id: dict[str, Placement] = {}
        self._loaded_at: float | None = None
        self._last_miss_refresh: float | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        self.loaded = False

    def refresh(self) -> bool:
        """Reload now; on failure keep the last good cache and return False."""
        try:
            fresh = {p.sensor_id: p for p in self._loader()}
        except Exception:
            self.failures += 1
            if self._on_failure is not None:
                self._on_failure()
            log.warning(
                "sensor directory refresh failed; keeping %d cached sensors",
                len(self._by_id),
                exc_info=True,
            )
            return False
        self._by_id = fresh
        self._loaded_at = self._monotonic()
        self.loaded = True
        return True

    def get(self, sensor_id: str) -> Placement | None:
        placement = self._by_id.get(sensor_id)
        if placement is None and self._thread is not None:
            now = self._monotonic()
            last = self._last_miss_refresh
            if last is None or now - last >= self._miss_refresh_s:
                # A newly registered sensor shows up within seconds, not at the next refresh.
                self._last_miss_refresh = now
                self._wake.set()
        return placement

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="sensor-directory", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._refresh_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.refresh()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
