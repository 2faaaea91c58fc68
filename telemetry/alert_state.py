"""The per (sensor, condition) state machine: which tier of the condition holds, and how long
each higher tier has been entered, on measurement time.

Pure, no I/O. A tier holds once its enter side has held continuously for its sustain time; a
value that stops entering before then resets that tier's timer. The condition's level is the
highest tier that holds, and the alert's severity follows it, as ThingsBoard's alarm
severities do:

- raise: no tier held and one does now (at once the highest one that does: one fire-risk
  reading of level 5 raises the critical tier, not the warning tier first);
- rise: a higher tier holds now;
- fall: the holding tier reached its clear side, and the highest lower tier that has not
  reached its own clear side holds instead (a lower tier is implied by a higher one: humidity
  at 82 % has been above 75 % for as long as it was above 85 %);
- clear: no tier holds any more.

A value between a tier's enter and clear thresholds neither raises nor clears it
(hysteresis). Readings older than the last one evaluated do not move the state (they are
stored, not re-judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telemetry.alert_rules import Condition


class Transition(StrEnum):
    RAISE = "raise"  # no tier held; one holds now
    RISE = "rise"  # a higher tier holds now
    FALL = "fall"  # a lower tier holds now
    CLEAR = "clear"  # no tier holds any more
    PENDING = "pending"  # a tier's timer started
    RESET = "reset"  # a tier's timer stopped before its sustain time


NONE = -1
"""The level of a condition none of whose tiers holds."""

Change = tuple[Transition, int, int]
"""(transition, tier, ms). The tier is the one that holds after a raise, rise or fall, the
one that held before a clear, and the timer's own for pending and reset. ``ms`` is the
measurement time, except for a raise: when the condition began (the earliest start among the
timers of the tiers it raised to)."""


@dataclass(slots=True)
class ConditionState:
    pending: list[int | None]
    """Per tier, when its enter side began to hold (ms), while it does not hold yet."""
    level: int = NONE
    """The tier that holds (its position), or :data:`NONE`."""
    last_ts_ms: int = 0

    @classmethod
    def of(cls, condition: Condition) -> ConditionState:
        return cls([None] * len(condition.tiers))


def step(
    condition: Condition, state: ConditionState, value: float, ts_ms: int
) -> list[Change] | None:
    """Advance ``state`` with one value at ``ts_ms``; returns what changed, None if nothing."""
    if ts_ms < state.last_ts_ms:
        return None
    state.last_ts_ms = ts_ms
    tiers = condition.tiers
    pending = state.pending
    old = level = state.level
    if level != NONE and tiers[level].clears(value):
        level -= 1
        while level != NONE and (not tiers[level].enabled or tiers[level].clears(value)):
            level -= 1
    changes: list[Change] | None = None
    top = level
    for i in range(level + 1, len(tiers)):
        tier = tiers[i]
        since = pending[i]
        if tier.enabled and tier.enters(value):
            if since is None:
                since = pending[i] = ts_ms
                if ts_ms - since < tier.sustain_s * 1000:
                    changes = changes or []
                    changes.append((Transition.PENDING, i, ts_ms))
                    continue
            if ts_ms - since >= tier.sustain_s * 1000:
                top = i
        elif since is not None:
            pending[i] = None
            changes = changes or []
            changes.append((Transition.RESET, i, ts_ms))
    if top == old:
        return changes
    if top > old:
        # The tiers up to the one that holds are held (or implied) now: their timers are done.
        began = min((p for p in pending[: top + 1] if p is not None), default=ts_ms)
        for i in range(top + 1):
            pending[i] = None
        if changes:
            changes = [c for c in changes if c[1] > top]
        changes = changes or []
        if old == NONE:
            changes.append((Transition.RAISE, top, began))
        else:
            changes.append((Transition.RISE, top, ts_ms))
    else:
        changes = changes or []
        if top == NONE:
            changes.append((Transition.CLEAR, old, ts_ms))
        else:
            changes.append((Transition.FALL, top, ts_ms))
    state.level = top
    return changes
