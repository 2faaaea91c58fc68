"""Writing what the alert evaluator (:mod:`telemetry.evaluation`) judged: the transitions and
timers of one flush, in the caller's transaction, through
:class:`telemetry.alert_transitions.AlertTransitions`.

The outcome is that of writing the ops one by one in their order, timers saved before each
alert's transition. Raises, rises and falls of distinct sensors and conditions in a row are
written together (:meth:`AlertTransitions.hold_many`): an alert storm costs a few statements,
not four per alert; the events of a flush are announced to the sink together, so its
notifications are a few statements too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from telemetry import condition_store
from telemetry.alert_rules import AlertRule, Condition
from telemetry.alert_state import Transition
from telemetry.alert_store import NewAlert
from telemetry.alert_transitions import AlertTransitions
from telemetry.alert_wording import cleared_message, raised_message
from telemetry.instants import from_ms, to_ms
from telemetry.readings import Reading

TIMERS = frozenset({Transition.PENDING, Transition.RESET})


@dataclass(frozen=True, slots=True)
class Op:
    """One change the evaluator judged, waiting to be written."""

    transition: Transition
    condition: Condition
    tier: int
    reading: Reading
    value: float
    late: bool
    ms: int
    """See :data:`telemetry.alert_state.Change`."""

    @property
    def rule(self) -> AlertRule:
        return self.condition.tiers[self.tier]


class OpWriter:
    """Writes a flush's ops; ``clock`` stamps raises and clears (as ``raised_at`` and
    ``cleared_at``)."""

    def __init__(self, transitions: AlertTransitions, clock: Callable[[], datetime]) -> None:
        self.transitions = transitions
        self.clock = clock

    def write(self, session: Session, ops: Sequence[Op]) -> int:
        """Write ``ops`` with the outcome of writing them one by one, timers saved before each
        alert's transition as they came (in order with the alerts they lead to); the number of
        events announced.

        Raises, rises and falls of distinct (sensor, condition) in a row form a group written
        together (an alert storm: one statement per kind of write, not four per alert). The
        group's own timers, each of a (sensor, condition) none of its other transitions
        touches, are saved before it; any other op of a (sensor, condition) already in the
        group writes the group first, so each (sensor, condition) keeps its order.

        All the events, clears among them, reach the sink in one call at the end
        (:meth:`AlertTransitions.together`): the storm's notifications too are a few
        statements."""
        with self.transitions.together(session):
            return self._write(session, ops)

    def _write(self, session: Session, ops: Sequence[Op]) -> int:
        emitted = 0
        timers: dict[tuple[str, str], tuple[bool, int]] = {}
        """Timers not saved yet, all since the group's last transition while a group runs."""
        timer_keys: set[tuple[str, str]] = set()
        """Their (sensor, condition)."""
        group: list[Op] = []
        group_timers: dict[tuple[str, str], tuple[bool, int]] = {}
        group_keys: set[tuple[str, str]] = set()
        """The (sensor, condition) of the group's transitions and timers."""
        for op in ops:
            key = (op.reading.sensor_id, op.condition.code)
            if op.transition in TIMERS:
                timers[(op.reading.sensor_id, op.rule.code)] = (
                    op.transition is Transition.PENDING,
                    op.ms,
                )
                timer_keys.add(key)
                continue
            if group and (
                op.transition is Transition.CLEAR
                or key in group_keys
                or not timer_keys.isdisjoint(group_keys)
            ):
                emitted += self._hold(session, group, group_timers)
                group_keys.clear()
            if group:
                group_timers.update(timers)
                group_keys |= timer_keys
                timers.clear()
            else:
                self._save_timers(session, timers)
            timer_keys.clear()
            if op.transition is Transition.CLEAR:
                emitted += self._clear(session, op)
            else:
                group.append(op)
                group_keys.add(key)
        emitted += self._hold(session, group, group_timers)
        self._save_timers(session, timers)
        return emitted

    @staticmethod
    def _save_timers(session: Session, timers: dict[tuple[str, str], tuple[bool, int]]) -> None:
        if timers:
            condition_store.save_timers(
                session,
                [(s, r, ts) for (s, r), (started, ts) in timers.items() if started],
                [(s, r, ts) for (s, r), (started, ts) in timers.items() if not started],
            )
            timers.clear()

    def _clear(self, session: Session, op: Op) -> int:
        r = op.reading
        cleared = self.transitions.clear(
            session,
            r.sensor_id,
            op.condition.code,
            at=self.clock(),
            value=op.value,
            message=cleared_message(op.rule, op.value),
            late=op.late,
        )
        return 0 if cleared is None else 1

    def _hold(
        self,
        session: Session,
        group: list[Op],
        timers: dict[tuple[str, str], tuple[bool, int]],
    ) -> int:
        """Write a group of raises, rises and falls of distinct (sensor, condition), after its
        timers, and empty both; the number of events announced."""
        self._save_timers(session, timers)
        if not group:
            return 0
        held = [
            (op.reading.sensor_id, [t.code for t in op.condition.tiers[: op.tier + 1]])
            for op in group
        ]
        raising = [i for i, op in enumerate(group) if op.transition is Transition.RAISE]
        # Another ingester may have seen a condition begin earlier.
        stored = condition_store.pending_since(session, [held[i] for i in raising])
        since = {i: stored_ms for i, stored_ms in zip(raising, stored, strict=True)}
        news: list[NewAlert] = []
        for i, op in enumerate(group):
            r, tier = op.reading, op.rule
            since_ms = to_ms(r.ts)
            if op.transition is Transition.RAISE:
                stored_ms = since[i]
                since_ms = op.ms if stored_ms is None else min(stored_ms, op.ms)
            news.append(
                NewAlert(
                    sensor_id=r.sensor_id,
                    shelter_code=r.shelter_code,
                    district=r.district,
                    zone=r.zone,
                    condition=op.condition.code,
                    rule=tier.code,
                    severity=tier.severity,
                    message=raised_message(tier, op.value),
                    value=op.value,
                    threshold=tier.enter,
                    late=op.late,
                    raised_at=self.clock(),
                    condition_since=from_ms(since_ms),
                )
            )
        events = self.transitions.hold_many(session, news)
        condition_store.reset_pending(
            session,
            [
                (sensor_id, rules, to_ms(op.reading.ts))
                for op, (sensor_id, rules) in zip(group, held, strict=True)
                if op.transition is not Transition.FALL
            ],
        )
        group.clear()
        return sum(event is not None for event in events)
