"""A durable local spool on disk for readings (and rejects) that cannot be stored right now.

Records are appended in frames (``<length> <crc32> <json>\\n``) to numbered segment files and
fsynced before :meth:`Spool.append` returns, so whatever was appended survives a crash of the
process or the machine. Replay reads frames in order from a cursor; a torn frame at the end of
the newest segment (a crash mid-write, never acknowledged) is dropped. The spool is bounded:
an append that would pass ``max_bytes`` raises :class:`SpoolFull`.
"""

from __future__ import annotations

import json
import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telemetry.errors import SpoolFull
from telemetry.instants import from_ms, to_ms
from telemetry.readings import Reading, Rejection, RejectReason

SEGMENT_BYTES = 16 * 1024 * 1024
READ_CHUNK = 1024 * 1024
_PREFIX = "spool-"
_SUFFIX = ".log"


def reading_to_row(r: Reading) -> list[Any]:
    """A reading as a spool row. ``water_leak`` comes last, after the fields of rows spooled
    before it was part of the contract, so that those rows still read."""
    return [
        r.shelter_code,
        r.sensor_id,
        to_ms(r.ts),
        r.temperature,
        r.humidity,
        r.fire_risk,
        r.fire_risk_version,
        r.smoke,
        r.co,
        r.battery,
        r.dew_point,
        r.district,
        r.zone,
        r.water_leak,
    ]


def reading_from_row(row: list[Any]) -> Reading:
    """The reading of a spool row; a row of 13 fields (spooled before ``water_leak``) has
    none."""
    return Reading(
        row[0],
        row[1],
        from_ms(row[2]),
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[13] if len(row) > 13 else None,
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
    )


def reject_to_row(x: Rejection) -> list[Any]:
    return [x.topic, x.reason.value, x.detail, x.raw, to_ms(x.received_at), x.index]


def reject_from_row(row: list[Any]) -> Rejection:
    return Rejection(row[0], RejectReason(row[1]), row[2], row[3], from_ms(row[4]), row[5])


