"""One alert per sensor and condition whose severity moves between the condition's tiers
(raised, severity raised, severity lowered, cleared), and alerts resolved by hand that stay
resolved while their condition holds; on the real database and outbox, injected clocks."""

from __future__ import annotations

from datetime import timedelta

from api.alerting.jobs import run_alert_tick
from api.alerting.sink import OutboxAlertSink
from api.state import AppState
from telemetry import alert_store, condition_store
from telemetry.alert_rules import Override, Scope, Severity
from telemetry.alert_transitions import AlertTransitions
from tests.api.alerting import (
    all_alerts,
    computed,
    evaluator,
    feed,
    open_alerts,
    reading,
    to_people,
    to_platform,
)
from tests.conftest import FakeClock, Login


def test_one_hot_reading_is_one_fire_risk_alert_at_the_tier_that_holds(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    hot = computed(clock.now, temperature=56.0, humidity=40.0)  # heat 100: fire-risk level 5
    feed(ev, clock, [hot])
    [alert] = open_alerts(state)  # temperature_high waits its 10 minutes
    assert (alert.rule, alert.severity, alert.message, alert.threshold) == (
        "fire_risk_critical",
        "critical",
        "火险等级≥4级（当前值 5）",
        4.0,
    )
    assert to_people(state) == [("alert_raised", people["manager"].id)]
    assert to_platform(state) == ["alert_raised"]


def test_fire_risk_alert_rises_steps_down_and_clears_as_one_alert(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    t = clock.now
    manager = people["manager"].id

    feed(ev, clock, [reading(t, fire_risk=45.0)])  # level 3
    [warning] = open_alerts(state)
    assert (warning.rule, warning.severity, warning.message) == (
        "fire_risk_warning",
        "warning",
        "火险等级≥3级（当前值 3）",
    )

    feed(ev, clock, [reading(t + timedelta(minutes=1), fire_risk=85.0)])  # level 5
    [critical] = open_alerts(state)
    assert critical.id == warning.id
    assert (critical.rule, critical.severity, critical.message, critical.status) == (
        "fire_risk_critical",
        "critical",
        "火险等级≥4级（当前值 5）",
        "active",
    )
    assert critical.severity_since_ms == alert_store.to_ms(t + timedelta(minutes=1))
    assert critical.raised_at_ms == alert_store.to_ms(t)

    feed(ev, clock, [reading(t + timedelta(minutes=2), fire_risk=45.0)])  # back to level 3
    [lowered] = open_alerts(state)
    assert (lowered.id, lowered.rule, lowered.severity, lowered.message) == (
        warning.id,
        "fire_risk_warning",
        "warning",
        "火险等级≥3级（当前值 3）",
    )

    feed(ev, clock, [reading(t + timedelta(minutes=3), fire_risk=10.0)])  # level 1
    assert open_alerts(state) == []
    [done] = all_alerts(state)
    assert (done.id, done.status, done.value) == (warning.id, "cleared", 1.0)
    assert done.message == "火险等级≥3级：已解除（当前值 1）"
    # People hear of the rise and of the clearance, not of the step down; the platform of all.
    assert to_people(state) == [
        ("alert_raised", manager),
        ("alert_severity_raised", manager),
        ("alert_cleared", manager),
    ]
    assert to_platform(state) == [
        "alert_raised",
        "alert_severity_raised",
        "alert_severity_lowered",
        "alert_cleared",
    ]


def test_water_is_one_critical_alert_at_once_cleared_by_the_first_dry_reading(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    t = clock.now
    manager = people["manager"].id

    feed(ev, clock, [reading(t, water_leak=False)])
    assert open_alerts(state) == []
    feed(ev, clock, [reading(t + timedelta(minutes=m), water_leak=True) for m in (1, 2, 3)])
    [alert] = open_alerts(state)
    assert (alert.condition, alert.rule, alert.severity, alert.status, alert.message) == (
        "water_leak",
        "water_leak",
        "critical",
        "active",
        "水浸报警：传感器检测到积水",
    )
    assert alert.condition_since_ms == alert_store.to_ms(t + timedelta(minutes=1))
    with state.sessions() as s:
        [live] = alert_store.live_rows(s, ["SH-1"])
    assert live.water_leak is True

    # A reading without water_leak (a combined sensor's temperature) neither raises nor clears.
    feed(ev, clock, [reading(t + timedelta(minutes=4), temperature=18.0)])
    assert [a.id for a in open_alerts(state)] == [alert.id]
    feed(ev, clock, [reading(t + timedelta(minutes=5), water_leak=False)])
    assert open_alerts(state) == []
    [done] = all_alerts(state)
    assert (done.id, done.status, done.message) == (alert.id, "cleared", "水浸报警：已恢复干燥")
    assert to_people(state) == [("alert_raised", manager), ("alert_cleared", manager)]
    assert to_platform(state) == ["alert_raised", "alert_cleared"]


def test_a_water_leak_override_waits_and_lowers_the_severity(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    with state.sessions.begin() as s:
        condition_store.replace_overrides(
            s,
            [
                Override(
                    "water_leak", Scope.SENSOR, "SH-1-S1", sustain_s=120, severity=Severity.WARNING
                )
            ],
            by="admin",
            at=clock.now,
        )
    ev = evaluator(state, sink)
    t = clock.now
    feed(ev, clock, [reading(t + timedelta(minutes=m), water_leak=True) for m in (0, 1)])
    assert open_alerts(state) == []  # a splash shorter than the sustain time
    feed(ev, clock, [reading(t + timedelta(minutes=2), water_leak=True)])
    [alert] = open_alerts(state)
    assert (alert.severity, alert.message) == ("warning", "水浸报警持续2分钟：传感器检测到积水")


def test_damp_air_is_one_humidity_alert_from_warning_to_critical_and_back(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    start = clock.now
    feed(ev, clock, [reading(start + timedelta(hours=h), humidity=90.0) for h in range(30)])
    [alert] = open_alerts(state)
    assert (alert.rule, alert.severity, alert.threshold, alert.message) == (
        "humidity_warning",
        "warning",
        75.0,
        "湿度超过75%持续24小时（当前值 90）",
    )
    assert alert.raised_at_ms == alert_store.to_ms(start + timedelta(hours=24))

    feed(ev, clock, [reading(start + timedelta(hours=h), humidity=90.0) for h in range(30, 73)])
    [alert] = open_alerts(state)
    assert (alert.rule, alert.severity, alert.message) == (
        "humidity_critical",
        "critical",
        "湿度超过85%持续72小时（当前值 90）",
    )
    assert alert.severity_since_ms == alert_store.to_ms(start + timedelta(hours=72))
    assert alert.condition_since_ms == alert_store.to_ms(start)

    later = start + timedelta(hours=73)
    feed(ev, clock, [reading(later, humidity=82.0)])  # above the critical clear (80)
    assert [a.severity for a in open_alerts(state)] == ["critical"]
    feed(ev, clock, [reading(later + timedelta(hours=1), humidity=78.0)])
    [alert] = open_alerts(state)
    assert (alert.rule, alert.severity, alert.message) == (
        "humidity_warning",
        "warning",
        "湿度超过75%持续24小时（当前值 78）",
    )
    feed(ev, clock, [reading(later + timedelta(hours=2), humidity=65.0)])
    [done] = all_alerts(state)
    assert (done.status, done.value, done.message) == (
        "cleared",
        65.0,
        "湿度超过75%持续24小时：已解除（当前值 65）",
    )
    assert [kind for kind, _ in to_people(state)] == [
        "alert_raised",
        "alert_severity_raised",
        "alert_cleared",
    ]


def test_an_acknowledged_warning_that_worsens_is_active_again_and_escalates_from_then(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    t = clock.now
    feed(ev, clock, [reading(t, fire_risk=45.0)])
    [alert] = open_alerts(state)
    with state.sessions.begin() as s:
        assert alert_store.acknowledge(s, alert.id, by="mgr", at=t) is not None
    rise = t + timedelta(hours=1)
    feed(ev, clock, [reading(rise, fire_risk=90.0)])
    [alert] = open_alerts(state)
    assert (alert.severity, alert.status, alert.acknowledged_by) == ("critical", "active", None)
    clock.now = rise + timedelta(minutes=9)
    # an hour since raised, 9 min critical
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 0
    clock.now = rise + timedelta(minutes=10)
    assert run_alert_tick(state, AlertTransitions(sink)).escalated == 1


def test_overridden_thresholds_appear_in_the_title(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    with state.sessions.begin() as s:
        condition_store.replace_overrides(
            s,
            [Override("humidity_warning", Scope.SHELTER, "SH-1", 70.0, 65.0, sustain_s=3600)],
            by="admin",
            at=clock.now,
        )
    ev = evaluator(state, sink)
    t = clock.now
    feed(ev, clock, [reading(t + timedelta(minutes=m), humidity=72.0) for m in (0, 30, 60)])
    [alert] = open_alerts(state)
    assert (alert.message, alert.threshold) == ("湿度超过70%持续1小时（当前值 72）", 70.0)


def test_an_alert_resolved_by_hand_stays_resolved_until_its_condition_clears(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    start = clock.now
    feed(ev, clock, [reading(start + timedelta(minutes=m), temperature=40.0) for m in (0, 10)])
    [first] = open_alerts(state, "temperature_high")
    with state.sessions.begin() as s:
        assert alert_store.resolve(s, first.id, by="mgr", note="开了排风", at=clock.now)
    ev.reload_rules()  # the evaluator follows alerts changed elsewhere at its next refresh
    feed(ev, clock, [reading(start + timedelta(minutes=m), temperature=40.0) for m in (11, 20, 21)])
    assert open_alerts(state) == []
    restarted = evaluator(state, sink)  # a restart changes nothing
    feed(restarted, clock, [reading(start + timedelta(minutes=m), temperature=41.0) for m in (40,)])
    assert open_alerts(state) == []
    feed(restarted, clock, [reading(start + timedelta(minutes=41), temperature=30.0)])  # clears
    assert [(a.id, a.status) for a in all_alerts(state)] == [(first.id, "resolved")]
    assert [kind for kind, _ in to_people(state)] == ["alert_raised"]  # no clearance to tell
    # The condition came back: a new alert after the sustain time.
    back = [reading(start + timedelta(minutes=m), temperature=40.0) for m in (50, 60)]
    feed(restarted, clock, back)
    [second] = open_alerts(state, "temperature_high")
    assert second.id != first.id
    assert second.raised_at_ms == alert_store.to_ms(start + timedelta(minutes=60))


def test_an_alert_resolved_as_a_warning_comes_back_when_it_turns_critical(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    t = clock.now
    feed(ev, clock, [reading(t, fire_risk=45.0)])
    [warning] = open_alerts(state)
    with state.sessions.begin() as s:
        assert alert_store.resolve(s, warning.id, by="mgr", note="已排查", at=t)
    feed(ev, clock, [reading(t + timedelta(minutes=m), fire_risk=50.0) for m in (1, 2)])
    assert open_alerts(state) == []  # handled at this severity
    feed(ev, clock, [reading(t + timedelta(minutes=3), fire_risk=85.0)])
    [critical] = open_alerts(state)
    assert (critical.severity, critical.status) == ("critical", "active")
    assert critical.id != warning.id
    assert [(a.id, a.status) for a in all_alerts(state)] == [
        (warning.id, "resolved"),
        (critical.id, "active"),
    ]


def test_an_offline_alert_resolved_by_hand_stays_resolved_while_the_sensor_is_silent(
    state: AppState, sink: OutboxAlertSink, people: dict[str, Login], clock: FakeClock
) -> None:
    ev = evaluator(state, sink)
    seen = clock.now
    feed(ev, clock, [reading(seen, temperature=20.0)])
    clock.now = seen + timedelta(minutes=4)
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 1
    [offline] = open_alerts(state)
    with state.sessions.begin() as s:
        assert alert_store.resolve(s, offline.id, by="mgr", note="更换电池中", at=clock.now)
    clock.now = seen + timedelta(minutes=30)
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 0
    feed(ev, clock, [reading(clock.now, temperature=20.0)])
    # nothing open to clear
    assert run_alert_tick(state, AlertTransitions(sink)).offline_cleared == 0
    clock.now += timedelta(minutes=4)
    # silent again: a new alert
    assert run_alert_tick(state, AlertTransitions(sink)).offline_raised == 1
