"""The pipeline's intake: deliveries queued in groups, the queue bounded while the store is
slow (the MQTT side then stops reading), and everything stored and acknowledged in order
once it catches up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telemetry.durable import DurableStore
from telemetry.errors import StoreRejected, StoreUnavailable
from telemetry.ingest import Pipeline
from telemetry.intake import AckRef, Delivery, Intake
from telemetry.metrics import IngestMetrics
from telemetry.readings import Reading, Rejection, RejectReason
from telemetry.sim_model import Fleet
from telemetry.spool import Spool
from telemetry.validation import Validator
from tests.telemetry.fakes import NullStore
from tests.waiting import wait_until

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


class _GatedStore(NullStore):
    """A reading store whose writes wait until the gate opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.written: list[Reading] = []
        self.writes = 0
        self._lock = threading.Lock()

    def _count_write(self) -> bool:
        """Count a write (writers run at once); whether it is the first."""
        with self._lock:
            self.writes += 1
            return self.writes == 1

    def write(self, readings: Sequence[Reading]) -> None:
        self._count_write()
        assert self.gate.wait(10), "gate never opened"
        self.written.extend(readings)


class _Acks:
    def __init__(self) -> None:
        self.mids: list[int] = []

    def ack(self, refs: Sequence[AckRef]) -> None:
        self.mids.extend(mid for mid, _qos, _generation in refs)


def _pipeline(
    tmp_path: Path, fleet: Fleet, store: NullStore, acks: _Acks, **options: Any
) -> Pipeline:
    """A pipeline of its real parts over ``store``; ``options`` tune the intake (batch_size,
    batch_interval_s, max_queued, max_queued_bytes), the writers and the retry interval."""
    metrics = IngestMetrics()
    retry_s = options.pop("retry_s", 1.0)
    intake_options = {"batch_size": 10, "batch_interval_s": 0.01}
    for key in ("batch_size", "batch_interval_s", "max_queued", "max_queued_bytes"):
        if key in options:
            intake_options[key] = options.pop(key)
    intake = Intake(**intake_options)
    durable = DurableStore(
        store=store,
        rejects=store,
        spool=options.pop("spool", None) or Spool(tmp_path / "spool", max_bytes=1 << 20),
        metrics=metrics,
        batch_size=intake.batch_size,
        raw_limit=2048,
        retry_s=retry_s,
    )
    return Pipeline(
        intake=intake,
        validator=Validator(fleet),
        durable=durable,
        acker=acks,
        metrics=metrics,
        clock=lambda: NOW,
        retry_s=retry_s,
        **options,
    )


def _deliveries(fleet: Fleet, n: int) -> list[Delivery]:
    out = []
    for i in range(n):
        s = fleet.sensors[i % len(fleet.sensors)]
        ts = NOW - timedelta(seconds=n - i)
        payload = json.dumps(
            {"ts": int(ts.timestamp() * 1000), "temperature": 18.5, "humidity": 61.0}
        )
        topic = f"shelters/{s.shelter_code}/{s.sensor_id}/telemetry"
        out.append(Delivery(topic, payload.encode(), i + 1, 1, 0, NOW))
    return out


def test_a_slow_store_bounds_the_intake_and_loses_nothing(tmp_path: Path) -> None:
    fleet = Fleet.generate(2, 3, 0)
    store = _GatedStore()
    acks = _Acks()
    pipeline = _pipeline(tmp_path, fleet, store, acks, max_queued=20, writers=2)
    pipeline.start()
    try:
        deliveries = _deliveries(fleet, 100)
        assert pipeline.intake.wait_for_room(0.0)
        for i in range(0, 100, 25):
            pipeline.intake.submit_many(deliveries[i : i + 25])
        # Two chunks in the store (two writers), one handed off, one being validated: the
        # rest waits.
        wait_until(lambda: store.writes == 2, 5, "the first writes")
        time.sleep(0.2)
        started = time.monotonic()
        assert not pipeline.intake.wait_for_room(0.1)
        assert time.monotonic() - started >= 0.09  # it waited before saying no
        assert acks.mids == []
        store.gate.set()
        wait_until(lambda: len(acks.mids) == 100, 10, "every message acknowledged")
        assert pipeline.intake.wait_for_room(0.0)
        assert acks.mids == list(range(1, 101))
        assert len(store.written) == 100
    finally:
        store.gate.set()
        pipeline.stop()
    assert pipeline.durable.spool.depth == 0


