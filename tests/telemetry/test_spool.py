"""The durable spool: order, survival across reopen, torn frames, bounds and rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from telemetry import spool as spool_module
from telemetry.errors import SpoolFull
from telemetry.readings import Reading, Rejection, RejectReason
from telemetry.spool import Spool

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def reading(i: int) -> Reading:
    return Reading(
        "SH-1",
        "S-1",
        T0 + timedelta(seconds=i),
        temperature=20.0 + i / 10,
        humidity=55.5,
        fire_risk=10.0,
        fire_risk_version="fri-1",
        smoke=False,
        water_leak=i % 3 == 1 if i % 3 else None,
        district="黄浦区",
        zone='main hall, "east"',
    )


def drain(spool: Spool, batch: int = 1000) -> list[Reading]:
    out: list[Reading] = []
    while (item := spool.peek(batch)) is not None:
        frame, pos = item
        out.extend(frame.readings)
        spool.commit(pos, frame)
    return out


def test_replays_in_order_exactly_what_was_appended(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    batches = [[reading(i) for i in range(k * 10, k * 10 + 10)] for k in range(5)]
    for b in batches:
        spool.append(b)
    assert spool.depth == 50
    assert drain(spool, batch=7) == [r for b in batches for r in b]
    assert spool.depth == 0
    assert spool.peek(10) is None


def test_survives_reopen_and_resumes_after_the_cursor(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    spool.append([reading(i) for i in range(3)])
    spool.append([reading(i) for i in range(3, 6)])
    item = spool.peek(1)
    assert item is not None
    spool.commit(item[1], item[0])
    reopened = Spool(tmp_path, max_bytes=10_000_000)
    assert reopened.depth == 3
    assert [r.ts for r in drain(reopened)] == [reading(i).ts for i in range(3, 6)]


def test_a_row_spooled_before_water_leak_replays_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = spool_module.reading_to_row
    monkeypatch.setattr(spool_module, "reading_to_row", lambda r: real(r)[:13])
    spool = Spool(tmp_path, max_bytes=10_000_000)
    spool.append([reading(1)])
    monkeypatch.undo()
    assert reading(1).water_leak is True
    assert drain(Spool(tmp_path, max_bytes=10_000_000)) == [reading(1)._replace(water_leak=None)]


def test_rejects_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    rej = Rejection(
        "shelters/A/B/telemetry",
        RejectReason.OUT_OF_RANGE,
        "humidity 130 outside",
        '{"humidity": 130}',
        T0,
        3,
    )
    spool.append([], [rej])
    item = Spool(tmp_path, max_bytes=10_000_000).peek(10)
    assert item is not None
    assert item[0].rejects == [rej]


def test_torn_tail_is_dropped_and_earlier_frames_kept(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    spool.append([reading(1)])
    [segment] = list(tmp_path.glob("spool-*.log"))
    with segment.open("ab") as fh:
        fh.write(b'120 99 {"r":[[')  # a crash in the middle of a write
    reopened = Spool(tmp_path, max_bytes=10_000_000)
    assert reopened.depth == 1
    assert drain(reopened) == [reading(1)]


def test_bounded(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=2_000)
    spool.append([reading(i) for i in range(5)])
    with pytest.raises(SpoolFull):
        spool.append([reading(i) for i in range(50)])
    assert spool.depth == 5


def test_rotates_segments_and_deletes_replayed_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000, segment_bytes=500)
    for i in range(30):
        spool.append([reading(i)])
    assert len(list(tmp_path.glob("spool-*.log"))) > 3
    assert [r.ts for r in drain(spool, batch=4)] == [reading(i).ts for i in range(30)]
    assert len(list(tmp_path.glob("spool-*.log"))) <= 1
    assert spool.pending_bytes == 0
    spool.append([reading(99)])
    assert Spool(tmp_path, max_bytes=10_000_000).depth == 1
    assert drain(spool) == [reading(99)]


def test_a_replay_step_decodes_only_the_frames_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replay is linear in the spool's size: a peek reads and decodes the frames it hands
    out, not the rest of the segment after them."""
    spool = Spool(tmp_path, max_bytes=100_000_000)
    for i in range(2_000):
        spool.append([reading(i)])  # one reading per frame: an outage at fleet rate
    decoded = 0
    real = spool_module.reading_from_row

    def counting(row: list[Any]) -> Reading:
        nonlocal decoded
        decoded += 1
        return real(row)

    monkeypatch.setattr(spool_module, "reading_from_row", counting)
    item = spool.peek(10)
    assert item is not None
    assert [r.ts for r in item[0].readings] == [reading(i).ts for i in range(10)]
    assert decoded == 10


def test_frames_across_read_chunks_replay_whole_and_a_torn_tail_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "READ_CHUNK", 37)  # every frame straddles a boundary
    spool = Spool(tmp_path, max_bytes=10_000_000)
    appended = [reading(i) for i in range(50)]
    for r in appended:
        spool.append([r])
    [segment] = sorted(tmp_path.glob("spool-*.log"))
    with segment.open("ab") as f:
        f.write(b'812 12345 {"r":[[')  # a crash in the middle of a write
    assert drain(spool, batch=3) == appended
