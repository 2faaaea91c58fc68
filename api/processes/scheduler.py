"""Periodic jobs of the server: the inspection tick (reminders, escalations, the compliance
snapshot), the alert tick (offline sensors, escalation, re-notification) and the retention
job (built in :mod:`api.processes.telemetry_wiring`), and what they
show on ``/metrics``: escalations of both kinds, and live follow-ups past their deadline by
class, counted when scraped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.alerting.jobs import AlertTickReport
from api.db import unit_of_work
from api.state import AppState
from inspection import tick
from inspection.models import Followup, FollowupStatus

log = logging.getLogger(__name__)

CLASSES = ("1", "2", "3", "4")


class OverdueFollowups(Collector):
    """``shelterwatch_followups_overdue{class}``: live follow-ups past their deadline, by the
    class that set them, counted at the clock of the scrape (one grouped query). A scrape
    while the database is away shows none of it rather than failing the rest."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    def describe(self) -> Iterator[Metric]:
        return iter(())  # counted only when scraped, never at registration

    def collect(self) -> Iterator[Metric]:
        try:
            with unit_of_work(self.state.sessions, read_only=True) as session:
                rows = session.execute(
                    select(Followup.class_level, func.count())
                    .where(
                        Followup.status == FollowupStatus.OPEN.value,
                        Followup.due_at < self.state.clock(),
                    )
                    .group_by(Followup.class_level)
                ).all()
        except SQLAlchemyError:
            log.warning("overdue follow-ups not counted: the database did not answer")
            return
        counts = {str(level): n for level, n in rows}
        family = GaugeMetricFamily(
            "shelterwatch_followups_overdue",
            "live follow-ups past their deadline, by the class that set them",
            labels=["class"],
        )
        for level in CLASSES:
            family.add_metric([level], counts.get(level, 0))
        yield family


class JobMetrics:
    """Escalations counted after each pass commits, and the overdue gauge."""

    def __init__(self, state: AppState) -> None:
        self.alert_escalations = Counter(
            "shelterwatch_alert_escalations",
            "escalation steps of unacknowledged critical alerts (each notifies the next level)",
            registry=state.metrics,
        )
        self.followup_escalations = Counter(
            "shelterwatch_followup_escalations",
            "follow-ups escalated to a higher class for being overdue",
            registry=state.metrics,
        )
        state.metrics.register(OverdueFollowups(state))

    def tick(self, report: tick.TickReport) -> tick.TickReport:
        self.followup_escalations.inc(report.escalations)
        return report

    def alerts(self, report: AlertTickReport) -> AlertTickReport:
        self.alert_escalations.inc(report.escalated)
        return report


def run_tick(state: AppState) -> tick.TickReport:
    """One inspection pass in its own transaction (``shelterwatch tick`` runs just this)."""
    with unit_of_work(state.sessions) as session:
        report = tick.run(
            session, now=state.clock(), policy=state.policy, tz=state.settings.timezone
        )
    log.info("tick: %s", report)
    return report


class Periodic(threading.Thread):
    """Runs ``job`` every ``interval`` seconds until stopped; an error in one pass is logged
    and the next pass runs as usual (every job here is idempotent)."""

    def __init__(
        self,
        name: str,
        job: Callable[[], object],
        interval: float,
        *,
        first_after: float | None = None,
    ) -> None:
        """`first_after`: seconds before the first pass (default: `interval`)."""
        super().__init__(name=name, daemon=True)
        self.job = job
        self.interval = interval
        self.first_after = interval if first_after is None else first_after
        self._stop_event = threading.Event()

    def run(self) -> None:
        wait = self.first_after
        while not self._stop_event.wait(wait):
            wait = self.interval
            try:
                self.job()
            except Exception:
                log.exception("%s failed; retrying at the next interval", self.name)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
