"""Tables of the SQL telemetry store (the embedded default) and of rejected readings.

Times are epoch milliseconds (UTC) in BIGINT columns: compact, index-friendly and the
same on SQLite and PostgreSQL. One row per (sensor, measurement time): a re-delivered
reading overwrites itself.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the telemetry tables."""


class ReadingRow(Base):
    __tablename__ = "telemetry_readings"
    __table_args__ = (Index("ix_telemetry_readings_shelter_ts", "shelter_code", "ts_ms"),)

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
