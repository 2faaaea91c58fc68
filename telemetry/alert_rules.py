"""Alert conditions and their tiers: the defaults (docs/monitoring.md), overrides per scope,
and the value a condition reads.

Pure, no I/O. A *condition* (damp air, fire risk, heat, cold, condensation, water leak) is
watched on one metric of a sensor and has one or more *tiers* in rising severity, each an
:class:`AlertRule` with an enter threshold, a clear threshold (hysteresis), a sustain time and
a severity: humidity ≥ 75 % for 24 h is the warning tier of ``humidity``, ≥ 85 % for 72 h its
critical tier. A sensor has at most one alert per condition, and its severity is that of the
highest tier that holds (see :mod:`telemetry.alert_state`).

Overrides address a tier by its code and apply by scope, the most specific winning field by
field: sensor > shelter > zone > class (a shelter's current class, e.g. stricter limits for
class 3–4) > default. A tier's title is built from its thresholds, so an overridden tier says
what it now means. A detector's true/false (``water_leak``) is read as 1.0 / 0.0, so its
tier enters at ≥ 1 and clears below 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from operator import attrgetter

from telemetry.fire_risk import level_number
from telemetry.readings import Reading


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order of gravity: info 0 < warning 1 < critical 2."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


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
"""Code of the offline alert, as its rule and its condition (sensor health, no tiers)."""
OFFLINE_FACTOR = 3
"""A sensor is offline after this many expected intervals without a reading."""


def sustained(seconds: int) -> str:
    """How a sustain time reads in a title: "持续24小时", "持续10分钟", "" for at once."""
    if seconds <= 0:
        return ""
    if seconds % 3600 == 0:
        return f"持续{seconds // 3600}小时"
    if seconds % 60 == 0:
        return f"持续{seconds // 60}分钟"
    return f"持续{seconds}秒"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One tier of a condition. ``template`` is the title with ``{enter}`` (the enter
    threshold) and ``{sustained}`` (:func:`sustained` of the sustain time) left open."""

    code: str
    template: str
    metric: str  # humidity | temperature | dew_margin | fire_level | water_leak
    op: Op
    enter: float
    clear: float
    sustain_s: int
    severity: Severity
    notice_interval_s: int = 0
    """At most one notice per this many seconds for this rule and sensor (0: no limit)."""
    enabled: bool = True

    @property
    def title(self) -> str:
        """The tier as people read it, with its thresholds as they are after overrides."""
        return self.template.format(enter=f"{self.enter:g}", sustained=sustained(self.sustain_s))

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


@dataclass(frozen=True, slots=True)
class Condition:
    """A watched condition: its tiers on one metric, in rising severity. A tier that is not
    ``enabled`` stays in place (tier positions are the same for every sensor) but never
    holds."""

    code: str
    tiers: tuple[AlertRule, ...]
    enabled: bool = field(init=False, compare=False, repr=False)
    """True when at least one tier is."""
    _range: tuple[float, float] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.tiers or len({t.metric for t in self.tiers}) != 1:
            raise ValueError(f"condition {self.code!r} needs tiers on one metric")
        ranges = [t.entry_range() for t in self.tiers if t.enabled]
        object.__setattr__(self, "enabled", bool(ranges))
        span = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (1.0, 0.0)
        object.__setattr__(self, "_range", span)

    @property
    def metric(self) -> str:
        return self.tiers[0].metric

    def entry_range(self) -> tuple[float, float]:
        """The smallest closed range holding every value that enters an enabled tier (an
        empty one, low above high, when no tier is enabled)."""
        return self._range


