"""The per (sensor, rule) state machine: how long a condition has held, on measurement time.

Pure, no I/O. A condition must hold continuously for the rule's sustain time before it
raises; a value between the enter and clear thresholds neither raises nor clears (hysteresis),
and a value that stops holding before the sustain time resets the timer. Readings older than
the last one evaluated do not move the state (they are stored, not re-judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telemetry.alert_rules import AlertRule


class Transition(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"
    PENDING = "pending"  # the timer started
    RESET = "reset"  # the timer stopped before the sustain time


@dataclass(slots=True)
class RuleState:
    pending_since_ms: int | None = None
    active: bool = False
    last_ts_ms: int = 0


def step(rule: AlertRule, state: RuleState, value: float, ts_ms: int) -> Transition | None:
    """Advance ``state`` with one value at ``ts_ms``; returns what changed, if anything."""
    if ts_ms < state.last_ts_ms:
        return None
    state.last_ts_ms = ts_ms
    if state.active:
        if rule.clears(value):
            state.active = False
            state.pending_since_ms = None
            return Transition.CLEAR
        return None
    if rule.enters(value):
        since = state.pending_since_ms
        started = since is None
        if since is None:
            since = state.pending_since_ms = ts_ms
        if ts_ms - since >= rule.sustain_s * 1000:
            state.active = True
            return Transition.RAISE
        return Transition.PENDING if started else None
    if state.pending_since_ms is not None:
        state.pending_since_ms = None
        return Transition.RESET
    return None
