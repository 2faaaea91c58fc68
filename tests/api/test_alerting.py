"""Alert evaluation with the real database and outbox: raising and clearing on measurement
time, notifications to the manager and the platform, late readings, restarts, two evaluators,
escalation and re-notification on an injected clock, offline sensors, draft findings."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.alerting.jobs import run_alert_tick
from api.alerting.sink import OutboxAlertSink
from api.db import build_engine, session_factory
from api.state import AppState
from inspection.models import AuditEntry, Finding
from telemetry import alert_store, condition_store
from telemetry.alert_rules import Override, Scope, Target
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation import TIMER_DELAY_S, AlertEvaluator
from telemetry.readings import Reading
from telemetry.sql_models import AlertStateRow
from tests.api.alerting import (
    PLACEMENT,
    Directory,
    HookedClock,
    computed,
    evaluator,
    feed,
    notifications,
    open_alerts,
    reading,
)
from tests.conftest import FakeClock, FakeMonotonic, Login


def test_sustained_humidity_raises_once_notifies_and_drafts_a_finding(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    start = clock.now
    feed(
        ev,
        clock,
        [
            reading(start + timedelta(hours=h), humidity=80.0, temperature=18.0)
            for h in range(0, 30)
        ],
    )
    [alert] = open_alerts(state)
    assert (alert.rule, alert.severity, alert.status, alert.late) == (
        "humidity_warning",
        "warning",
        "active",
        False,
    )
    assert alert.condition_since_ms == int(start.timestamp() * 1000)
    raised = notifications(state, "alert_raised")
    to_people = [n for n in raised if n.recipient_id is not None]
    assert [n.recipient_id for n in to_people] == [people["manager"].id]
    assert "http://sw.test/api/v1/alerts/ack?token=" in to_people[0].body
    [platform] = [n for n in raised if n.recipient_id is None]
    assert platform.payload["mqtt_topic"] == "shelters/SH-1/alerts"
    assert platform.payload["rule"] == "humidity_warning"
    with state.sessions() as s:
        [draft] = s.scalars(select(Finding).where(Finding.draft.is_(True))).all()
        assert draft.item_code == "HUMIDITY-UNCONTROLLED"
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"alert.raised", "finding.draft"} <= actions
    # clearing below 70 % notifies the manager once more, and no second draft appears
    feed(ev, clock, [reading(clock.now + timedelta(hours=1), humidity=65.0)])
    assert open_alerts(state) == []
    cleared = [n for n in notifications(state, "alert_cleared") if n.recipient_id]
    assert [n.recipient_id for n in cleared] == [people["manager"].id]


def test_a_late_reading_updates_state_but_pages_nobody(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    now = clock.now
    old = now - timedelta(hours=2)
    ev.observe([reading(old, temperature=20.0, fire_risk=90.0)], now=now)
    ev.run_once()
    assert [(a.rule, a.late) for a in open_alerts(state)] == [("fire_risk_critical", True)]
    raised = notifications(state, "alert_raised")
    assert [n.recipient_id for n in raised] == [None]  # the platform feed only


def test_a_restart_in_the_middle_of_a_sustain_period_keeps_the_timer(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    start = clock.now
    first = evaluator(state, sink)
    feed(first, clock, [reading(start + timedelta(hours=h), humidity=78.0) for h in range(13)])
    first.stop()
    assert open_alerts(state) == []
    second = evaluator(state, sink)
    feed(second, clock, [reading(start + timedelta(hours=h), humidity=78.0) for h in range(13, 25)])
    [alert] = open_alerts(state)
    assert alert.raised_at_ms == int((start + timedelta(hours=24)).timestamp() * 1000)
    assert alert.condition_since_ms == int(start.timestamp() * 1000)


def test_two_evaluators_never_open_two_alerts_for_one_condition(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    a, b = evaluator(state, sink), evaluator(state, sink)
    a.run_once()
    b.run_once()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def go(ev: AlertEvaluator, offset: int) -> None:
        try:
            ev.observe(
                [reading(clock.now + timedelta(seconds=offset), fire_risk=95.0)], now=clock.now
            )
            ev.evaluate(*ev._queue.popleft())
            barrier.wait()
            ev.flush()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(ev, i)) for i, ev in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert [(a.condition, a.rule) for a in open_alerts(state)] == [
        ("fire_risk", "fire_risk_critical")
    ]
    raised_people = [n for n in notifications(state, "alert_raised") if n.recipient_id]
    assert [n.payload["rule"] for n in raised_people] == ["fire_risk_critical"]


def test_escalation_and_renotification_follow_the_clock(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    feed(ev, clock, [reading(clock.now, temperature=20.0, fire_risk=85.0)])
    raised_at = clock.now
    [alert] = open_alerts(state, "fire_risk_critical")

    def recipients(kind: str) -> list[int | None]:
        return sorted(n.recipient_id for n in notifications(state, kind) if n.recipient_id)

    clock.now = raised_at + timedelta(minutes=9)
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 0
    clock.now = raised_at + timedelta(minutes=10)
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 1
    assert recipients("alert_escalated") == [people["officer"].id]
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 0  # idempotent
    clock.now = raised_at + timedelta(minutes=20)
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 1
    assert recipients("alert_escalated") == sorted([people["officer"].id, people["admin"].id])
    clock.now = raised_at + timedelta(minutes=50)
    report = run_alert_tick(state, AlertTransitions(sink))
    assert (report.escalated, report.renotified) == (0, 1)
    assert recipients("alert_renotify") == sorted(
        [people["manager"].id, people["officer"].id, people["admin"].id]
    )
    # acknowledged: no more escalation or reminders
    with state.sessions.begin() as s:
        assert alert_store.acknowledge(s, alert.id, by="mgr", at=clock.now) is not None
    clock.now = raised_at + timedelta(hours=3)
    report = run_alert_tick(state, AlertTransitions(sink))
    assert (report.escalated, report.renotified) == (0, 0)


def test_a_silent_sensor_goes_offline_and_comes_back(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    seen = clock.now
    feed(ev, clock, [reading(seen, temperature=20.0, humidity=50.0)])
    clock.now = seen + timedelta(seconds=180)
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 0
    clock.now = seen + timedelta(seconds=181)
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 1
    assert [(a.rule, a.severity) for a in open_alerts(state)] == [("sensor_offline", "warning")]
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 0
    feed(ev, clock, [reading(clock.now, temperature=20.0, humidity=50.0)])
    assert run_alert_tick(state, AlertTransitions(sink)).offline_cleared == 1
    assert open_alerts(state) == []


def test_a_warning_notice_goes_out_at_most_once_per_window(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    t = clock.now.replace(hour=1)
    feed(
        ev,
        clock,
        [
            reading(t, fire_risk=45.0),  # level 3: warning at once
            reading(t + timedelta(hours=1), fire_risk=10.0),  # clears
            reading(t + timedelta(hours=2), fire_risk=50.0),  # raised again, same window
        ],
    )
    with state.sessions() as s:
        rows, _ = alert_store.list_alerts(s, alert_store.AlertFilter(), limit=10, offset=0)
    assert [a.rule for a in rows] == ["fire_risk_warning", "fire_risk_warning"]
    to_manager = [n for n in notifications(state, "alert_raised") if n.recipient_id]
    assert len(to_manager) == 1


def test_timers_wait_a_moment_to_be_written_but_alerts_go_at_once(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    """The evaluator's own loop holds timers that only started or stopped for up to
    TIMER_DELAY_S (a backlog would otherwise cost a transaction per batch); an alert raised
    or cleared is written, with its notifications, at once."""
    monotonic = FakeMonotonic(0.0)  # a machine booted a moment ago
    ev = AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        flush_interval_s=3600,  # live values out of the way: only the timer rule is tested
        monotonic=monotonic,
    )
    start = clock.now

    def timers() -> list[tuple[str, int | None]]:
        with state.sessions() as s:
            return [(row.rule, row.pending_since_ms) for row in s.scalars(select(AlertStateRow))]

    ev.run_once()  # loads rules and state, writes nothing
    ev.observe([reading(start, humidity=80.0, temperature=18.0)], now=start)
    ev.run_once(hold_timers=True)
    assert timers() == []  # held: the timer started in memory only
    monotonic.advance(TIMER_DELAY_S)
    ev.run_once(hold_timers=True)
    assert timers() == [("humidity_warning", int(start.timestamp() * 1000))]
    later = start + timedelta(hours=25)
    clock.now = later
    ev.observe([reading(later, humidity=80.0, temperature=18.0)], now=later)
    ev.run_once(hold_timers=True)  # a raise: no waiting
    [alert] = open_alerts(state)
    assert alert.rule == "humidity_warning"


def test_an_alert_is_committed_and_announced_before_the_live_values_due_with_it(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    """When live values are due in the pass that raises an alert, the alert commits (and
    ``on_events`` publishes it) in a transaction of its own first: a fleet's live rows are
    written after it, not before its message can leave."""
    seen_at_announce: list[tuple[list[str], int]] = []

    def announced() -> None:
        with state.sessions() as s:
            live = len(alert_store.live_rows(s))
        seen_at_announce.append(([a.rule for a in open_alerts(state)], live))

    monotonic = FakeMonotonic(0.0)
    ev = AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        monotonic=monotonic,
        on_events=announced,
    )
    ev.run_once()  # loads rules and state; live values now written, next due in a second
    monotonic.advance(ev.flush_interval_s)  # due again
    ev.observe([reading(clock.now, temperature=20.0, fire_risk=95.0)], now=clock.now)
    ev.run_once(hold_timers=True)
    assert seen_at_announce == [(["fire_risk_critical"], 0)]  # announced before live values
    with state.sessions() as s:
        [row] = alert_store.live_rows(s)
    assert row.fire_risk == 95.0  # and written in the same pass, right after


def test_an_alert_arriving_while_live_values_are_written_goes_before_the_rest_of_them(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    """Live values are written a part per transaction; a breach queued while the first part
    is written is judged, and its alert written and announced, before the next part."""
    seen_at_announce: list[int] = []

    def live_count() -> int:
        with state.sessions() as s:
            return len(alert_store.live_rows(s))

    ev_clock = HookedClock(state.clock)
    monotonic = FakeMonotonic(0.0)
    ev = AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=ev_clock,
        monotonic=monotonic,
        on_events=lambda: seen_at_announce.append(live_count()),
        live_rows_per_write=1,
    )
    ev.run_once()  # loads rules and state
    monotonic.advance(ev.flush_interval_s)
    start = clock.now
    ev.observe(
        [
            Reading("SH-1", sensor, start, temperature=20.0, humidity=50.0)
            for sensor in ("SH-1-A", "SH-1-B", "SH-1-C")
        ],
        now=start,
    )
    ev_clock.hook = lambda: ev.observe([reading(start, fire_risk=95.0)], now=start)
    ev.run_once(hold_timers=True)  # the hook runs as the first part (SH-1-A) is written
    assert [a.rule for a in open_alerts(state)] == ["fire_risk_critical"]
    assert seen_at_announce == [1]  # announced after one part, before SH-1-B and SH-1-C
    assert live_count() == 3  # the rest written in the same pass
    monotonic.advance(ev.flush_interval_s)
    ev.run_once(hold_timers=True)
    assert live_count() == 4  # the breaching sensor's own live row with the next flush


def test_stored_overrides_load_at_once_and_again_after_the_refresh_interval(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    """On a machine booted a moment ago (monotonic clock near 0.0) the stored overrides are
    loaded on the first pass, and a change is picked up once the refresh interval passes."""
    monotonic = FakeMonotonic(3.0)
    ev = AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        rules_refresh_s=60.0,
        monotonic=monotonic,
    )

    def store(enter: float) -> None:
        with state.sessions.begin() as s:
            condition_store.replace_overrides(
                s,
                [Override("temperature_high", Scope.SHELTER, "SH-1", enter=enter, sustain_s=0)],
                by="admin",
                at=clock.now,
            )

    def enter_now() -> float:
        target = Target("SH-1-S1", "SH-1", "滤毒室", None)
        conditions = ev.rulebook.conditions_for(target)
        return next(c.tiers[0].enter for c in conditions if c.code == "temperature_high")

    store(30.0)
    start = clock.now
    feed(ev, clock, [reading(start, temperature=31.0)])
    assert len(open_alerts(state, "temperature_high")) == 1  # 31 °C passes the stored 30 °C
    store(50.0)
    feed(ev, clock, [reading(start + timedelta(seconds=10), temperature=32.0)])
    assert enter_now() == 30.0  # the refresh interval has not passed
    monotonic.advance(60.0)
    feed(ev, clock, [reading(start + timedelta(seconds=20), temperature=32.0)])
    assert enter_now() == 50.0


def test_a_full_evaluation_queue_sheds_and_the_next_reading_repairs_the_gap(
    state: AppState,
    sink: OutboxAlertSink,
    people: dict[str, Login],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the database unreachable before the evaluator could load its state, readings wait
    up to the bound; past it, batches are shed (counted, logged once) instead of piling up.
    Once the database answers, what waited is judged, and the next reading of the sensor
    raises what the shed ones would have."""
    unreachable = build_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    shed: list[int] = []
    ev = AlertEvaluator(
        session_factory(unreachable),
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        monotonic=FakeMonotonic(0.0),
        max_queued_readings=5,
        on_shed=shed.append,
    )
    start = clock.now
    ev.run_once()  # the state cannot load: nothing judged
    assert ev.failures == 1
    with caplog.at_level(logging.WARNING, logger="telemetry.evaluation"):
        for n in range(5):
            ev.observe([reading(start + timedelta(minutes=n), temperature=20.0)], now=start)
        hot = reading(start + timedelta(minutes=5), temperature=56.0, humidity=40.0)
        ev.observe([hot], now=start)
        ev.observe(
            [reading(start + timedelta(minutes=6 + n), temperature=56.0) for n in range(2)],
            now=start,
        )
        ev.run_once()
    assert ev.failures == 2 and shed == [1, 2] and ev.shed == 3
    assert [r.getMessage() for r in caplog.records if "shedding" in r.getMessage()] == [
        "alert evaluation behind by 5 readings: shedding batches until it catches up"
    ]

    ev.sessions = state.sessions  # the database is back
    ev.run_once()
    assert open_alerts(state) == []  # the five that waited were judged: all normal
    later = start + timedelta(minutes=10)
    clock.now = later
    ev.observe([computed(later, temperature=56.0, humidity=40.0)], now=later)
    ev.run_once()
    assert [a.rule for a in open_alerts(state)] == ["fire_risk_critical"]
    unreachable.dispose()
