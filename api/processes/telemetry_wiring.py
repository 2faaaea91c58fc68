"""Where telemetry meets the register: the sensor directory read from ``inspection``, and the
construction of the reading store, reject store, spool and pipeline from the settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings
from api.state import Clock
from inspection.registry import sensor_placements
from telemetry.alert_transitions import AlertTransitions
from telemetry.directory import CachedDirectory
from telemetry.durable import DurableStore
from telemetry.errors import TelemetryError
from telemetry.evaluation import AlertEvaluator
from telemetry.influx_store import InfluxStore
from telemetry.ingest import Pipeline
from telemetry.intake import Intake
from telemetry.metrics import IngestMetrics
from telemetry.mqtt import BrokerAddress, MqttSubscriber
from telemetry.ports import Placement, ReadingStore, RejectStore
from telemetry.spool import Spool
from telemetry.sql_store import SqlReadingStore, SqlRejectStore
from telemetry.validation import IngestLimits, Validator

log = logging.getLogger(__name__)


def register_loader(sessions: sessionmaker[Session]) -> Callable[[], list[Placement]]:
    """Reads every active sensor's placement from the register (one short transaction)."""

    def load() -> list[Placement]:
        with sessions() as session:
            return sensor_placements(session, Placement)

    return load


def build_reading_store(settings: Settings, engine: Engine) -> ReadingStore:
    """InfluxDB when ``SHELTERWATCH_INFLUX_URL`` is set, else the SQL telemetry store."""
    if settings.influx_url:
        return InfluxStore(
            settings.influx_url,
            settings.influx_token.get_secret_value(),
            settings.influx_org,
            settings.influx_bucket,
        )
    return SqlReadingStore(engine)


def build_reject_store(settings: Settings, engine: Engine) -> RejectStore:
    return SqlRejectStore(engine, settings.reject_store_max)


@dataclass(frozen=True)
class IngestParts:
    """What an ingester runs, each part built once and passed to the next."""

    directory: CachedDirectory
    spool: Spool
    durable: DurableStore
    intake: Intake
    subscriber: MqttSubscriber
    evaluator: AlertEvaluator
    pipeline: Pipeline


class IngestService:
    """The running ingester: sensor directory, pipeline and MQTT subscriber together."""

    def __init__(self, parts: IngestParts, store: ReadingStore) -> None:
        self.parts = parts
        self.subscriber = parts.subscriber
        self.store = store

    def start(self) -> None:
        self.parts.directory.start()
        self.parts.evaluator.start()
        self.parts.pipeline.start()
        self.subscriber.start()

    def stop(self) -> None:
        """Flush and acknowledge what is queued, then disconnect."""
        self.parts.pipeline.stop()
        self.subscriber.stop()
        self.parts.evaluator.stop()
        self.parts.directory.stop()
        log.info("ingester stopped; %d records left in the spool", self.parts.spool.depth)

    def checks(self) -> dict[str, str]:
        """Readiness: the broker connection and the reading store, checked now, and whether
        the spool's replay is failing (the store may answer its health check yet refuse
        writes)."""
        out = {"broker": "ok" if self.subscriber.connected.is_set() else "disconnected"}
        try:
            self.store.check()
            out["reading_store"] = "ok"
        except TelemetryError as exc:
            out["reading_store"] = f"error: {exc.message}"
        durable = self.parts.durable
        out["spool_replay"] = (
            f"failing: {durable.replay_failures} attempts in a row, next in "
            f"{durable.retry_in_s:.0f}s"
            if durable.replay_failures
            else "ok"
        )
        out["spool_depth"] = str(self.parts.spool.depth)
        return out


def build_ingest_service(
    settings: Settings,
    *,
    store: ReadingStore,
    rejects: RejectStore,
    sessions: sessionmaker[Session],
    metrics: IngestMetrics,
    clock: Clock,
    broker_url: str,
    transitions: AlertTransitions,
    protocol: str | None = None,
    on_events: Callable[[], None] | None = None,
    on_rollback: Callable[[], None] | None = None,
) -> IngestService:
    directory = CachedDirectory(
        register_loader(sessions),
        refresh_s=settings.directory_refresh_seconds,
        on_failure=metrics.directory_failures.inc,
    )
    spool = Spool(settings.resolved_spool_dir(), max_bytes=settings.spool_max_bytes)
    durable = DurableStore(
        store=store,
        rejects=rejects,
        spool=spool,
        metrics=metrics,
        batch_size=settings.batch_size,
        raw_limit=IngestLimits().raw_limit,
        retry_s=1.0,
    )
    intake = Intake(
        batch_size=settings.batch_size, batch_interval_s=settings.batch_interval_ms / 1000
    )
    subscriber = MqttSubscriber(
        BrokerAddress.parse(broker_url),
        client_id=settings.mqtt_client_id,
        on_deliveries=intake.submit_many,
        wait_for_room=intake.wait_for_room,
        protocol=protocol or settings.mqtt_protocol,
        receive_maximum=settings.mqtt_receive_maximum,
        shared_group=settings.mqtt_shared_group,
        clock=clock,
        on_connection_change=lambda up: metrics.broker_connected.set(1 if up else 0),
    )
    evaluator = AlertEvaluator(
        sessions,
        directory,
        transitions,
        clock=clock,
        late_after=timedelta(minutes=settings.alert_late_after_minutes),
        on_events=on_events,
        on_rollback=on_rollback,
        on_shed=metrics.evaluation_shed.inc,
    )
    pipeline = Pipeline(
        intake=intake,
        validator=Validator(
            directory, IngestLimits(retention=timedelta(days=settings.retention_days))
        ),
        durable=durable,
        acker=subscriber,
        metrics=metrics,
        clock=clock,
        writers=settings.store_writers,
        observers=(evaluator,),
    )
    parts = IngestParts(directory, spool, durable, intake, subscriber, evaluator, pipeline)
    return IngestService(parts, store)
