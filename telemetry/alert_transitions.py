"""The one owner of alert transitions: every change of an alert is written to the alert store
(:mod:`telemetry.alert_store`) and announced to the sink (:class:`telemetry.ports.AlertSink`)
here, in the caller's transaction, so a transition and the notifications it queues commit or
roll back together.

Who calls what:

- the evaluator (:mod:`telemetry.evaluation`): :meth:`AlertTransitions.hold_many` (raise, step
  up, step down; many sensors at once, an alert storm written in a few statements) and
  :meth:`AlertTransitions.clear`, all of one flush in one transaction, announced to the sink
  together (:meth:`AlertTransitions.together`);
- the periodic alert job (``api/alerting/jobs.py``): :meth:`AlertTransitions.sweep_offline`
  (sensors gone silent and back, through :meth:`~AlertTransitions.offline` and
  :meth:`~AlertTransitions.online`) and :meth:`AlertTransitions.sweep_unacknowledged`
  (:meth:`~AlertTransitions.escalate`, :meth:`~AlertTransitions.renotify`), each sweep's
  transitions announced together;
- the API: :meth:`AlertTransitions.acknowledge` and :meth:`AlertTransitions.resolve`.

Offline: no reading for ``OFFLINE_FACTOR ×`` a sensor's expected interval raises
``sensor_offline`` (sensor health, not a condition), cleared when readings come back; one
resolved by hand stays resolved until then. Escalation: an active critical alert not
acknowledged ``escalate_after`` after it became critical goes one level up (the district
officers), and after twice that another (the city office). Every ``renotify`` interval an
unacknowledged critical alert is sent again to everyone told so far.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy.orm import Session

from telemetry import alert_store
from telemetry.alert_rules import OFFLINE_FACTOR, OFFLINE_RULE, Severity
from telemetry.alert_store import AlertEvent, AlertView, EventKind, NewAlert
from telemetry.alert_wording import offline_message
from telemetry.instants import from_ms, maybe_from_ms, to_ms
from telemetry.ports import AlertSink, WatchedSensor
from telemetry.sql_models import AlertRow

_HELD = "alert_transitions.held"
"""``Session.info`` key of the events held back by :meth:`AlertTransitions.together`."""


class OfflineSweep(NamedTuple):
    raised: int
    cleared: int


class EscalationSweep(NamedTuple):
    escalated: int
    renotified: int


class AlertTransitions:
    """Writes each alert transition and announces it to ``sink``, in the caller's session.
    A method that changed nothing (an alert already holding, not active, resolved by hand)
    announces nothing and returns None."""

    def __init__(self, sink: AlertSink) -> None:
        self.sink = sink

    @contextmanager
    def together(self, session: Session) -> Iterator[None]:
        """Transitions made in ``session`` within the block are announced to the sink in one
        call as it ends, in their order (a storm's notifications written in a few
        statements); none is announced when the block raises (its transaction rolls back).
        Nested blocks announce with the outermost one."""
        if _HELD in session.info:
            yield
            return
        held: list[AlertEvent] = []
        session.info[_HELD] = held
        try:
            yield
        finally:
            del session.info[_HELD]
        if held:
            self.sink.on_events(session, held)

    def _announce(self, session: Session, *events: AlertEvent) -> None:
        held: list[AlertEvent] | None = session.info.get(_HELD)
        if held is not None:
            held.extend(events)
        elif events:
            self.sink.on_events(session, events)

    # -- the evaluator --------------------------------------------------------------------
    def hold(self, session: Session, new: NewAlert) -> AlertEvent | None:
        """Raise the alert of ``new``'s condition, or move the one that holds to ``new``'s
        tier (severity up or down); see :func:`telemetry.alert_store.hold`."""
        [event] = self.hold_many(session, [new])
        return event

    def hold_many(self, session: Session, news: Sequence[NewAlert]) -> list[AlertEvent | None]:
        """:meth:`hold` for alerts of distinct (sensor, condition), written together (see
        :func:`telemetry.alert_store.hold_many`) and announced in the order of ``news``; per
        alert its event, None where nothing changed worth announcing."""
        events = alert_store.hold_many(session, news)
        self._announce(session, *(event for event in events if event is not None))
        return events

    def clear(
        self,
        session: Session,
        sensor_id: str,
        condition: str,
        *,
        at: datetime,
        value: float | None = None,
        message: str | None = None,
        late: bool = False,
    ) -> AlertView | None:
        """The condition no longer holds: clear its open alert (one resolved by hand is let go
        silently)."""
        cleared = alert_store.clear_alert(
            session, sensor_id, condition, at=at, value=value, message=message
        )
        if cleared is not None:
            self._announce(session, AlertEvent(EventKind.CLEARED, cleared, late=late))
        return cleared

    # -- people ---------------------------------------------------------------------------
    def acknowledge(
        self, session: Session, alert_id: int, *, by: str, at: datetime
    ) -> AlertView | None:
        """active → acknowledged by ``by``; None when the alert is not active,
        :class:`telemetry.errors.NotFound` when there is no such alert."""
        view = alert_store.acknowledge(session, alert_id, by=by, at=at)
        if view is not None:
            self._announce(session, AlertEvent(EventKind.ACKNOWLEDGED, view, actor=by))
        return view

    def resolve(
        self, session: Session, alert_id: int, *, by: str, note: str, at: datetime
    ) -> AlertView | None:
        """Close an open alert by hand with a note; None when it is no longer open,
        :class:`telemetry.errors.NotFound` when there is no such alert."""
        view = alert_store.resolve(session, alert_id, by=by, note=note, at=at)
        if view is not None:
            self._announce(session, AlertEvent(EventKind.RESOLVED, view, actor=by))
        return view

    # -- sensor health --------------------------------------------------------------------
    def offline(
        self, session: Session, sensor: WatchedSensor, *, last_seen: datetime | None, at: datetime
    ) -> AlertView | None:
        """Raise ``sensor_offline`` for a silent sensor, silent since ``last_seen`` (since it
        was registered when it never reported); None when one holds already."""
        since = last_seen or from_ms(to_ms(sensor.registered_at))
        raised = alert_store.raise_alert(
            session,
            NewAlert(
                sensor_id=sensor.sensor_id,
                shelter_code=sensor.shelter_code,
                district=sensor.district,
                zone=sensor.zone,
                condition=OFFLINE_RULE,
                rule=OFFLINE_RULE,
                severity=Severity.WARNING,
                message=offline_message(last_seen),
                value=None,
                threshold=None,
                late=False,
                raised_at=at,
                condition_since=since,
            ),
        )
        if raised is not None:
            self._announce(session, AlertEvent(EventKind.RAISED, raised))
        return raised

    def online(self, session: Session, sensor_id: str, *, at: datetime) -> AlertView | None:
        """The sensor reports again: clear its open ``sensor_offline`` alert."""
        return self.clear(session, sensor_id, OFFLINE_RULE, at=at)

    def sweep_offline(
        self, session: Session, sensors: Sequence[WatchedSensor], *, now: datetime
    ) -> OfflineSweep:
        """Mark offline the ``sensors`` silent too long, and back online those reporting
        again."""
        with self.together(session):
            return self._sweep_offline(session, sensors, now=now)

    def _sweep_offline(
        self, session: Session, sensors: Sequence[WatchedSensor], *, now: datetime
    ) -> OfflineSweep:
        live = {row.sensor_id: row.last_seen_ms for row in alert_store.live_rows(session)}
        holding = alert_store.holding_sensors(session, OFFLINE_RULE)
        now_ms = to_ms(now)
        raised = cleared = 0
        for sensor in sensors:
            limit_ms = OFFLINE_FACTOR * sensor.expected_interval_s * 1000
            last_ms = live.get(sensor.sensor_id)
            reference_ms = last_ms if last_ms is not None else to_ms(sensor.registered_at)
            silent = now_ms - reference_ms > limit_ms
            if silent and sensor.sensor_id not in holding:
                if (
                    self.offline(session, sensor, last_seen=maybe_from_ms(last_ms), at=now)
                    is not None
                ):
                    raised += 1
            elif (
                not silent
                and sensor.sensor_id in holding
                and self.online(session, sensor.sensor_id, at=now) is not None
            ):
                cleared += 1
        return OfflineSweep(raised, cleared)

    # -- unacknowledged critical alerts ---------------------------------------------------
    def escalate(self, session: Session, row: AlertRow, *, at: datetime) -> AlertView:
        """One escalation level up for a locked alert of
        :func:`telemetry.alert_store.unacknowledged_critical`."""
        view = alert_store.escalate(session, row, at=at)
        self._announce(session, AlertEvent(EventKind.ESCALATED, view, level=view.escalation_level))
        return view

    def renotify(
        self, session: Session, row: AlertRow, *, at: datetime, sequence: int
    ) -> AlertView:
        """Send a locked unacknowledged critical alert again (``sequence`` tells repeats
        apart)."""
        view = alert_store.notified(session, row, at=at)
        self._announce(session, AlertEvent(EventKind.RENOTIFY, view, sequence=sequence))
        return view

    def sweep_unacknowledged(
        self, session: Session, *, now: datetime, escalate_after: timedelta, renotify: timedelta
    ) -> EscalationSweep:
        """Escalate and re-notify the unacknowledged critical alerts that are due."""
        with self.together(session):
            return self._sweep_unacknowledged(
                session, now=now, escalate_after=escalate_after, renotify=renotify
            )

    def _sweep_unacknowledged(
        self, session: Session, *, now: datetime, escalate_after: timedelta, renotify: timedelta
    ) -> EscalationSweep:
        now_ms = to_ms(now)
        after_ms = escalate_after.total_seconds() * 1000
        every_ms = renotify.total_seconds() * 1000
        escalated = renotified = 0
        for row in alert_store.unacknowledged_critical(session):
            age_ms = now_ms - row.severity_since_ms
            target = 2 if age_ms >= 2 * after_ms else (1 if age_ms >= after_ms else 0)
            while row.escalation_level < target:
                self.escalate(session, row, at=now)
                escalated += 1
            last = max(row.last_notified_at_ms or row.raised_at_ms, row.severity_since_ms)
            if now_ms - last >= every_ms:
                sequence = int((now_ms - row.raised_at_ms) // every_ms)
                self.renotify(session, row, at=now, sequence=sequence)
                renotified += 1
        return EscalationSweep(escalated, renotified)
