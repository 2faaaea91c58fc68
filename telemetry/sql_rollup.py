"""The retention job of the SQL store: hourly rollup of raw readings and purge of what is past
its retention (see :mod:`telemetry.retention` for the periods).

Rollup. Every raw reading carries ``stored_at_ms``, when it was written. The job reads the
mark (``telemetry_rollup_mark``: every reading stored before it is aggregated), finds the
completed hours holding readings stored since, and rebuilds their rows of
``telemetry_hourly`` from all raw readings of each hour (delete, then insert from a grouped
select), so an hour rolled up twice gives the same row and a reading that arrives late
(replayed from the spool after an outage) updates its hour at the next pass. It then moves
the mark to a little before the start of the current hour: readings of the current hour,
and readings still being written when the job looked, are found again next time. Hours are
rebuilt at most :data:`HOURS_PER_TRANSACTION` to a transaction. Only hours within the raw
period are rebuilt (an older hour's raw readings may be purged already): a reading that
arrives when its hour is past the raw period is kept until purged but not aggregated.

Purge. Raw readings whose hour and arrival are both older than the raw period, and which the
rollup has read, are deleted, then hourly rows older than the hourly period, each in batches
of ``batch_size`` rows with one short transaction per batch (on SQLite, the write lock is
never held for long), at most ``max_batches`` batches per table and pass.

Errors are translated as in :mod:`telemetry.sql_store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite

from telemetry.instants import to_ms
from telemetry.ports import Metric
from telemetry.retention import RetentionPolicy, hour_floor
from telemetry.sql_hourly import COLUMNS, HOUR_MS
from telemetry.sql_models import HourlyRow, ReadingRow, RollupMarkRow
from telemetry.sql_store import _COLUMN, _translated

MARK: Final = "hourly"
MARK_MARGIN: Final = timedelta(minutes=10)
"""How far before the current hour the mark stays: longer than a write takes from taking its
``stored_at_ms`` to committing, and than the 5 minutes a reading may lie in the future."""
HOURS_PER_TRANSACTION: Final = 24


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one pass did: hours rebuilt, raw readings and hourly rows deleted, and the
    batches the deletes took."""

    hours: int = 0
    purged_raw: int = 0
    purged_hourly: int = 0
    batches: int = 0


