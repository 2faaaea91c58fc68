"""Periodic jobs of the server: the inspection tick (reminders, escalations, the compliance
snapshot) and the alert tick (offline sensors, escalation, re-notification)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from api.db import unit_of_work
from api.state import AppState
from inspection import tick

log = logging.getLogger(__name__)


def run_tick(state: AppState) -> tick.TickReport:
    """One inspection pass in its own transaction (``shelterwatch tick`` runs just this)."""
    with unit_of_work(state.sessions) as session:
        report = tick.run(
            session, now=state.clock(), policy=state.policy, tz=state.settings.timezone
        )
    log.info("tick: %s", report)
    return report


class Periodic(threading.Thread):
    """Runs ``job`` every ``interval`` seconds until stopped; an error in one pass is logged
    and the next pass runs as usual (every job here is idempotent)."""

    def __init__(self, name: str, job: Callable[[], object], interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.job = job
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.job()
            except Exception:
                log.exception("%s failed; retrying at the next interval", self.name)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