def test_submit_many_with_nothing_and_after_stop_queues_nothing(tmp_path: Path) -> None:
    fleet = Fleet.generate(1, 1, 0)
    store = _GatedStore()
    store.gate.set()
    acks = _Acks()
    pipeline = _pipeline(tmp_path, fleet, store, acks)
    pipeline.start()
    pipeline.intake.submit_many([])
    pipeline.intake.submit_many(_deliveries(fleet, 3))
    wait_until(lambda: len(acks.mids) == 3, 5, "three acknowledged")
    pipeline.stop()
    pipeline.intake.submit_many(_deliveries(fleet, 3))  # ignored: the broker keeps them
    assert pipeline.intake.wait_for_room(0.0)  # a stopping pipeline never holds the reader
    assert acks.mids == [1, 2, 3]
    assert len(store.written) == 3
    assert pipeline.durable.spool.depth == 0


class _SecondFirstStore(_GatedStore):
    """The first write finishes only after a later one has: stores complete out of order."""

    def __init__(self) -> None:
        super().__init__()
        self.gate.set()
        self.later_done = threading.Event()

    def write(self, readings: Sequence[Reading]) -> None:
        first = self._count_write()
        if first:
            assert self.later_done.wait(10), "no later write finished"
        self.written.extend(readings)
        if not first:
            self.later_done.set()


def test_writes_finishing_out_of_order_are_acknowledged_in_order(tmp_path: Path) -> None:
    fleet = Fleet.generate(2, 3, 0)
    store = _SecondFirstStore()
    acks = _Acks()
    pipeline = _pipeline(tmp_path, fleet, store, acks, writers=2)
    pipeline.start()
    try:
        pipeline.intake.submit_many(_deliveries(fleet, 40))
        wait_until(lambda: len(acks.mids) == 40, 10, "every message acknowledged")
        assert store.writes >= 2
        assert acks.mids == list(range(1, 41))  # chunk order, whatever order the writes ended
    finally:
        pipeline.stop()
    assert pipeline.durable.spool.depth == 0


class _DownStore(_GatedStore):
    """Unreachable; the first write takes longest to fail, so later chunks fail first."""

    def write(self, readings: Sequence[Reading]) -> None:
        if self._count_write():
            time.sleep(0.3)
        raise StoreUnavailable("connection refused")

    def check(self) -> None:
        raise StoreUnavailable("connection refused")


def test_chunks_spooled_by_several_writers_keep_their_order(tmp_path: Path) -> None:
    fleet = Fleet.generate(2, 3, 0)
    store = _DownStore()
    acks = _Acks()
    spool = Spool(tmp_path / "spool", max_bytes=1 << 22)
    pipeline = _pipeline(tmp_path, fleet, store, acks, spool=spool, writers=2, retry_s=0.05)
    pipeline.start()
    deliveries = _deliveries(fleet, 60)
    try:
        pipeline.intake.submit_many(deliveries)
        wait_until(lambda: len(acks.mids) == 60, 10, "every message acknowledged once spooled")
    finally:
        pipeline.stop()
    assert acks.mids == list(range(1, 61))
    spooled: list[datetime] = []
    while (item := spool.peek(1000)) is not None:
        frame, pos = item
        spooled.extend(r.ts for r in frame.readings)
        spool.commit(pos, frame)
    assert len(spooled) == 60
    assert spooled == sorted(spooled)  # arrival order: the deliveries are in time order


