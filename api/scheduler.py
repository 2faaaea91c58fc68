"""The periodic job of the server: reminders, escalations and the compliance snapshot."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from api.db import unit_of_work
from api.state import AppState
from inspection import tick

log = logging.getLogger(__name__)


def run_tick(state: AppState) -> tick.TickReport:
    """One pass in its own transaction (``shelterwatch tick`` runs just this)."""
    with unit_of_work(state.sessions) as session:
        report = tick.run(
            session, now=state.clock(), policy=state.policy, tz=state.settings.timezone
        )
    log.info("tick: %s", report)
    return report


class Ticker(threading.Thread):
    """Runs :func:`run_tick` every ``interval`` seconds until stopped; an error in one pass is
    logged and the next pass runs as usual (every step is idempotent)."""

    def __init__(self, state: AppState, interval: float) -> None:
        super().__init__(name="shelterwatch-tick", daemon=True)
        self.state = state
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                run_tick(self.state)
            except SQLAlchemyError:
                log.exception("tick failed; retrying at the next interval")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
