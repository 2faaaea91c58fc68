"""A reading and reject store that holds nothing, for tests of what sits in front of a store,
and an alert sink that records what it hears (the fakes sit behind the project's own
Protocols: ReadingStore, RejectStore, AlertSink)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from telemetry.alert_store import AlertEvent
from telemetry.ports import AlertSink, LatestValue, SeriesPoint, SeriesQuery, StoredReject
from telemetry.readings import Reading, Rejection


class NullStore:
    """Reads find nothing; a write or an added reject raises unless a subclass says what it
    expects (a pipeline spools a reject the store refuses: such tests check the spool)."""

    def write(self, readings: Sequence[Reading]) -> None:
        raise AssertionError(f"unexpected write of {len(readings)} readings")

    def latest(self, shelter_code: str) -> list[LatestValue]:
        return []

    def series(self, query: SeriesQuery) -> list[SeriesPoint]:
        return []

    def hourly_counts(
        self, shelter_code: str, start: datetime, end: datetime
    ) -> dict[tuple[str, datetime], int]:
        return {}

    def check(self) -> None:
        return None

    def close(self) -> None:
        return None

    def add(self, rejects: Sequence[Rejection]) -> None:
        raise AssertionError(f"unexpected rejects: {rejects}")

    def list(
        self, *, limit: int, offset: int, reason: str | None = None
    ) -> tuple[list[StoredReject], int]:
        return [], 0


class RecordingSink:
    """An :class:`telemetry.ports.AlertSink` that records every event it hears, then hands it
    on to ``then`` when given (the real sink, to keep its notifications)."""

    def __init__(self, then: AlertSink | None = None) -> None:
        self.events: list[AlertEvent] = []
        self.then = then

    def on_events(self, session: Session, events: Sequence[AlertEvent]) -> None:
        self.events.extend(events)
        if self.then is not None:
            self.then.on_events(session, events)
