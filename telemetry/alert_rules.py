"""Alert rules: the defaults (docs/monitoring.md), overrides per scope, and the value a rule
reads.

Pure, no I/O. A rule has an enter threshold, a clear threshold (hysteresis), a sustain time
and a severity. Overrides apply by scope, the most specific winning field by field:
sensor > shelter > zone > class (a shelter's current class, e.g. stricter limits for class
3–4) > default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from operator import attrgetter

from telemetry.fire_risk import level_number
from telemetry.readings import Reading


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Op(StrEnum):
    """How a value enters the condition; it clears on the other side of ``clear``."""

    GE = "ge"  # enters at value >= enter, clears at value < clear
    GT = "gt"  # enters at value > enter, clears at value < clear
    LE = "le"  # enters at value <= enter, clears at value > clear
    LT = "lt"  # enters at value < enter, clears at value > clear


class Scope(StrEnum):
    SHELTER = "shelter"
    ZONE = "zone"
    SENSOR = "sensor"
    CLASS = "class"


SCOPE_PRECEDENCE = (Scope.CLASS, Scope.ZONE, Scope.SHELTER, Scope.SENSOR)
"""Applied in this order, so a later (more specific) scope overrides an earlier one."""

OFFLINE_RULE = "sensor_offline"
OFFLINE_FACTOR = 3
"""A sensor is offline after this many expected intervals without a reading."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    code: str
    title: str
    metric: str  # humidity | temperature | dew_margin | fire_level
    op: Op
    enter: float
    clear: float
    sustain_s: int
    severity: Severity
    notice_interval_s: int = 0
    """At most one notice per this many seconds for this rule and sensor (0: no limit)."""
    enabled: bool = True

    def enters(self, value: float) -> bool:
        op = self.op
        if op is Op.GE:
            return value >= self.enter
        if op is Op.GT:
            return value > self.enter
        if op is Op.LE:
            return value <= self.enter
        return value < self.enter

    def entry_range(self) -> tuple[float, float]:
        """The closed range of values that enter the rule: ``enters(v)`` is ``lo <= v <= hi``
        for every float ``v`` (a strict bound moves to the next float)."""
        op, enter = self.op, self.enter
        if op is Op.GE:
            return enter, math.inf
        if op is Op.GT:
            return math.nextafter(enter, math.inf), math.inf
        if op is Op.LE:
            return -math.inf, enter
        return -math.inf, math.nextafter(enter, -math.inf)

    def clears(self, value: float) -> bool:
        if self.op in (Op.GE, Op.GT):
            return value < self.clear
        return value > self.clear


HOUR = 3600
DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        "humidity_warning",
        "湿度超过75%持续24小时",
        "humidity",
        Op.GE,
        75.0,
        70.0,
        24 * HOUR,
        Severity.WARNING,
    ),
    AlertRule(
        "humidity_critical",
        "湿度超过85%持续72小时",
        "humidity",
        Op.GE,
        85.0,
        80.0,
        72 * HOUR,
        Severity.CRITICAL,
    ),
    AlertRule(
        "temperature_low", "温度低于5℃", "temperature", Op.LT, 5.0, 6.0, 600, Severity.CRITICAL
    ),
    AlertRule(
        "temperature_high", "温度高于35℃", "temperature", Op.GT, 35.0, 34.0, 600, Severity.CRITICAL
    ),
    AlertRule(
        "condensation",
        "温度与露点差小于2℃（结露风险）",
        "dew_margin",
        Op.LT,
        2.0,
        3.0,
        HOUR,
        Severity.WARNING,
    ),
    AlertRule(
        "fire_risk_critical", "火险等级≥4级", "fire_level", Op.GE, 4.0, 4.0, 0, Severity.CRITICAL
    ),
    AlertRule(
        "fire_risk_warning",
        "火险等级3级",
        "fire_level",
        Op.GE,
        3.0,
        3.0,
        0,
        Severity.WARNING,
        notice_interval_s=12 * HOUR,
    ),
)
RULE_CODES = frozenset(r.code for r in DEFAULT_RULES) | {OFFLINE_RULE}


@dataclass(frozen=True, slots=True)
class Override:
    """Fields to change in one rule for one scope; None leaves the field as it is."""

    rule: str
    scope: Scope
    scope_value: str
    enter: float | None = None
    clear: float | None = None
    sustain_s: int | None = None
    severity: Severity | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule set is resolved for."""

    sensor_id: str
    shelter_code: str
    zone: str
    current_class: int | None


def apply(rule: AlertRule, o: Override) -> AlertRule:
    return replace(
        rule,
        enter=rule.enter if o.enter is None else o.enter,
        clear=rule.clear if o.clear is None else o.clear,
        sustain_s=rule.sustain_s if o.sustain_s is None else o.sustain_s,
        severity=rule.severity if o.severity is None else o.severity,
        enabled=rule.enabled if o.enabled is None else o.enabled,
    )


class RuleBook:
    """The default rules with their overrides, resolved per target (and cached)."""

    def __init__(
        self, overrides: Iterable[Override] = (), defaults: tuple[AlertRule, ...] = DEFAULT_RULES
    ) -> None:
        self.defaults = defaults
        self._by_scope: dict[tuple[Scope, str], list[Override]] = {}
        for o in overrides:
            self._by_scope.setdefault((o.scope, o.scope_value), []).append(o)
        self._cache: dict[Target, tuple[AlertRule, ...]] = {}

    def rules_for(self, target: Target) -> tuple[AlertRule, ...]:
        cached = self._cache.get(target)
        if cached is not None:
            return cached
        keys: Mapping[Scope, str | None] = {
            Scope.CLASS: str(target.current_class) if target.current_class else None,
            Scope.ZONE: target.zone or None,
            Scope.SHELTER: target.shelter_code,
            Scope.SENSOR: target.sensor_id,
        }
        rules = []
        for default in self.defaults:
            rule = default
            for scope in SCOPE_PRECEDENCE:
                value = keys[scope]
                if value is None:
                    continue
                for o in self._by_scope.get((scope, value), ()):
                    if o.rule == rule.code:
                        rule = apply(rule, o)
            if rule.enabled:
                rules.append(rule)
        resolved = tuple(rules)
        self._cache[target] = resolved
        return resolved


def metric_value(reading: Reading, metric: str) -> float | None:
    """The value a rule reads from a reading; None when the reading does not carry it."""
    return getter(metric)(reading)


def _dew_margin(reading: Reading) -> float | None:
    if reading.temperature is None or reading.dew_point is None:
        return None
    return reading.temperature - reading.dew_point


def _fire_level(reading: Reading) -> float | None:
    index = reading.fire_risk
    return None if index is None else float(level_number(index))


_GETTERS: dict[str, Callable[[Reading], float | None]] = {
    "humidity": attrgetter("humidity"),
    "temperature": attrgetter("temperature"),
    "dew_margin": _dew_margin,
    "fire_level": _fire_level,
}


def getter(metric: str) -> Callable[[Reading], float | None]:
    """The function reading a rule's value from a reading (see :func:`metric_value`)."""
    try:
        return _GETTERS[metric]
    except KeyError:
        raise ValueError(f"unknown rule metric {metric!r}") from None
