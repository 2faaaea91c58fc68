"""The condition state machine and rule resolution, table-driven on measurement time."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from telemetry.alert_rules import (
    DEFAULT_CONDITIONS,
    DEFAULT_RULES,
    AlertRule,
    Condition,
    Op,
    Override,
    RuleBook,
    Scope,
    Severity,
    Target,
    metric_value,
    sustained,
)
from telemetry.alert_state import ConditionState, Transition, step
from telemetry.readings import Reading

CONDITIONS = {c.code: c for c in DEFAULT_CONDITIONS}
RULES = {r.code: r for r in DEFAULT_RULES}
MIN = 60_000
HOUR = 60 * MIN
LEVEL = (Transition.RAISE, Transition.RISE, Transition.FALL, Transition.CLEAR)


def only(rule: AlertRule) -> Condition:
    """A condition of one tier."""
    return Condition(rule.code, (rule,))


def run(
    condition: Condition | AlertRule, series: list[tuple[int, float]]
) -> list[tuple[int, Transition]]:
    """The raises, rises, falls and clears a series of (ms, value) makes."""
    cond = condition if isinstance(condition, Condition) else only(condition)
    state = ConditionState.of(cond)
    out = []
    for ts, value in series:
        for t, _tier, _ms in step(cond, state, value, ts) or ():
            if t in LEVEL:
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
        # water (1.0) at once, held while wet, cleared by the first dry reading (0.0)
        (
            "water_leak",
            [(0, 0.0), (MIN, 1.0), (2 * MIN, 1.0), (3 * MIN, 0.0), (4 * MIN, 0.0)],
            [(MIN, "raise"), (3 * MIN, "clear")],
        ),
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
    cond = CONDITIONS["temperature_high"]
    state = ConditionState.of(cond)
    assert step(cond, state, 36.0, 10 * MIN) == [(Transition.PENDING, 0, 10 * MIN)]
    assert step(cond, state, 20.0, 5 * MIN) is None
    assert state.pending == [10 * MIN]
    assert step(cond, state, 36.0, 20 * MIN) == [(Transition.RAISE, 0, 10 * MIN)]


def levels(cond: Condition, series: list[tuple[int, float]]) -> list[tuple[int, str, str]]:
    """(ms, transition, tier code) of every change of level along a series."""
    state = ConditionState.of(cond)
    out = []
    for ts, value in series:
        for t, tier, _ms in step(cond, state, value, ts) or ():
            if t in LEVEL:
                out.append((ts, t.value, cond.tiers[tier].code))
    return out


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        # one reading of level 5 raises the critical tier at once, not the warning tier first
        ([(0, 5.0)], [(0, "raise", "fire_risk_critical")]),
        (
            [(0, 3.0), (MIN, 4.0), (2 * MIN, 5.0), (3 * MIN, 3.0), (4 * MIN, 2.0)],
            [
                (0, "raise", "fire_risk_warning"),
                (MIN, "rise", "fire_risk_critical"),
                (3 * MIN, "fall", "fire_risk_warning"),
                (4 * MIN, "clear", "fire_risk_warning"),
            ],
        ),
        # from critical straight to clear
        (
            [(0, 5.0), (MIN, 1.0)],
            [(0, "raise", "fire_risk_critical"), (MIN, "clear", "fire_risk_critical")],
        ),
    ],
)
def test_fire_risk_tiers(
    series: list[tuple[int, float]], expected: list[tuple[int, str, str]]
) -> None:
    assert levels(CONDITIONS["fire_risk"], series) == expected


def test_humidity_rises_with_its_own_sustain_time_and_steps_down_by_hysteresis() -> None:
    series = [(h * HOUR, 90.0) for h in range(73)]
    series += [(73 * HOUR, 82.0), (74 * HOUR, 78.0), (75 * HOUR, 86.0), (76 * HOUR, 69.0)]
    assert levels(CONDITIONS["humidity"], series) == [
        (24 * HOUR, "raise", "humidity_warning"),
        (72 * HOUR, "rise", "humidity_critical"),
        (74 * HOUR, "fall", "humidity_warning"),  # 82 keeps critical (clears < 80), 78 not
        (76 * HOUR, "clear", "humidity_warning"),  # 86 for an instant is not 72 h
    ]


def test_a_raise_reports_when_the_condition_began_and_timers_start_and_stop() -> None:
    cond = CONDITIONS["humidity"]
    state = ConditionState.of(cond)
    assert step(cond, state, 90.0, 0) == [(Transition.PENDING, 0, 0), (Transition.PENDING, 1, 0)]
    assert step(cond, state, 80.0, HOUR) == [(Transition.RESET, 1, HOUR)]
    assert step(cond, state, 80.0, 24 * HOUR) == [(Transition.RAISE, 0, 0)]
    assert (state.level, state.pending) == (0, [None, None])
    assert step(cond, state, 90.0, 25 * HOUR) == [(Transition.PENDING, 1, 25 * HOUR)]


def test_a_disabled_tier_never_holds_and_is_skipped_on_the_way_down() -> None:
    warning, critical = CONDITIONS["fire_risk"].tiers
    cond = Condition("fire_risk", (replace(warning, enabled=False), critical))
    assert levels(cond, [(0, 3.0), (MIN, 5.0), (2 * MIN, 3.0)]) == [
        (MIN, "raise", "fire_risk_critical"),
        (2 * MIN, "clear", "fire_risk_critical"),
    ]


def test_titles_show_the_thresholds_in_force() -> None:
    assert [r.title for r in DEFAULT_RULES] == [
        "湿度超过75%持续24小时",
        "湿度超过85%持续72小时",
        "温度低于5℃持续10分钟",
        "温度高于35℃持续10分钟",
        "温度与露点差小于2℃持续1小时（结露风险）",
        "火险等级≥3级",
        "火险等级≥4级",
        "水浸报警",
    ]
    assert RULES["water_leak"].severity is Severity.CRITICAL
    book = RuleBook([Override("humidity_warning", Scope.SHELTER, "SH-1", 70.0, sustain_s=3600)])
    [humidity] = [
        c for c in book.conditions_for(Target("S", "SH-1", "", None)) if c.code == "humidity"
    ]
    assert humidity.tiers[0].title == "湿度超过70%持续1小时"
    assert [sustained(s) for s in (0, 45, 600, 7200, 90)] == [
        "",
        "持续45秒",
        "持续10分钟",
        "持续2小时",
        "持续90秒",
    ]


def test_overrides_most_specific_scope_wins_field_by_field() -> None:
    book = RuleBook(
        [
            Override("humidity_warning", Scope.CLASS, "4", enter=70.0, clear=65.0),
            Override("humidity_warning", Scope.ZONE, "滤毒室", sustain_s=3600),
            Override("humidity_warning", Scope.SHELTER, "SH-1", enter=72.0),
            Override("humidity_warning", Scope.SENSOR, "S-9", enabled=False),
            Override("temperature_high", Scope.SHELTER, "SH-1", severity=Severity.WARNING),
            Override("fire_risk_warning", Scope.SENSOR, "S-8", enabled=False),
            Override("fire_risk_critical", Scope.SENSOR, "S-8", enabled=False),
        ]
    )

    def tiers(target: Target) -> dict[str, AlertRule]:
        return {t.code: t for c in book.conditions_for(target) for t in c.tiers}

    rules = tiers(Target("S-1", "SH-1", "滤毒室", 4))
    assert (
        rules["humidity_warning"].enter,
        rules["humidity_warning"].clear,
        rules["humidity_warning"].sustain_s,
    ) == (72.0, 65.0, 3600)
    assert rules["humidity_critical"] == RULES["humidity_critical"]
    assert rules["temperature_high"].severity is Severity.WARNING
    other = tiers(Target("S-2", "SH-2", "主通道", 2))
    assert other["humidity_warning"] == RULES["humidity_warning"]
    # A disabled tier keeps its place; a condition with every tier disabled is left out.
    assert tiers(Target("S-9", "SH-1", "滤毒室", 4))["humidity_warning"].enabled is False
    codes = [c.code for c in book.conditions_for(Target("S-8", "SH-2", "", None))]
    assert "fire_risk" not in codes and "humidity" in codes


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
    assert metric_value(r, "water_leak") is None
    assert metric_value(r._replace(water_leak=True), "water_leak") == 1.0
    assert metric_value(r._replace(water_leak=False), "water_leak") == 0.0
    with pytest.raises(ValueError, match="unknown rule metric"):
        metric_value(r, "pressure")


@pytest.mark.parametrize("op", list(Op))
def test_entry_range_agrees_with_enters_at_and_around_the_threshold(op: Op) -> None:
    rule = AlertRule("r", "r{enter}", "humidity", op, 75.0, 70.0, 60, Severity.WARNING)
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


def test_entry_range_of_a_condition_holds_every_value_that_enters_a_tier() -> None:
    for cond in DEFAULT_CONDITIONS:
        low, high = cond.entry_range()
        for tier in cond.tiers:
            for v in (tier.enter - 1, tier.enter, tier.enter + 1, tier.clear):
                if tier.enters(v):
                    assert low <= v <= high, (cond.code, v)
