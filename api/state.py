"""The objects one API process shares: settings, database, stores, policy and the clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import read_only_options
from api.notify.addresses import Resolver, system_resolver
from api.settings import Settings
from inspection.files import FileStore
from inspection.grading import FollowupPolicy
from telemetry.ports import DeviceCredentials, ReadingStore, RejectStore

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


DECODE_SLOTS = 2
"""Uploaded images decoded at once in one process: each can take a few hundred MB."""


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    policy: FollowupPolicy
    signing_key: str
    readings: ReadingStore
    rejects: RejectStore
    files: FileStore
    clock: Clock = utc_now
    monotonic: Callable[[], float] = time.monotonic
    """Measures intervals (an import's time limit); tests move it by hand."""
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    decode_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(DECODE_SLOTS)
    )
    resolver: Resolver = system_resolver
    """Resolves the host names of channel URLs (tests answer from a table)."""
    devices: DeviceCredentials | None = None
    """Where sensors' broker accounts are issued; None when the operator keeps them."""
    upload_refusals: Counter = field(init=False)
    """Uploaded files and upload requests refused, by error code."""
    read_engine: Engine = field(init=False)
    """``engine`` with the options of a read-only unit of work (:func:`api.db.read_only_options`),
    on the same pool: a session bound to it reads that way from its first statement."""

    def __post_init__(self) -> None:
        self.read_engine = self.engine.execution_options(**read_only_options(self.engine))
        self.upload_refusals = Counter(
            "shelterwatch_uploads_refused",
            "uploaded files or upload requests refused, by error code",
            ["reason"],
            registry=self.metrics,
        )
