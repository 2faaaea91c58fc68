"""The objects one API process shares: settings, database, stores, policy and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings
from inspection.grading import FollowupPolicy
from telemetry.ports import ReadingStore, RejectStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: FollowupPolicy
    signing_key: str
    readings: ReadingStore
    rejects: RejectStore
    clock: Clock = utc_now
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