def _big_deliveries(fleet: Fleet, n: int, per_message: int) -> list[Delivery]:
    """Gateway messages of ``per_message`` readings each."""
    out = []
    for i in range(n):
        s = fleet.sensors[i % len(fleet.sensors)]
        first = NOW - timedelta(seconds=(n - i) * per_message)
        batch = [
            {
                "ts": int((first + timedelta(seconds=k)).timestamp() * 1000),
                "temperature": 18.5,
                "humidity": 61.0,
            }
            for k in range(per_message)
        ]
        topic = f"shelters/{s.shelter_code}/{s.sensor_id}/telemetry"
        out.append(Delivery(topic, json.dumps(batch).encode(), i + 1, 1, 0, NOW))
    return out


def test_a_full_intake_by_bytes_stops_reading_and_is_taken_at_once(tmp_path: Path) -> None:
    fleet = Fleet.generate(2, 3, 0)
    store = _GatedStore()
    store.gate.set()
    acks = _Acks()
    pipeline = _pipeline(
        tmp_path,
        fleet,
        store,
        acks,
        batch_size=100_000,
        batch_interval_s=5.0,  # a worker waiting for a full batch would wait this long
        max_queued_bytes=20_000,
    )
    pipeline.start()
    try:
        big = _big_deliveries(fleet, 8, 100)  # about 6 kB each
        pipeline.intake.submit_many(big[:4])
        assert not pipeline.intake.wait_for_room(0.0)  # 24 kB queued: read no more
        started = time.monotonic()
        wait_until(lambda: len(acks.mids) == 4, 3, "the full intake taken and stored")
        assert time.monotonic() - started < 2.5
        assert pipeline.intake.wait_for_room(1.0)
        pipeline.intake.submit_many(big[4:])
        wait_until(lambda: len(acks.mids) == 8, 8, "the rest")
        assert len(store.written) == 800
    finally:
        pipeline.stop()
    assert pipeline.durable.spool.depth == 0


class _EncodingStore(_GatedStore):
    """Encodes ahead like InfluxStore; a request holding a reading of the refused sensor is
    refused whole, and a plain write refuses that reading alone."""

    def __init__(self, refused_sensor: str) -> None:
        super().__init__()
        self.refused_sensor = refused_sensor
        self.encoded_writes = 0
        self.stored: list[str] = []
        self.rejected: list[Rejection] = []

    def encode(self, readings: Sequence[Reading]) -> bytes:
        return json.dumps([r.sensor_id for r in readings]).encode()

    def write_encoded(self, body: bytes) -> None:
        self.encoded_writes += 1
        sensors = json.loads(body)
        if self.refused_sensor in sensors:
            raise StoreRejected("field type conflict")
        self.stored.extend(sensors)

    def write(self, readings: Sequence[Reading]) -> None:
        if any(r.sensor_id == self.refused_sensor for r in readings):
            raise StoreRejected("field type conflict")
        self.stored.extend(r.sensor_id for r in readings)

    def add(self, rejects: Sequence[Rejection]) -> None:
        self.rejected.extend(rejects)


def test_a_refused_encoded_request_is_written_again_reading_by_reading(tmp_path: Path) -> None:
    fleet = Fleet.generate(1, 3, 0)
    refused = fleet.sensors[1].sensor_id
    store = _EncodingStore(refused)
    acks = _Acks()
    pipeline = _pipeline(tmp_path, fleet, store, acks, writers=1)
    pipeline.start()
    try:
        pipeline.intake.submit_many(_deliveries(fleet, 9))  # three readings of each sensor
        wait_until(lambda: len(acks.mids) == 9, 5, "every message acknowledged")
    finally:
        pipeline.stop()
    assert store.encoded_writes >= 1
    assert sorted(store.stored) == sorted(
        s.sensor_id for s in fleet.sensors for _ in range(3) if s.sensor_id != refused
    )
    assert [r.reason for r in store.rejected] == [RejectReason.STORE_REJECTED] * 3
    assert pipeline.durable.spool.depth == 0
