"""The monitoring side of the monthly report (:mod:`inspection.monthly`): sensor coverage
from the register's sensors and the reading store, alerts from the alert records.

A shelter *has sensors* when it has an active sensor; it *reports* when the reading store
holds a reading of one of its sensors within the period (one ``hourly_counts`` query per such
shelter); alerts are those raised within the period (``raised_at``), by severity, the sensor
offline alerts included. A reading store that does not answer leaves ``shelters_reporting``
unknown rather than failing the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection.models import Sensor, Shelter
from inspection.monthly import SEVERITIES, Monitoring
from telemetry.errors import StoreUnavailable
from telemetry.instants import to_ms
from telemetry.ports import ReadingStore
from telemetry.sql_models import AlertRow


class TelemetryMonitoring:
    """:class:`inspection.monthly.MonitoringPort` over the records database and the reading
    store."""

    def __init__(self, session: Session, readings: ReadingStore, *, now: datetime) -> None:
        self._session = session
        self._readings = readings
        self._now = now

    def monitoring(
        self, shelter_codes: Sequence[str], start: datetime, end: datetime
    ) -> Monitoring:
        codes = list(shelter_codes)
        with_sensors = list(
            self._session.scalars(
                select(Shelter.code)
                .join(Sensor, Sensor.shelter_id == Shelter.id)
                .where(Shelter.code.in_(codes), Sensor.active.is_(True))
                .group_by(Shelter.code)
                .order_by(Shelter.code)
            )
        )
        until = min(end, self._now)
        reporting: int | None = 0
        try:
            for code in with_sensors:
                counts = self._readings.hourly_counts(code, start, until) if until > start else {}
                if any(counts.values()):
                    reporting = (reporting or 0) + 1
        except StoreUnavailable:
            reporting = None
        alerts = dict.fromkeys(SEVERITIES, 0)
        for severity, n in self._session.execute(
            select(AlertRow.severity, func.count())
            .where(
                AlertRow.shelter_code.in_(codes),
                AlertRow.raised_at_ms >= to_ms(start),
                AlertRow.raised_at_ms < to_ms(end),
            )
            .group_by(AlertRow.severity)
        ):
            alerts[severity] = alerts.get(severity, 0) + n
        return Monitoring(
            shelters_with_sensors=len(with_sensors),
            shelters_reporting=reporting,
            alerts=alerts,
        )