HOUR = 3600
_HUMIDITY = "湿度超过{enter}%{sustained}"
_FIRE = "火险等级≥{enter}级{sustained}"
DEFAULT_CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "humidity",
        (
            AlertRule(
                "humidity_warning",
                _HUMIDITY,
                "humidity",
                Op.GE,
                75.0,
                70.0,
                24 * HOUR,
                Severity.WARNING,
            ),
            AlertRule(
                "humidity_critical",
                _HUMIDITY,
                "humidity",
                Op.GE,
                85.0,
                80.0,
                72 * HOUR,
                Severity.CRITICAL,
            ),
        ),
    ),
    Condition(
        "temperature_low",
        (
            AlertRule(
                "temperature_low",
                "温度低于{enter}℃{sustained}",
                "temperature",
                Op.LT,
                5.0,
                6.0,
                600,
                Severity.CRITICAL,
            ),
        ),
    ),
    Condition(
        "temperature_high",
        (
            AlertRule(
                "temperature_high",
                "温度高于{enter}℃{sustained}",
                "temperature",
                Op.GT,
                35.0,
                34.0,
                600,
                Severity.CRITICAL,
            ),
        ),
    ),
    Condition(
        "condensation",
        (
            AlertRule(
                "condensation",
                "温度与露点差小于{enter}℃{sustained}（结露风险）",
                "dew_margin",
                Op.LT,
                2.0,
                3.0,
                HOUR,
                Severity.WARNING,
            ),
        ),
    ),
    Condition(
        "fire_risk",
        (
            AlertRule(
                "fire_risk_warning",
                _FIRE,
                "fire_level",
                Op.GE,
                3.0,
                3.0,
                0,
                Severity.WARNING,
                notice_interval_s=12 * HOUR,
            ),
            AlertRule(
                "fire_risk_critical", _FIRE, "fire_level", Op.GE, 4.0, 4.0, 0, Severity.CRITICAL
            ),
        ),
    ),
    Condition(
        "water_leak",
        (
            AlertRule(
                "water_leak",
                "水浸报警{sustained}",
                "water_leak",
                Op.GE,
                1.0,
                1.0,
                0,
                Severity.CRITICAL,
            ),
        ),
    ),
)
DEFAULT_RULES: tuple[AlertRule, ...] = tuple(t for c in DEFAULT_CONDITIONS for t in c.tiers)
"""Every tier of every default condition, in condition order."""
TIERS: Mapping[str, tuple[str, int]] = {
    t.code: (c.code, i) for c in DEFAULT_CONDITIONS for i, t in enumerate(c.tiers)
}
"""A tier's code → (its condition's code, its position among the condition's tiers)."""
CONDITIONS: Mapping[str, Condition] = {c.code: c for c in DEFAULT_CONDITIONS}


@dataclass(frozen=True, slots=True)
class Override:
    """Fields to change in one tier (``rule``, a tier code) for one scope; None leaves the
    field as it is."""

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
    """The default conditions with their overrides, resolved per target (and cached)."""

    def __init__(
        self,
        overrides: Iterable[Override] = (),
        defaults: tuple[Condition, ...] = DEFAULT_CONDITIONS,
    ) -> None:
        self.defaults = defaults
        self._by_scope: dict[tuple[Scope, str], list[Override]] = {}
        for o in overrides:
            self._by_scope.setdefault((o.scope, o.scope_value), []).append(o)
        self._cache: dict[Target, tuple[Condition, ...]] = {}

    def conditions_for(self, target: Target) -> tuple[Condition, ...]:
        """The target's conditions with their tiers as overridden; a condition whose tiers
        are all disabled is left out."""
        cached = self._cache.get(target)
        if cached is not None:
            return cached
        keys: Mapping[Scope, str | None] = {
            Scope.CLASS: str(target.current_class) if target.current_class else None,
            Scope.ZONE: target.zone or None,
            Scope.SHELTER: target.shelter_code,
            Scope.SENSOR: target.sensor_id,
        }
        applying: list[Override] = []  # in precedence order, the most specific last
        for scope in SCOPE_PRECEDENCE:
            value = keys[scope]
            if value is not None:
                applying += self._by_scope.get((scope, value), ())
        if not applying:
            resolved = self._plain()
        else:
            found = []
            for default in self.defaults:
                tiers = tuple(self._tier(t, applying) for t in default.tiers)
                condition = default if tiers == default.tiers else replace(default, tiers=tiers)
                if condition.enabled:
                    found.append(condition)
            resolved = tuple(found)
        self._cache[target] = resolved
        return resolved

    @staticmethod
    def _tier(tier: AlertRule, applying: list[Override]) -> AlertRule:
        for o in applying:
            if o.rule == tier.code:
                tier = apply(tier, o)
        return tier

    def _plain(self) -> tuple[Condition, ...]:
        """The defaults as they are (one tuple shared by every target without overrides)."""
        plain = self._cache.get(_NO_TARGET)
        if plain is None:
            plain = self._cache[_NO_TARGET] = tuple(c for c in self.defaults if c.enabled)
        return plain


_NO_TARGET = Target("", "", "", None)
"""Cache key of the defaults without overrides (no sensor has an empty id)."""


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


def _water_leak(reading: Reading) -> float | None:
    wet = reading.water_leak
    return None if wet is None else float(wet)


_GETTERS: dict[str, Callable[[Reading], float | None]] = {
    "humidity": attrgetter("humidity"),
    "temperature": attrgetter("temperature"),
    "dew_margin": _dew_margin,
    "fire_level": _fire_level,
    "water_leak": _water_leak,
}


def getter(metric: str) -> Callable[[Reading], float | None]:
    """The function reading a rule's value from a reading (see :func:`metric_value`)."""
    try:
        return _GETTERS[metric]
    except KeyError:
        raise ValueError(f"unknown rule metric {metric!r}") from None
