"""What an alert of a condition says when it is raised and when it clears: the message stored
with the alert and sent to people (Chinese, as on the platform's screens).

A number-valued condition names its tier and the reading ("湿度超过75%持续24小时（当前值 78）");
a condition read from a detector's true/false (``water_leak``) says what the detector found
instead of a number. Pure: no I/O.
"""

from __future__ import annotations

from typing import Final

from telemetry.alert_rules import AlertRule

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
