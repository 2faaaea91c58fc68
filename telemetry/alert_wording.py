"""What an alert of a condition says when it is raised and when it clears: the message stored
with the alert and sent to people (Chinese, as on the platform's screens).

A number-valued condition names its tier and the reading ("湿度超过75%持续24小时（当前值 78）");
a condition read from a detector's true/false (``water_leak``) says what the detector found
instead of a number; a sensor gone silent, when it was last heard. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from telemetry.alert_rules import OFFLINE_FACTOR, AlertRule

_RAISED: Final = "{title}（当前值 {value}）"
_CLEARED: Final = "{title}：已解除（当前值 {value}）"
_BY_METRIC: Final[dict[str, tuple[str, str]]] = {
    "water_leak": ("{title}：传感器检测到积水", "{title}：已恢复干燥"),
}
"""Wording of conditions whose value is a detector's state, by the value they read:
(raised, cleared)."""


def raised_message(rule: AlertRule, value: float) -> str:
    """The message of an alert raised (or moved to another tier) by ``value``."""
    template = _BY_METRIC.get(rule.metric, (_RAISED, _CLEARED))[0]
    return template.format(title=rule.title, value=f"{value:g}")


def cleared_message(rule: AlertRule, value: float) -> str:
    """The message of an alert whose condition cleared at ``value``."""
    template = _BY_METRIC.get(rule.metric, (_RAISED, _CLEARED))[1]
    return template.format(title=rule.title, value=f"{value:g}")


def offline_message(last_seen: datetime | None) -> str:
    """The message of a ``sensor_offline`` alert; ``last_seen`` is its last reading's time,
    None when it never sent one."""
    seen = last_seen.isoformat() if last_seen is not None else "无"
    return f"传感器离线：超过{OFFLINE_FACTOR}个上报周期无数据（最后数据 {seen}）"
