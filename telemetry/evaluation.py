"""Alert evaluation and live state beside the ingestion path.

The pipeline hands every stored batch to :meth:`AlertEvaluator.observe`, which only queues it;
a thread of its own judges each reading against the conditions of its sensor (on measurement
time, see :mod:`telemetry.alert_state`) and keeps the newest values per sensor. What changed is
written: an alert raised, moved to another tier or cleared (through
:class:`telemetry.alert_transitions.AlertTransitions`, with the notifications its sink queues;
many sensors' raises together, see :mod:`telemetry.evaluation_writes`) at once, in one
transaction with the timers waiting; timers that only started or stopped within
``TIMER_DELAY_S``; live values about once a second, after the alerts, a few hundred sensors a
transaction, judging in between what arrived meanwhile (a fleet's live rows hold an alert back
by one such write at most). A transition is kept in memory and retried until its transaction
commits, so a database outage delays alerts without losing them. A reading older than
``late_after`` raises or clears as usual but is marked late and pages nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from telemetry import alert_store, condition_store
from telemetry.alert_rules import CONDITIONS, TIERS, Condition, RuleBook, Target, getter
from telemetry.alert_state import NONE, ConditionState, step
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation_writes import TIMERS, Op, OpWriter
from telemetry.instants import to_ms
from telemetry.ports import SensorDirectory
from telemetry.readings import Reading

log = logging.getLogger(__name__)


_Resolved = tuple[
    tuple[
        Callable[[Reading], float | None],
        tuple[tuple[Condition, float, float, tuple[str, str]], ...],
    ],
    ...,
]
"""A sensor's conditions grouped by the function that reads their value, each with the closed
range of values that enter one of its tiers (:meth:`Condition.entry_range`) and its key in
``states``."""


MAX_QUEUED_READINGS = 200_000
"""Readings waiting for evaluation before batches are shed: about 40 s of a 5,000 readings/s
fleet, some 60 MB."""

TIMER_DELAY_S = 0.1
"""Longest wait before a timer that only started or stopped is written (see run_once)."""

LIVE_ROWS_PER_WRITE = 250
"""Sensors' live rows per transaction. Between two such writes the evaluator judges what was
queued meanwhile and writes an alert it raises at once, so a fleet's live values hold an
alert back by one write at most (a thousand rows take tens of milliseconds)."""


class AlertEvaluator:
    """Implements :class:`telemetry.ingest.ReadingObserver`; start/stop as a component."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        directory: SensorDirectory,
        transitions: AlertTransitions,
        *,
        clock: Callable[[], datetime],
        late_after: timedelta = timedelta(minutes=10),
        flush_interval_s: float = 1.0,
        rules_refresh_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_events: Callable[[], None] | None = None,
        on_rollback: Callable[[], None] | None = None,
        max_queued_readings: int = MAX_QUEUED_READINGS,
        on_shed: Callable[[int], None] | None = None,
        live_rows_per_write: int = LIVE_ROWS_PER_WRITE,
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.transitions = transitions
        self.writer = OpWriter(transitions, clock)
        self.clock = clock
        self.late_after = late_after
        self.flush_interval_s = flush_interval_s
        self.rules_refresh_s = rules_refresh_s
        self.monotonic = monotonic
        """Seconds for intervals; injected like ``clock``. A monotonic value is small on a
        freshly booted machine, so "never" is ``None``, not 0.0."""
        self.rulebook = RuleBook()
        self._rules_loaded_at: float | None = None
        self.states: dict[tuple[str, str], ConditionState] = {}
        self._states_loaded = False
        self._queue: deque[tuple[Sequence[Reading], datetime]] = deque()
        self._queued = 0
        """Readings in ``_queue``."""
        self.max_queued_readings = max_queued_readings
        self.live_rows_per_write = max(1, live_rows_per_write)
        self.on_shed = on_shed
        """Called with the number of readings of each batch shed (for a metric)."""
        self.shed = 0
        """Readings never evaluated because the queue was full."""
        self._shedding = False
        self._ops: list[Op] = []
        self._stateful: set[str] = set()
        """Sensors with an entry in ``states``: the others skip the per-condition lookup."""
        self._live: dict[str, Reading] = {}
        self._rule_cache: dict[str, tuple[int | None, RuleBook, _Resolved]] = {}
        self._dirty_live: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flushes = 0
        self.failures = 0
        self.on_events = on_events
        """Called after a flush that emitted events (e.g. to publish what they queued)."""
        self.on_rollback = on_rollback
        """Called when a flush failed, so whatever its events staged is dropped."""
        self._emitted = 0
        self._flushed_at: float | None = None
        self._timers_at: float | None = None
        self._urgent = False
        """An alert is to be raised, moved or cleared: written at once, not with the timers."""

    # -- intake ---------------------------------------------------------------------------
    def observe(self, readings: Sequence[Reading], *, now: datetime) -> None:
        """Queue a stored batch. While ``max_queued_readings`` wait (the database away before
        the state could load, or slower than the readings), a batch is shed instead: counted,
        logged once per gap, and never evaluated. The readings are stored all the same; the
        next reading of each sensor is judged against its conditions as usual, which raises
        or clears what the gap hid (a condition's duration counts on measurement time)."""
        if self._queued + len(readings) > self.max_queued_readings:
            self.shed += len(readings)
            if self.on_shed is not None:
                self.on_shed(len(readings))
            if not self._shedding:
                self._shedding = True
                log.warning(
                    "alert evaluation behind by %d readings: shedding batches until it catches up",
                    self._queued,
                )
            self._wake.set()
            return
        self._queue.append((readings, now))
        self._queued += len(readings)
        self._wake.set()

    # -- thread ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alert-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._flushed_at = None  # the last live values too, however recent the last flush
        self.run_once()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TIMER_DELAY_S if self._ops else self.flush_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.run_once(hold_timers=True)

    def run_once(self, *, hold_timers: bool = False) -> None:
        """Evaluate everything queued and write the outcome; safe to call from tests.

        Alerts raised, moved or cleared are written at once, in a transaction of their own
        before any live values (see :meth:`flush`). With ``hold_timers`` (the thread's loop),
        timers that only started or stopped wait up to ``TIMER_DELAY_S`` to be written
        together: a backlog drained at thousands of readings a second would otherwise cost a
        transaction per batch."""
        try:
            self._ensure_loaded()
        except Exception:
            self.failures += 1
            log.warning("alert state not loadable yet; readings wait in the queue", exc_info=True)
            return
        self._evaluate_queued()
        # Transitions go out at once; live values at most once per flush interval (a backlog
        # drained at thousands of readings a second would otherwise rewrite every sensor's
        # live row with each batch).
        at = self.monotonic()
        due = self._flushed_at is None or at - self._flushed_at >= self.flush_interval_s
        if not due:
            if not self._ops:
                return
            if (
                hold_timers
                and not self._urgent
                and self._timers_at is not None
                and at - self._timers_at < TIMER_DELAY_S
            ):
                return
        try:
            self.flush(live=due)
            self._timers_at = self.monotonic()
            if due:
                self._flushed_at = self._timers_at
        except Exception:
            self._emitted = 0
            if self.on_rollback is not None:
                self.on_rollback()
            self.failures += 1
            log.warning(
                "alert flush failed; %d transitions kept for the next try",
                len(self._ops),
                exc_info=True,
            )

    def _evaluate_queued(self) -> None:
        while self._queue:
            readings, now = self._queue.popleft()
            self._queued -= len(readings)
            self.evaluate(readings, now)
        if self._shedding:
            self._shedding = False
            log.warning("alert evaluation caught up; %d readings were shed in all", self.shed)

    def judge_once(self, readings: Sequence[Reading], *, now: datetime) -> None:
        """Judge readings stored after the fact (re-ingested rejects) and write what they raise
        or clear at once, as for late readings: older than ``late_after`` at ``now``, an alert
        is raised or cleared marked late and pages nobody. Live values are left to the
        ingester, whose newer readings they would otherwise overwrite. Raises what loading
        the state or writing the outcome raises; another evaluator running meanwhile follows
        the alerts written here as it follows those of other ingesters."""
        self._ensure_loaded()
        self.evaluate(sorted(readings, key=lambda r: (r.sensor_id, r.ts)), now)
        self.flush(live=False)

    def _ensure_loaded(self) -> None:
        if not self._states_loaded:
            with self.sessions() as session:
                self.states = condition_store.load_states(session)
            self._stateful = {sensor for sensor, _condition in self.states}
            self._states_loaded = True
        loaded_at = self._rules_loaded_at
        if loaded_at is None or self.monotonic() - loaded_at >= self.rules_refresh_s:
            with self.sessions() as session:
                self.rulebook = RuleBook(condition_store.load_overrides(session))
                if not self._ops:
                    self._reconcile(condition_store.holding(session))
            self._rules_loaded_at = self.monotonic()

    def _reconcile(self, holding: dict[tuple[str, str], str]) -> None:
        """Follow what other ingesters did to alerts: the level of a condition is that of the
        alert that holds for it (an alert resolved by hand still holds), none without one."""
        for key in holding:
            if key not in self.states and key[1] in CONDITIONS:
                self.states[key] = ConditionState.of(CONDITIONS[key[1]])
                self._stateful.add(key[0])
        for key, state in self.states.items():
            tier = TIERS.get(holding.get(key, ""))
            level = NONE if tier is None else tier[1]
            if state.level != level:
                state.level = level
                for i in range(level + 1):
                    state.pending[i] = None  # held (or implied) now

    def reload_rules(self) -> None:
        self._rules_loaded_at = None

    # -- judging --------------------------------------------------------------------------
    def _rules(self, r: Reading) -> _Resolved:
        """The conditions of a reading's sensor with their value getters, cached per sensor
        and current class (the cache is dropped when the rules are reloaded)."""
        placement = self.directory.get(r.sensor_id)
        klass = placement.current_class if placement else None
        cached = self._rule_cache.get(r.sensor_id)
        if cached is not None and cached[0] == klass and cached[1] is self.rulebook:
            return cached[2]
        target = Target(r.sensor_id, r.shelter_code, r.zone, klass)
        by_metric: dict[str, list[tuple[Condition, float, float, tuple[str, str]]]] = {}
        for condition in self.rulebook.conditions_for(target):
            low, high = condition.entry_range()
            key = (r.sensor_id, condition.code)
            by_metric.setdefault(condition.metric, []).append((condition, low, high, key))
        resolved = tuple((getter(metric), tuple(group)) for metric, group in by_metric.items())
        self._rule_cache[r.sensor_id] = (klass, self.rulebook, resolved)
        return resolved

    def evaluate(self, readings: Sequence[Reading], now: datetime) -> None:
        late_before_ms = to_ms(now - self.late_after)
        states = self.states
        stateful = self._stateful
        live = self._live
        dirty = self._dirty_live
        sensor = None
        rules: _Resolved = ()
        for r in readings:
            if r.sensor_id != sensor:  # a gateway's batch is one sensor's readings in a row
                sensor = r.sensor_id
                rules = self._rules(r)
            seen = live.get(sensor)
            if seen is None or seen.ts <= r.ts:
                live[sensor] = r
                dirty.add(sensor)
            has_state = sensor in stateful
            for get, group in rules:
                value = get(r)
                if value is None:
                    continue
                for condition, low, high, key in group:
                    state = states.get(key) if has_state else None
                    if state is None:
                        if not low <= value <= high:
                            continue  # the common case: nothing pending, nothing to remember
                        state = states[key] = ConditionState.of(condition)
                        stateful.add(sensor)
                        has_state = True
                    ts_ms = to_ms(r.ts)
                    changes = step(condition, state, value, ts_ms)
                    if changes is not None:
                        late = ts_ms < late_before_ms
                        for transition, tier, ms in changes:
                            self._ops.append(Op(transition, condition, tier, r, value, late, ms))
                            if transition not in TIMERS:
                                self._urgent = True

    @staticmethod
    def _live_row(r: Reading, now_ms: int) -> dict[str, Any]:
        ts_ms = to_ms(r.ts)
        return {
            "sensor_id": r.sensor_id,
            "shelter_code": r.shelter_code,
            "last_seen_ms": ts_ms,
            "temperature": r.temperature,
            "humidity": r.humidity,
            "fire_risk": r.fire_risk,
            "dew_point": r.dew_point,
            "battery": r.battery,
            "water_leak": r.water_leak,
            "updated_at_ms": now_ms,
        }

    # -- writing --------------------------------------------------------------------------
    def flush(self, *, live: bool = True) -> None:
        """Write the transitions in order, in one transaction, and then, with ``live``, the
        sensors' live values in transactions of ``live_rows_per_write`` rows. Between two of
        those, readings queued meanwhile are judged, and transitions they make are written
        (and announced) before the next: an alert never waits for the fleet's live rows."""
        if self._ops:
            self._write_ops()
        if live:
            self._write_live()

    def _write_ops(self) -> None:
        ops = list(self._ops)
        with self.sessions.begin() as session:
            self._emitted += self.writer.write(session, ops)
        del self._ops[: len(ops)]
        self._urgent = any(op.transition not in TIMERS for op in self._ops)
        self.flushes += 1
        if self._emitted and self.on_events is not None:
            self.on_events()
        self._emitted = 0

    def _write_live(self) -> None:
        """Write the live rows of the sensors dirty now, in sorted order (so that two
        ingesters lock rows in the same order), a part per transaction."""
        dirty = sorted(self._dirty_live)
        step = self.live_rows_per_write
        for start in range(0, len(dirty), step):
            part = dirty[start : start + step]
            now_ms = to_ms(self.clock())
            with self.sessions.begin() as session:
                alert_store.upsert_live(
                    session, [self._live_row(self._live[s], now_ms) for s in part]
                )
            self._dirty_live.difference_update(part)  # written with their newest values
            if self._queue and self._states_loaded:
                self._evaluate_queued()
                if self._urgent:
                    self._write_ops()