class SqlRollup:
    """The retention job on the tables of :class:`~telemetry.sql_store.SqlReadingStore`."""

    def __init__(
        self,
        engine: Engine,
        policy: RetentionPolicy,
        *,
        batch_size: int = 5000,
        max_batches: int = 200,
    ) -> None:
        if batch_size < 1 or max_batches < 1:
            raise ValueError("batch_size and max_batches must be at least 1")
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {dialect!r}")
        self._engine = engine
        self._policy = policy
        self._batch_size = batch_size
        self._max_batches = max_batches

    def run(self, now: datetime) -> RetentionReport:
        """A rollup, then a purge, at `now`."""
        hours = self.rollup(now)
        raw, hourly, batches = self.purge(now)
        return RetentionReport(hours, raw, hourly, batches)

    # ------------------------------------------------------------------ rollup

    def rollup(self, now: datetime) -> int:
        """Rebuild the completed hours holding readings stored since the mark; returns how
        many hours were rebuilt."""
        current_ms = to_ms(hour_floor(now))
        new_mark = current_ms - MARK_MARGIN // timedelta(milliseconds=1)
        # An hour past the raw period may have lost raw readings to the purge: rebuilding it
        # would lose them from its aggregates too.
        oldest_ms = to_ms(hour_floor(now - self._policy.raw))
        mark = self.mark()
        hour = (ReadingRow.ts_ms // HOUR_MS).label("hour")
        changed = (
            select(hour)
            .where(
                ReadingRow.stored_at_ms >= mark,
                ReadingRow.ts_ms < current_ms,
                ReadingRow.ts_ms >= oldest_ms,
            )
            .distinct()
        )
        with _translated("rollup"), self._engine.connect() as conn:
            hours = sorted(int(h) for h in conn.execute(changed).scalars())
        rolled_at = to_ms(now)
        for i in range(0, len(hours), HOURS_PER_TRANSACTION):
            chunk = hours[i : i + HOURS_PER_TRANSACTION]
            with _translated("rollup"), self._engine.begin() as conn:
                for h in chunk:
                    conn.execute(delete(HourlyRow).where(HourlyRow.hour_ms == h * HOUR_MS))
                    conn.execute(_rebuild(h * HOUR_MS, rolled_at))
        if new_mark > mark:
            self._set_mark(new_mark)
        return len(hours)

    def mark(self) -> int:
        """Epoch ms before which every stored reading is in the rollup (0: none yet)."""
        with _translated("rollup"), self._engine.connect() as conn:
            value = conn.execute(
                select(RollupMarkRow.stored_ms).where(RollupMarkRow.name == MARK)
            ).scalar_one_or_none()
        return int(value or 0)

    def _set_mark(self, stored_ms: int) -> None:
        values = {"name": MARK, "stored_ms": stored_ms}
        upsert: Any = (
            sqlite.insert(RollupMarkRow)
            if self._engine.dialect.name == "sqlite"
            else postgresql.insert(RollupMarkRow)
        )
        stmt = upsert.values(values).on_conflict_do_update(
            index_elements=[RollupMarkRow.name], set_={"stored_ms": stored_ms}
        )
        with _translated("rollup"), self._engine.begin() as conn:
            conn.execute(stmt)

    # ------------------------------------------------------------------- purge

    def purge(self, now: datetime) -> tuple[int, int, int]:
        """Delete what is past retention at `now`, in batches; returns raw readings and
        hourly rows deleted, and the batches taken."""
        raw_cutoff = to_ms(hour_floor(now - self._policy.raw))
        stored_before = min(raw_cutoff, self.mark())
        raw_rows = select(ReadingRow.sensor_id, ReadingRow.ts_ms).where(
            ReadingRow.stored_at_ms < stored_before, ReadingRow.ts_ms < raw_cutoff
        )
        raw, raw_batches = self._delete_batches(
            raw_rows, tuple_(ReadingRow.sensor_id, ReadingRow.ts_ms), ReadingRow
        )
        hourly_cutoff = to_ms(hour_floor(now - self._policy.hourly))
        hourly_rows = select(HourlyRow.sensor_id, HourlyRow.hour_ms).where(
            HourlyRow.hour_ms < hourly_cutoff
        )
        hourly, hourly_batches = self._delete_batches(
            hourly_rows, tuple_(HourlyRow.sensor_id, HourlyRow.hour_ms), HourlyRow
        )
        return raw, hourly, raw_batches + hourly_batches

    def _delete_batches(
        self, rows: Any, key: ColumnElement[Any], table: type[ReadingRow | HourlyRow]
    ) -> tuple[int, int]:
        deleted = batches = 0
        while batches < self._max_batches:
            batch = rows.limit(self._batch_size)
            with _translated("purge"), self._engine.begin() as conn:
                n = int(conn.execute(delete(table).where(key.in_(batch))).rowcount or 0)
            batches += 1
            deleted += n
            if n < self._batch_size:
                break
        return deleted, batches


def _rebuild(hour_ms: int, rolled_at_ms: int) -> Any:
    """INSERT … SELECT of the rows of one hour, one per sensor, from its raw readings."""
    values: dict[str, Any] = {
        "sensor_id": ReadingRow.sensor_id,
        "hour_ms": literal(hour_ms, BigInteger()),
        "shelter_code": func.max(ReadingRow.shelter_code),
        "district": func.max(ReadingRow.district),
        "zone": func.max(ReadingRow.zone),
        "readings": func.count(),
    }
    for metric in Metric:
        column = _COLUMN[metric]
        mean, low, high, count = COLUMNS[metric]
        values[mean.key] = func.avg(column)
        values[low.key] = func.min(column)
        values[high.key] = func.max(column)
        values[count.key] = func.count(column)
    values["rolled_at_ms"] = literal(rolled_at_ms, BigInteger())
    source = (
        select(*[v.label(k) for k, v in values.items()])
        .where(ReadingRow.ts_ms >= hour_ms, ReadingRow.ts_ms < hour_ms + HOUR_MS)
        .group_by(ReadingRow.sensor_id)
    )
    return insert(HourlyRow).from_select(list(values), source)
