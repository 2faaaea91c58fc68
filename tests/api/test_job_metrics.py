"""The periodic jobs on ``/metrics``: follow-ups past their deadline by class (counted at the
clock of the scrape), follow-ups escalated by the tick, alert escalation steps."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from prometheus_client import CollectorRegistry

from api.alerting.jobs import AlertTickReport
from api.processes.scheduler import JobMetrics, run_tick
from api.state import AppState
from tests.api.conftest import CODE, World
from tests.conftest import FakeClock


def overdue(registry: CollectorRegistry) -> dict[str, float]:
    return {
        level: registry.get_sample_value("shelterwatch_followups_overdue", {"class": level}) or 0
        for level in ("1", "2", "3", "4")
    }


def test_overdue_follow_ups_by_class_and_escalations(
    world: World, state: AppState, clock: FakeClock
) -> None:
    counted = dataclasses.replace(state, metrics=CollectorRegistry())
    jobs = JobMetrics(counted)
    issued = clock.now
    world.api.inspect(world.inspector, CODE, "DOOR-NOT-CLOSING")  # class 3: a ledger, 30 days

    clock.now = issued + timedelta(days=29)
    assert overdue(counted.metrics) == {"1": 0, "2": 0, "3": 0, "4": 0}
    clock.now = issued + timedelta(days=31)
    assert overdue(counted.metrics) == {"1": 0, "2": 0, "3": 1, "4": 0}  # at the scrape's clock

    clock.now = issued + timedelta(days=60)  # 30 days late: key supervision takes over
    assert jobs.tick(run_tick(counted)).escalations == 1
    assert counted.metrics.get_sample_value("shelterwatch_followup_escalations_total") == 1
    assert overdue(counted.metrics) == {"1": 0, "2": 0, "3": 0, "4": 0}

    jobs.alerts(AlertTickReport(escalated=2))
    assert counted.metrics.get_sample_value("shelterwatch_alert_escalations_total") == 2
