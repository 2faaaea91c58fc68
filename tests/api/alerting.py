"""Helpers of the alert-evaluation tests: the register's placement of the test sensor, an
evaluator on the real database, readings fed live on the test clock, and readers of the
alerts and the outbox. The fixtures ``people`` and ``sink`` are in ``tests/api/conftest.py``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from api.alerting.sink import OutboxAlertSink
from api.state import AppState
from inspection.models import Notification
from telemetry import alert_store
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation import AlertEvaluator
from telemetry.fire_risk import enrich
from telemetry.ports import Placement
from telemetry.readings import Reading
from telemetry.sql_models import AlertRow
from tests.conftest import FakeClock


class Directory:
    """The register's placements for the test shelter."""

    def __init__(self, *placements: Placement) -> None:
        self.by_id = {p.sensor_id: p for p in placements}

    def get(self, sensor_id: str) -> Placement | None:
        return self.by_id.get(sensor_id)


class HookedClock:
    """A clock running ``hook`` once at its next reading, then reading ``clock``: a test acts
    at the moment the code under test reads the time (the platform feed before recording an
    outcome, the evaluator before each part of the live values)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.hook: Callable[[], None] | None = None

    def __call__(self) -> datetime:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return self.clock()


PLACEMENT = Placement("SH-1-S1", "SH-1", "黄浦区", "滤毒室", 60, None)


def evaluator(state: AppState, sink: OutboxAlertSink) -> AlertEvaluator:
    return AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        late_after=timedelta(minutes=10),
    )


def reading(ts: datetime, **values: float | bool) -> Reading:
    """A reading of the test sensor with exactly these values."""
    return Reading("SH-1", "SH-1-S1", ts, district="黄浦区", zone="滤毒室", **values)  # type: ignore[arg-type]


def computed(ts: datetime, **values: float | bool) -> Reading:
    """A reading as the ingester stores it: fire-risk index and dew point computed."""
    return enrich(reading(ts, **values))


def feed(ev: AlertEvaluator, clock: FakeClock, readings: list[Reading]) -> None:
    """Each reading arrives live: the clock stands at its measurement time."""
    for r in readings:
        clock.now = r.ts
        ev.observe([r], now=r.ts)
        ev.run_once()
        ev.flush()  # live values too, not only transitions


def notifications(state: AppState, kind: str | None = None) -> list[Notification]:
    with state.sessions() as s:
        q = select(Notification).order_by(Notification.id)
        if kind is not None:
            q = q.where(Notification.kind == kind)
        return list(s.scalars(q))


def to_people(state: AppState) -> list[tuple[str, int | None]]:
    """(kind, recipient) of every notification to a person, oldest first."""
    return [(n.kind, n.recipient_id) for n in notifications(state) if n.recipient_id is not None]


def to_platform(state: AppState) -> list[str]:
    """Kinds of the platform's messages, oldest first."""
    return [n.kind for n in notifications(state) if n.recipient_id is None]


def open_alerts(state: AppState, rule: str | None = None) -> list[AlertRow]:
    with state.sessions() as s:
        q = select(AlertRow).where(AlertRow.status.in_(alert_store.OPEN))
        if rule is not None:
            q = q.where(AlertRow.rule == rule)
        return list(s.scalars(q))


def all_alerts(state: AppState) -> list[AlertRow]:
    with state.sessions() as s:
        return list(s.scalars(select(AlertRow).order_by(AlertRow.id)))
