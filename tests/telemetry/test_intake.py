"""The intake alone: batches taken full, or once the oldest message has waited its interval
(on an injected monotonic clock), bounded by count and bytes, drained at stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from telemetry.intake import Delivery, Intake
from tests.conftest import FakeMonotonic

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def deliveries(n: int, size: int = 10, start: int = 0) -> list[Delivery]:
    return [
        Delivery(f"shelters/SH-1/S-{i}/telemetry", b"x" * size, start + i, 1, 0, NOW)
        for i in range(n)
    ]


def test_a_full_batch_is_taken_at_once_in_arrival_order() -> None:
    intake = Intake(batch_size=4, batch_interval_s=3600.0, monotonic=FakeMonotonic())
    intake.submit_many(deliveries(6))
    assert [d.mid for d in intake.take() or []] == [0, 1, 2, 3]
    assert len(intake) == 2


def test_a_partial_batch_waits_for_the_oldest_message_interval() -> None:
    monotonic = FakeMonotonic(5.0)
    intake = Intake(batch_size=100, batch_interval_s=0.1, monotonic=monotonic)
    intake.submit_many(deliveries(3))
    monotonic.advance(0.1)  # the oldest has waited its interval: no further wait
    assert [d.mid for d in intake.take() or []] == [0, 1, 2]


def test_the_intake_is_bounded_by_count_and_by_bytes() -> None:
    intake = Intake(batch_size=10, batch_interval_s=0.1, max_queued=5, max_queued_bytes=1000)
    intake.submit_many(deliveries(4))
    assert intake.wait_for_room(0.0)
    intake.submit_many(deliveries(1, start=4))
    assert not intake.wait_for_room(0.0)  # five messages: read no more
    bytes_bound = Intake(batch_size=10, batch_interval_s=0.1, max_queued_bytes=1000)
    bytes_bound.submit_many(deliveries(2, size=500))
    assert not bytes_bound.wait_for_room(0.0)
    assert [d.mid for d in bytes_bound.take() or []] == [0, 1]  # a full intake goes at once
    assert bytes_bound.wait_for_room(0.0)


def test_stop_hands_out_what_is_queued_then_nothing() -> None:
    intake = Intake(batch_size=10, batch_interval_s=3600.0, monotonic=FakeMonotonic())
    intake.submit_many(deliveries(2))
    intake.stop()
    intake.submit_many(deliveries(2, start=2))  # ignored: the broker keeps them
    assert [d.mid for d in intake.take() or []] == [0, 1]
    assert intake.take() is None
    assert intake.wait_for_room(0.0)  # a stopping intake never holds the reader


def test_a_free_writer_takes_what_is_queued_at_once() -> None:
    """Adaptive batching: nothing waits for company while a writer is free."""
    intake = Intake(batch_size=100, batch_interval_s=3600.0, monotonic=FakeMonotonic())
    intake.submit_many(deliveries(2))
    assert [d.mid for d in intake.take(fill=lambda: False) or []] == [0, 1]


def test_a_batch_filling_while_writers_are_busy_goes_when_one_frees() -> None:
    intake = Intake(batch_size=100, batch_interval_s=3600.0, monotonic=FakeMonotonic())
    busy = threading.Event()
    busy.set()
    taken: list[list[Delivery] | None] = []
    intake.submit_many(deliveries(2))
    worker = threading.Thread(target=lambda: taken.append(intake.take(fill=busy.is_set)))
    worker.start()
    intake.submit_many(deliveries(3, start=2))  # joins the batch being filled
    worker.join(0.2)
    assert worker.is_alive()  # filling: the writers are busy and the hour has not passed
    busy.clear()
    intake.wake()  # a writer finished
    worker.join(10)
    assert not worker.is_alive()
    [batch] = taken
    assert batch is not None
    assert [d.mid for d in batch][:2] == [0, 1]  # taken without waiting out the hour
    assert len(batch) + len(intake) == 5
