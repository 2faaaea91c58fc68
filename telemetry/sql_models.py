"""Tables of the SQL telemetry store (the embedded default) and of rejected readings.

Times are epoch milliseconds (UTC) in BIGINT columns: compact, index-friendly and the
same on SQLite and PostgreSQL. One row per (sensor, measurement time): a re-delivered
reading overwrites itself.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the telemetry tables."""


class ReadingRow(Base):
    __tablename__ = "telemetry_readings"
    __table_args__ = (
        Index("ix_telemetry_readings_shelter_ts", "shelter_code", "ts_ms"),
        Index("ix_telemetry_readings_shelter_sensor_ts", "shelter_code", "sensor_id", "ts_ms"),
    )

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shelter_code: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64), default="")
    zone: Mapped[str] = mapped_column(String(64), default="")
    temperature: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)
    fire_risk: Mapped[float | None] = mapped_column(Float)
    fire_risk_version: Mapped[str | None] = mapped_column(String(16))
    smoke: Mapped[bool | None] = mapped_column(Boolean)
    water_leak: Mapped[bool | None] = mapped_column(Boolean)
    co: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
    dew_point: Mapped[float | None] = mapped_column(Float)
    stored_at_ms: Mapped[int] = mapped_column(BigInteger)


class RejectRow(Base):
    __tablename__ = "telemetry_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    topic: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    batch_index: Mapped[int | None] = mapped_column(Integer)
    reingested_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    """When an operator's re-ingestion stored what this row refused; null while it stays
    refused."""


class SensorLiveRow(Base):
    """The newest values of each sensor and when it was last heard from (data, not
    keep-alives): kept by the ingester for the joined views and offline detection."""

    __tablename__ = "sensor_live"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shelter_code: Mapped[str] = mapped_column(String(64), index=True)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger)
    temperature: Mapped[float | None] = mapped_column(Float)
    humidity: Mapped[float | None] = mapped_column(Float)
    fire_risk: Mapped[float | None] = mapped_column(Float)
    dew_point: Mapped[float | None] = mapped_column(Float)
    battery: Mapped[float | None] = mapped_column(Float)
    water_leak: Mapped[bool | None] = mapped_column(Boolean)
    """True when the newest reading reported water (水浸), false dry, None not reported."""
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """An alert on one sensor and condition: active → acknowledged → cleared, or resolved by
    hand; its ``rule`` and ``severity`` are those of the condition's tier that holds.

    At most one alert per (sensor, condition) holds (``condition_holds``: from its raise until
    the condition clears, also when resolved by hand before), enforced by a partial unique
    index so that several ingester processes cannot raise two."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_holding_sensor_condition",
            "sensor_id",
            "condition",
            unique=True,
            postgresql_where=text("condition_holds"),
            sqlite_where=text("condition_holds = 1"),
        ),
        Index("ix_alerts_shelter_status", "shelter_code", "status"),
        Index("ix_alerts_status_severity", "status", "severity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sensor_id: Mapped[str] = mapped_column(String(64))
    shelter_code: Mapped[str] = mapped_column(String(64))
    district: Mapped[str] = mapped_column(String(64), default="")
    zone: Mapped[str] = mapped_column(String(64), default="")
    condition: Mapped[str] = mapped_column(String(40), server_default="")
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    condition_since_ms: Mapped[int] = mapped_column(BigInteger)
    severity_since_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    """When the alert reached its present severity (escalation counts from it)."""
    condition_holds: Mapped[bool] = mapped_column(Boolean, server_default=false())
    acknowledged_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    cleared_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolve_note: Mapped[str] = mapped_column(Text, default="")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    last_notified_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)


class AlertStateRow(Base):
    """How long one tier (``rule``) of a condition has been entered on one sensor: survives
    an ingester restart and is shared by several ingester processes."""

    __tablename__ = "alert_state"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    pending_since_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_ts_ms: Mapped[int] = mapped_column(BigInteger)
    last_notice_ms: Mapped[int | None] = mapped_column(BigInteger)


class AlertRuleRow(Base):
    """An override of one tier (``rule``) of a default condition for a scope: a shelter, a
    zone name, a sensor, or shelters of a current class."""

    __tablename__ = "alert_rules"
    __table_args__ = (Index("uq_alert_rules_scope", "rule", "scope", "scope_value", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(16))  # shelter | zone | sensor | class
    scope_value: Mapped[str] = mapped_column(String(64))
    enter: Mapped[float | None] = mapped_column(Float)
    clear: Mapped[float | None] = mapped_column(Float)
    sustain_s: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool | None] = mapped_column(Boolean)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
