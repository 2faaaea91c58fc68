"""The periodic alert job: sensors gone silent and back, escalation of unacknowledged
critical alerts, and re-notification (the rules and the transitions are those of
:class:`telemetry.alert_transitions.AlertTransitions`; the register's sensors are read here).
Runs in the API process beside the inspection tick; idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from api.db import unit_of_work
from api.state import AppState
from inspection.registry import watched_sensors
from telemetry.alert_transitions import AlertTransitions
from telemetry.ports import WatchedSensor

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AlertTickReport:
    offline_raised: int = 0
    offline_cleared: int = 0
    escalated: int = 0
    renotified: int = 0


def run_alert_tick(state: AppState, transitions: AlertTransitions) -> AlertTickReport:
    """One pass in its own transaction."""
    now = state.clock()
    s = state.settings
    with unit_of_work(state.sessions) as session:
        offline = transitions.sweep_offline(
            session, watched_sensors(session, WatchedSensor), now=now
        )
        escalation = transitions.sweep_unacknowledged(
            session,
            now=now,
            escalate_after=timedelta(minutes=s.alert_escalate_after_minutes),
            renotify=timedelta(minutes=s.alert_renotify_minutes),
        )
    report = AlertTickReport(*offline, *escalation)
    if report.offline_raised or report.offline_cleared or report.escalated or report.renotified:
        log.info("alert tick: %s", report)
    return report