def encode_frame(readings: Sequence[Reading], rejects: Sequence[Rejection] = ()) -> bytes:
    """One frame as it lies on disk: ``<length> <crc32> <json>\\n``."""
    body = json.dumps(
        {"r": [reading_to_row(r) for r in readings], "x": [reject_to_row(x) for x in rejects]},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return b"%d %d " % (len(body), zlib.crc32(body)) + body + b"\n"


_CORRUPT = (b"", -1)
"""What :func:`_parse_frame` answers for bytes that can never become a frame."""
_HEADER_MAX = 32
"""A frame header (two decimal numbers and two spaces) is never longer than this."""


def _parse_frame(buf: bytes, pos: int) -> tuple[bytes, int] | None:
    """The body of the frame at ``buf[pos:]`` and the offset in ``buf`` after it; None when
    ``buf`` ends before the frame does (read more, or at the end of the file it is torn);
    ``_CORRUPT`` when the bytes there are no frame."""
    sp1 = buf.find(b" ", pos, pos + _HEADER_MAX)
    sp2 = buf.find(b" ", sp1 + 1, pos + _HEADER_MAX) if sp1 >= 0 else -1
    if sp2 < 0:
        return None if len(buf) - pos < _HEADER_MAX else _CORRUPT
    try:
        length = int(buf[pos:sp1])
        crc = int(buf[sp1 + 1 : sp2])
    except ValueError:
        return _CORRUPT
    end = sp2 + 1 + length + 1
    if len(buf) < end:
        return None
    body = buf[sp2 + 1 : end - 1]
    if zlib.crc32(body) != crc or buf[end - 1 : end] != b"\n":
        return _CORRUPT
    return body, end


@dataclass(slots=True)
class Frame:
    """One appended unit, as read back."""

    readings: list[Reading] = field(default_factory=list)
    rejects: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Position:
    segment: int
    offset: int


class Spool:
    """Append-only, fsynced, bounded, replayed in order. Safe for one appender and one
    replayer in different threads."""

    def __init__(self, directory: Path, *, max_bytes: int, segment_bytes: int = SEGMENT_BYTES):
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._cursor_path = directory / "cursor"
        self._cursor = self._load_cursor()
        self._segments = sorted(self._segment_numbers())
        self._records, self._bytes = self._scan()

    # -- bookkeeping -----------------------------------------------------------------------
    def _segment_numbers(self) -> list[int]:
        out = []
        for path in self.directory.glob(f"{_PREFIX}*{_SUFFIX}"):
            try:
                out.append(int(path.name[len(_PREFIX) : -len(_SUFFIX)]))
            except ValueError:
                continue
        return out

    def _path(self, segment: int) -> Path:
        return self.directory / f"{_PREFIX}{segment:012d}{_SUFFIX}"

    def _load_cursor(self) -> Position:
        try:
            seg, off = self._cursor_path.read_text(encoding="ascii").split()
            return Position(int(seg), int(off))
        except (FileNotFoundError, ValueError):
            return Position(0, 0)

    def _save_cursor(self, pos: Position) -> None:
        tmp = self._cursor_path.with_suffix(".tmp")
        tmp.write_text(f"{pos.segment} {pos.offset}", encoding="ascii")
        os.replace(tmp, self._cursor_path)
        self._cursor = pos

    def _scan(self) -> tuple[int, int]:
        """Pending records and bytes after the cursor (frames are read to count them)."""
        records = 0
        size = 0
        for seg in self._segments:
            start = self._cursor.offset if seg == self._cursor.segment else 0
            if seg < self._cursor.segment:
                continue
            for frame, _end in self._frames(seg, start):
                records += len(frame.readings) + len(frame.rejects)
            size += max(0, self._path(seg).stat().st_size - start)
        return records, size

    @property
    def depth(self) -> int:
        """Records waiting to be replayed."""
        return self._records

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    # -- writing ---------------------------------------------------------------------------
    def append(self, readings: Sequence[Reading], rejects: Sequence[Rejection] = ()) -> None:
        """Write one frame and fsync it; raises :class:`SpoolFull` beyond ``max_bytes``."""
        if not readings and not rejects:
            return
        frame = encode_frame(readings, rejects)
        with self._lock:
            if self._bytes + len(frame) > self.max_bytes:
                raise SpoolFull(f"spool at {self._bytes} bytes cannot take {len(frame)} more")
            if not self._segments or self._path(self._segments[-1]).stat().st_size >= (
                self.segment_bytes
            ):
                # Never reuse a number at or below the cursor: those frames count as replayed.
                number = max([*self._segments, self._cursor.segment - 1, 0]) + 1
                self._segments.append(number)
                if self._cursor.segment == 0:
                    self._save_cursor(Position(number, 0))
            path = self._path(self._segments[-1])
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, frame)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._records += len(readings) + len(rejects)
            self._bytes += len(frame)

    # -- reading ---------------------------------------------------------------------------
    def _frames(self, segment: int, offset: int) -> Iterator[tuple[Frame, int]]:
        """Frames of ``segment`` from ``offset`` with the offset after each, read lazily in
        chunks of ``READ_CHUNK`` bytes: a caller that stops early reads no further, so each
        replay step costs what it takes, not the rest of the segment."""
        try:
            f = self._path(segment).open("rb")
        except FileNotFoundError:
            return
        with f:
            f.seek(offset)
            buf = b""
            base = offset  # the file offset of buf[0]
            pos = 0  # the next frame's start in buf
            eof = False
            while True:
                parsed = _parse_frame(buf, pos)
                if parsed is None:
                    if eof:
                        return  # a torn frame at the end: it was never acknowledged
                    chunk = f.read(READ_CHUNK)
                    eof = len(chunk) < READ_CHUNK
                    buf = buf[pos:] + chunk
                    base += pos
                    pos = 0
                    continue
                if parsed is _CORRUPT:
                    return
                body, end = parsed
                raw = json.loads(body)
                yield (
                    Frame(
                        [reading_from_row(r) for r in raw["r"]],
                        [reject_from_row(x) for x in raw["x"]],
                    ),
                    base + end,
                )
                pos = end

    def peek(self, max_records: int) -> tuple[Frame, Position] | None:
        """The next frames after the cursor, up to about ``max_records``, and the position to
        :meth:`commit` once they are stored; None when the spool is empty."""
        with self._lock:
            merged = Frame()
            for seg in self._segments:
                if seg < self._cursor.segment:
                    continue
                start = self._cursor.offset if seg == self._cursor.segment else 0
                end = start
                for frame, frame_end in self._frames(seg, start):
                    merged.readings.extend(frame.readings)
                    merged.rejects.extend(frame.rejects)
                    end = frame_end
                    if len(merged.readings) + len(merged.rejects) >= max_records:
                        break
                if end == start:
                    continue
                return merged, Position(seg, end)
            return None

    def commit(self, pos: Position, frame: Frame) -> None:
        """Mark everything up to ``pos`` as stored; drops fully replayed old segments."""
        with self._lock:
            done_bytes = 0
            for seg in list(self._segments):
                if seg < pos.segment:
                    start = self._cursor.offset if seg == self._cursor.segment else 0
                    done_bytes += self._path(seg).stat().st_size - start
                    self._path(seg).unlink(missing_ok=True)
                    self._segments.remove(seg)
            start = self._cursor.offset if pos.segment == self._cursor.segment else 0
            done_bytes += pos.offset - start
            self._save_cursor(pos)
            if (
                self._segments
                and pos.segment == self._segments[-1]
                and pos.offset >= (self._path(pos.segment).stat().st_size)
                and pos.offset >= self.segment_bytes
            ):
                self._path(pos.segment).unlink(missing_ok=True)
                self._segments.remove(pos.segment)
                self._save_cursor(Position(pos.segment + 1, 0))
            self._records -= len(frame.readings) + len(frame.rejects)
            self._bytes -= done_bytes
