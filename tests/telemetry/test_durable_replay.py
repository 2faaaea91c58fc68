"""Replaying the spool when the store answers its health check but refuses writes: the
replay backs off exponentially with jitter, says so in the log once, and shows its state
in metrics; it resumes and resets once the store takes writes again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telemetry.durable import DurableStore
from telemetry.errors import StoreUnavailable
from telemetry.metrics import IngestMetrics
from telemetry.readings import Reading
from telemetry.spool import Spool
from tests.telemetry.fakes import NullStore

T0 = datetime(2026, 6, 1, tzinfo=UTC)


class RefusingStore(NullStore):
    """Answers its health check, refuses every write (a proxy answering 500 to writes)."""

    def __init__(self) -> None:
        self.refuse = True
        self.written: list[Reading] = []

    def write(self, readings: Sequence[Reading]) -> None:
        if self.refuse:
            raise StoreUnavailable("HTTP 500 from the store")
        self.written.extend(readings)


class StopAfter(threading.Event):
    """An event the replay loop waits on; records each wait and is set after ``n`` waits."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.n:
            self.set()
        return self.is_set()


def durable(
    tmp_path: Path, store: RefusingStore, stopped: threading.Event, jitter: float = 1.0
) -> DurableStore:
    spool = Spool(tmp_path / "spool", max_bytes=10_000_000)
    spool.append([Reading("SH-1", "S-1", T0, temperature=20.0)])
    return DurableStore(
        store=store,
        rejects=store,
        spool=spool,
        metrics=IngestMetrics(),
        stopped=stopped,
        batch_size=100,
        raw_limit=1000,
        retry_s=1.0,
        retry_max_s=8.0,
        jitter=lambda: jitter,
    )


def sample(d: DurableStore, name: str) -> float | None:
    return d.metrics.registry.get_sample_value(name)


def test_replay_backs_off_and_logs_the_outage_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RefusingStore()
    stopped = StopAfter(6)
    d = durable(tmp_path, store, stopped, jitter=1.0)
    with caplog.at_level(logging.INFO, logger="telemetry.durable"):
        d.store_ok = False  # a live write failed: the loop checks the store first
        d.replay_loop()
    assert stopped.waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]  # doubling, capped, never 0
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 500" in warnings[0].getMessage()
    assert d.replay_failures == 6
    assert sample(d, "shelterwatch_ingest_replay_retry_seconds") == 8.0
    assert d.spool.depth == 1  # nothing lost


def test_jitter_spreads_the_wait_over_the_upper_half(tmp_path: Path) -> None:
    store = RefusingStore()
    d = durable(tmp_path, store, StopAfter(100), jitter=0.0)
    waits = []
    for _ in range(5):
        assert d.replay_once() == 0
        waits.append(d.retry_in_s)
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_replay_resumes_and_resets_when_the_store_takes_writes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RefusingStore()
    d = durable(tmp_path, store, StopAfter(100))
    for _ in range(3):
        d.replay_once()
    store.refuse = False
    with caplog.at_level(logging.INFO, logger="telemetry.durable"):
        assert d.replay_once() == 1
    assert [r.temperature for r in store.written] == [20.0]
    assert d.replay_failures == 0
    assert d.retry_in_s == 0.0
    assert sample(d, "shelterwatch_ingest_replay_retry_seconds") == 0.0
    assert sample(d, "shelterwatch_ingest_replay_failures_total") == 3
    assert any("resumed after 3" in r.getMessage() for r in caplog.records)
