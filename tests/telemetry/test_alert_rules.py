"""The alert state machine and rule resolution, table-driven on measurement time."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from telemetry.alert_rules import (
    DEFAULT_RULES,
    AlertRule,
    Op,
    Override,
    RuleBook,
    Scope,
    Severity,
    Target,
    metric_value,
)
from telemetry.alert_state import RuleState, Transition, step
from telemetry.readings import Reading

RULES = {r.code: r for r in DEFAULT_RULES}
MIN = 60_000
HOUR = 60 * MIN


def run(rule: AlertRule, series: list[tuple[int, float]]) -> list[tuple[int, Transition]]:
    state = RuleState()
    out = []
    for ts, value in series:
        t = step(rule, state, value, ts)
        if t in (Transition.RAISE, Transition.CLEAR):
            out.append((ts, t))
    return out


def test_humidity_hovering_around_the_threshold_raises_once() -> None:
    rule = RULES["humidity_warning"]
    # 75 % for a day (raise), then hovering 72–76 (inside the 70–75 band or above): no
    # clear and no second alert; below 70 clears once.
    series = [(i * HOUR, 76.0) for i in range(25)]
    series += [(25 * HOUR + i * MIN, 72.0 if i % 2 else 76.0) for i in range(120)]
    series += [(30 * HOUR, 69.9), (31 * HOUR, 76.0)]
    assert run(rule, series) == [(24 * HOUR, Transition.RAISE), (30 * HOUR, Transition.CLEAR)]


def test_a_spike_shorter_than_the_sustain_time_raises_nothing() -> None:
    rule = RULES["temperature_high"]  # > 35 °C for 10 min
    series = [
        (0, 20.0),
        (MIN, 40.0),
        (5 * MIN, 41.0),
        (9 * MIN, 39.0),
        (10 * MIN, 20.0),
        (11 * MIN, 36.0),
        (15 * MIN, 30.0),
    ]
    assert run(rule, series) == []


@pytest.mark.parametrize(
    ("code", "series", "expected"),
    [
        # exactly the sustain time raises
        ("temperature_high", [(0, 35.5), (10 * MIN, 35.5)], [(10 * MIN, "raise")]),
        # 35.0 is not above 35
        ("temperature_high", [(0, 35.0), (20 * MIN, 35.0)], []),
        # 1 °C hysteresis: 34.5 keeps it active, 33.9 clears
        (
            "temperature_high",
            [(0, 36.0), (10 * MIN, 36.0), (11 * MIN, 34.5), (12 * MIN, 33.9)],
            [(10 * MIN, "raise"), (12 * MIN, "clear")],
        ),
        (
            "temperature_low",
            [(0, 4.9), (10 * MIN, 4.0), (11 * MIN, 5.5), (12 * MIN, 6.1)],
            [(10 * MIN, "raise"), (12 * MIN, "clear")],
        ),
        # fire level ≥ 4 at once, clears at level 3
        ("fire_risk_critical", [(0, 4.0), (MIN, 3.0)], [(0, "raise"), (MIN, "clear")]),
        (
            "humidity_critical",
            [(0, 85.0), (72 * HOUR - 1, 90.0), (72 * HOUR, 86.0)],
            [(72 * HOUR, "raise")],
        ),
        # the timer restarts after a normal value
        (
            "condensation",
            [(0, 1.5), (50 * MIN, 2.5), (51 * MIN, 1.0), (110 * MIN, 1.0), (111 * MIN, 1.0)],
            [(111 * MIN, "raise")],
        ),
    ],
)
def test_transitions(
    code: str, series: list[tuple[int, float]], expected: list[tuple[int, str]]
) -> None:
    assert [(ts, t.value) for ts, t in run(RULES[code], series)] == expected


def test_out_of_order_readings_do_not_move_the_state() -> None:
    rule = RULES["temperature_high"]
    state = RuleState()
    assert step(rule, state, 36.0, 10 * MIN) is Transition.PENDING
    assert step(rule, state, 20.0, 5 * MIN) is None
    assert state.pending_since_ms == 10 * MIN
    assert step(rule, state, 36.0, 20 * MIN) is Transition.RAISE


def test_overrides_most_specific_scope_wins_field_by_field() -> None:
    book = RuleBook(
        [
            Override("humidity_warning", Scope.CLASS, "4", enter=70.0, clear=65.0),
            Override("humidity_warning", Scope.ZONE, "滤毒室", sustain_s=3600),
            Override("humidity_warning", Scope.SHELTER, "SH-1", enter=72.0),
            Override("humidity_warning", Scope.SENSOR, "S-9", enabled=False),
            Override("temperature_high", Scope.SHELTER, "SH-1", severity=Severity.WARNING),
        ]
    )
    rules = {r.code: r for r in book.rules_for(Target("S-1", "SH-1", "滤毒室", 4))}
    assert (
        rules["humidity_warning"].enter,
        rules["humidity_warning"].clear,
        rules["humidity_warning"].sustain_s,
    ) == (72.0, 65.0, 3600)
    assert rules["temperature_high"].severity is Severity.WARNING
    other = {r.code: r for r in book.rules_for(Target("S-2", "SH-2", "主通道", 2))}
    assert other["humidity_warning"] == RULES["humidity_warning"]
    assert "humidity_warning" not in {
        r.code for r in book.rules_for(Target("S-9", "SH-1", "滤毒室", 4))
    }


def test_metric_values() -> None:
    r = Reading(
        "SH",
        "S",
        datetime(2026, 1, 1, tzinfo=UTC),
        temperature=20.0,
        humidity=50.0,
        fire_risk=65.0,
        dew_point=9.26,
    )
    assert metric_value(r, "dew_margin") == pytest.approx(10.74)
    assert metric_value(r, "fire_level") == 4.0
    assert metric_value(r._replace(dew_point=None), "dew_margin") is None
    with pytest.raises(ValueError, match="unknown rule metric"):
        metric_value(r, "pressure")


@pytest.mark.parametrize("op", list(Op))
def test_entry_range_agrees_with_enters_at_and_around_the_threshold(op: Op) -> None:
    rule = AlertRule("r", "r", "humidity", op, 75.0, 70.0, 60, Severity.WARNING)
    low, high = rule.entry_range()
    values = [-math.inf, -1e9, 0.0, 74.9, 75.0, 75.1, 1e9, math.inf]
    values += [math.nextafter(75.0, -math.inf), math.nextafter(75.0, math.inf)]
    for v in values:
        assert (low <= v <= high) == rule.enters(v), (op, v)


def test_entry_range_of_every_default_rule_agrees_with_enters() -> None:
    for rule in DEFAULT_RULES:
        low, high = rule.entry_range()
        for v in (rule.enter - 1, rule.enter, rule.enter + 1, rule.clear):
            assert (low <= v <= high) == rule.enters(v), (rule.code, v)
