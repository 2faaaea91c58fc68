"""Prometheus metrics of ingestion, in a registry owned by the process that exports it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class BrokerMetrics:
    """Counters of the embedded broker's limits (`telemetry.broker_limits`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.packets_refused = Counter(
            "shelterwatch_broker_packets_refused",
            "connections closed by the embedded broker for a packet over the size limit",
            registry=self.registry,
        )
        self.queue_dropped = Counter(
            "shelterwatch_broker_queued_messages_dropped",
            "messages not queued for a disconnected session: its offline queue was full",
            registry=self.registry,
        )


class IngestMetrics:
    """Counters and gauges of the ingester; ``registry`` is what /metrics exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "shelterwatch_ingest_messages", "MQTT messages received", registry=r
        )
        self.received = Counter(
            "shelterwatch_ingest_readings_received",
            "readings parsed from messages (good and bad)",
            registry=r,
        )
        self.stored = Counter(
            "shelterwatch_ingest_readings_stored",
            "readings durably stored in the reading store",
            registry=r,
        )
        self.spooled = Counter(
            "shelterwatch_ingest_readings_spooled",
            "readings written to the local spool while the store was down",
            registry=r,
        )
        self.rejected = Counter(
            "shelterwatch_ingest_readings_rejected",
            "readings or messages rejected, by reason",
            ["reason"],
            registry=r,
        )
        self.acked = Counter(
            "shelterwatch_ingest_messages_acked",
            "messages acknowledged to the broker after storage",
            registry=r,
        )
        self.spool_depth = Gauge(
            "shelterwatch_ingest_spool_depth", "records waiting in the local spool", registry=r
        )
        self.spool_bytes = Gauge(
            "shelterwatch_ingest_spool_bytes", "bytes waiting in the local spool", registry=r
        )
        self.replay_failures = Counter(
            "shelterwatch_ingest_replay_failures",
            "spool replay attempts that failed (the store or its health check refused)",
            registry=r,
        )
        self.replay_retry_seconds = Gauge(
            "shelterwatch_ingest_replay_retry_seconds",
            "current wait before the next spool replay attempt; 0 while replay succeeds",
            registry=r,
        )
        self.store_up = Gauge(
            "shelterwatch_ingest_store_up",
            "1 when the last write to the reading store succeeded",
            registry=r,
        )
        self.broker_connected = Gauge(
            "shelterwatch_ingest_broker_connected",
            "1 while connected to the MQTT broker",
            registry=r,
        )
        self.write_seconds = Histogram(
            "shelterwatch_ingest_write_seconds",
            "duration of one batch write to the store",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.lag_seconds = Histogram(
            "shelterwatch_ingest_lag_seconds",
            "time from a reading's measurement to its storage (oldest reading of each batch)",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
            registry=r,
        )
        self.queue_depth = Gauge(
            "shelterwatch_ingest_queue_depth", "messages received and not yet stored", registry=r
        )
        self.evaluation_shed = Counter(
            "shelterwatch_alert_evaluation_shed_readings",
            "stored readings never judged against alert conditions: the evaluation queue was full",
            registry=r,
        )
        self.directory_failures = Counter(
            "shelterwatch_ingest_directory_failures",
            "failed refreshes of the sensor directory (the last cache stays in use)",
            registry=r,
        )
