"""Reading store and reject store on SQL (SQLite or PostgreSQL), the embedded default.

Each call is its own short unit of work on the engine it is given (the engine belongs to the
caller): writes commit before returning, so they are durable when ``write`` returns.

Database errors are translated at this boundary:

    IntegrityError, DataError (a value the schema refuses)      -> StoreRejected
    OperationalError, InterfaceError, any other DBAPIError,
    pool TimeoutError (cannot connect, locked, gone, timed out)  -> StoreUnavailable
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from telemetry.errors import InvalidQuery, StoreRejected, StoreUnavailable
from telemetry.instants import from_ms, to_ms
from telemetry.ports import (
    Aggregate,
    LatestValue,
    Metric,
    RejectFilter,
    Resolution,
    SeriesPoint,
    SeriesQuery,
    StoredReject,
)
from telemetry.query import bucket_offset_s, validate_identifier, window_ms
from telemetry.readings import Reading, Rejection
from telemetry.sql_hourly import counts_statement, series_statement
from telemetry.sql_models import ReadingRow, RejectRow

_HOUR_MS: Final = 3_600_000
_TOPIC_LIMIT: Final = 300

_COLUMN: Final = {
    Metric.TEMPERATURE: ReadingRow.temperature,
    Metric.HUMIDITY: ReadingRow.humidity,
    Metric.FIRE_RISK: ReadingRow.fire_risk,
    Metric.DEW_POINT: ReadingRow.dew_point,
    Metric.CO: ReadingRow.co,
    Metric.BATTERY: ReadingRow.battery,
}
_METRIC_ORDER: Final = {metric: index for index, metric in enumerate(Metric)}
_VALUE_COLUMNS: Final = (
    "shelter_code",
    "district",
    "zone",
    "temperature",
    "humidity",
    "fire_risk",
    "fire_risk_version",
    "smoke",
    "water_leak",
    "co",
    "battery",
    "dew_point",
    "stored_at_ms",
)


def _aggregate(agg: Aggregate, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if agg is Aggregate.MEAN:
        return func.avg(value)
    if agg is Aggregate.MIN:
        return func.min(value)
    if agg is Aggregate.MAX:
        return func.max(value)
    if agg is Aggregate.COUNT:
        return func.count(value)
    raise ValueError(f"no SQL aggregate for {agg}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside into telemetry errors."""
    try:
        yield
    except (sa_exc.IntegrityError, sa_exc.DataError) as exc:
        raise StoreRejected(f"database refused the {action}: {exc.orig}") from exc
    except sa_exc.DBAPIError as exc:
        raise StoreUnavailable(f"database unavailable during {action}: {exc.orig}") from exc
    except sa_exc.TimeoutError as exc:
        raise StoreUnavailable(f"no database connection free for {action}") from exc


def _row(reading: Reading, stored_at_ms: int) -> dict[str, Any]:
    if reading.ts.tzinfo is None:
        raise StoreRejected(f"reading of sensor {reading.sensor_id} has a naive timestamp")
    values = (
        reading.temperature,
        reading.humidity,
        reading.fire_risk,
        reading.smoke,
        reading.water_leak,
        reading.co,
        reading.battery,
        reading.dew_point,
    )
    if all(value is None for value in values):
        raise StoreRejected(f"reading of sensor {reading.sensor_id} carries no value to store")
    return {
        "sensor_id": reading.sensor_id,
        "ts_ms": to_ms(reading.ts),
        "shelter_code": reading.shelter_code,
        "district": reading.district,
        "zone": reading.zone,
        "temperature": reading.temperature,
        "humidity": reading.humidity,
        "fire_risk": reading.fire_risk,
        "fire_risk_version": reading.fire_risk_version,
        "smoke": reading.smoke,
        "water_leak": reading.water_leak,
        "co": reading.co,
        "battery": reading.battery,
        "dew_point": reading.dew_point,
        "stored_at_ms": stored_at_ms,
    }


def _reader_of(engine: Engine) -> Connection:
    """A connection for reading: on SQLite its transaction is DEFERRED, so in WAL mode it
    never waits for a writer (the engine's default is IMMEDIATE; see ``api.db``)."""
    return engine.connect().execution_options(sqlite_begin="DEFERRED")


class SqlReadingStore:
    """:class:`~telemetry.ports.ReadingStore` on the ``telemetry_readings`` table.

    `clock` gives the write time stored in ``stored_at_ms``. Series buckets of a day or more
    start at local midnight of ``query.tz``, using the zone's offset at ``query.start`` for the
    whole window.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._engine = engine
        self._clock = clock
        dialect = engine.dialect.name
        if dialect == "sqlite":
            upsert: Any = sqlite.insert(ReadingRow)
        elif dialect == "postgresql":
            upsert = postgresql.insert(ReadingRow)
        else:
            raise ValueError(f"unsupported database dialect {dialect!r}")
        self._upsert: Executable = upsert.on_conflict_do_update(
            index_elements=[ReadingRow.sensor_id, ReadingRow.ts_ms],
            set_={name: upsert.excluded[name] for name in _VALUE_COLUMNS},
        )

    def write(self, readings: Sequence[Reading]) -> None:
        if not readings:
            return
        stored_at_ms = to_ms(self._clock())
        # Within a batch the last reading of a (sensor, ts) wins, as it does in InfluxDB.
        rows = {
            (row["sensor_id"], row["ts_ms"]): row
            for row in (_row(reading, stored_at_ms) for reading in readings)
        }
        # One upsert statement, compiled once and executed with the whole batch as its
        # parameter list: a multi-row VALUES clause costs SQLAlchemy about 0.5 s per 1,000
        # rows to compile, this about 10-30 ms to run.
        with _translated("write"), self._engine.begin() as conn:
            conn.execute(self._upsert, list(rows.values()))

    def latest(self, shelter_code: str) -> list[LatestValue]:
        validate_identifier(shelter_code, name="shelter code")
        parts: list[Select[str, str, int, float | None]] = []
        for metric, column in _COLUMN.items():
            newest = (
                select(ReadingRow.sensor_id, func.max(ReadingRow.ts_ms).label("ts_ms"))
                .where(ReadingRow.shelter_code == shelter_code, column.is_not(None))
                .group_by(ReadingRow.sensor_id)
                .subquery()
            )
            parts.append(
                select(
                    literal(metric.value).label("metric"),
                    ReadingRow.sensor_id,
                    ReadingRow.ts_ms,
                    column.label("value"),
                ).join(
                    newest,
                    and_(
                        ReadingRow.sensor_id == newest.c.sensor_id,
                        ReadingRow.ts_ms == newest.c.ts_ms,
                    ),
                )
            )
        with _translated("read"), _reader_of(self._engine) as conn:
            rows = conn.execute(union_all(*parts)).all()
        values = [
            LatestValue(row.sensor_id, Metric(row.metric), float(row.value), from_ms(row.ts_ms))
            for row in rows
        ]
        values.sort(key=lambda v: (v.sensor_id, _METRIC_ORDER[v.metric]))
        return values

    def series(self, query: SeriesQuery) -> list[SeriesPoint]:
        if query.resolution is Resolution.HOURLY:
            return self._hourly_series(query)
        validate_identifier(query.shelter_code, name="shelter code")
        column = _COLUMN[Metric(query.metric)]
        agg = Aggregate(query.agg)
        lo, hi = window_ms(query.start, query.end)
        every_ms = int(query.every_s) * 1000
        offset_ms = bucket_offset_s(query) * 1000
        conditions: list[ColumnElement[bool]] = [
            ReadingRow.shelter_code == query.shelter_code,
            ReadingRow.ts_ms >= lo,
            ReadingRow.ts_ms < hi,
            column.is_not(None),
        ]
        if query.sensor_id is not None:
            validate_identifier(query.sensor_id, name="sensor id")
            conditions.append(ReadingRow.sensor_id == query.sensor_id)
        # Grouping by a column of a subquery, not by the expression, keeps PostgreSQL from
        # seeing two differently bound copies of the bucket expression.
        inner = (
            select(
                ReadingRow.sensor_id,
                ReadingRow.ts_ms,
                column.label("value"),
                ((ReadingRow.ts_ms + offset_ms) // every_ms).label("bucket"),
            )
            .where(*conditions)
            .subquery()
        )
        stmt: Executable
        if agg is Aggregate.LAST:
            newest = (
                select(inner.c.sensor_id, inner.c.bucket, func.max(inner.c.ts_ms).label("ts_ms"))
                .group_by(inner.c.sensor_id, inner.c.bucket)
                .subquery()
            )
            stmt = select(newest.c.sensor_id, newest.c.bucket, column.label("value")).join(
                ReadingRow,
                and_(
                    ReadingRow.sensor_id == newest.c.sensor_id,
                    ReadingRow.ts_ms == newest.c.ts_ms,
                ),
            )
        else:
            stmt = select(
                inner.c.sensor_id, inner.c.bucket, _aggregate(agg, inner.c.value).label("value")
            ).group_by(inner.c.sensor_id, inner.c.bucket)
        with _translated("read"), _reader_of(self._engine) as conn:
            rows = conn.execute(stmt).all()
        points = [
            SeriesPoint(
                row.sensor_id,
                from_ms(int(row.bucket) * every_ms - offset_ms),
                None if row.value is None else float(row.value),
            )
            for row in rows
        ]
        points.sort(key=lambda p: (p.sensor_id, p.ts))
        return points

    def _hourly_series(self, query: SeriesQuery) -> list[SeriesPoint]:
        stmt, every_ms, offset_ms = series_statement(query)
        with _translated("read"), _reader_of(self._engine) as conn:
            rows = conn.execute(stmt).all()
        points = [
            SeriesPoint(
                row.sensor_id,
                from_ms(int(row.bucket) * every_ms - offset_ms),
                None if row.value is None else float(row.value),
            )
            for row in rows
        ]
        points.sort(key=lambda p: (p.sensor_id, p.ts))
        return points

    def hourly_counts(
        self, shelter_code: str, start: datetime, end: datetime
    ) -> dict[tuple[str, datetime], int]:
        """Raw readings per (sensor, hour); an hour with no raw readings left counts those
        its rollup row recorded (the raw readings of hours past the raw period are gone)."""
        validate_identifier(shelter_code, name="shelter code")
        lo, hi = window_ms(start, end)
        inner = (
            select(ReadingRow.sensor_id, (ReadingRow.ts_ms // _HOUR_MS).label("hour"))
            .where(
                ReadingRow.shelter_code == shelter_code,
                ReadingRow.ts_ms >= lo,
                ReadingRow.ts_ms < hi,
            )
            .subquery()
        )
        stmt = select(inner.c.sensor_id, inner.c.hour, func.count().label("n")).group_by(
            inner.c.sensor_id, inner.c.hour
        )
        rolled = counts_statement(shelter_code, lo, hi)
        with _translated("read"), _reader_of(self._engine) as conn:
            rows = conn.execute(stmt).all()
            rolled_rows = conn.execute(rolled).all()
        counts = {
            (row.sensor_id, from_ms(int(row.hour_ms))): int(row.readings) for row in rolled_rows
        }
        counts.update(
            {(row.sensor_id, from_ms(int(row.hour) * _HOUR_MS)): int(row.n) for row in rows}
        )
        return counts

    def check(self) -> None:
        with _translated("check"), _reader_of(self._engine) as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Nothing to release: the engine belongs to the caller."""


class SqlRejectStore:
    """:class:`~telemetry.ports.RejectStore` on ``telemetry_rejects``, keeping about the newest
    `max_rows` rows: each ``add`` deletes ids at or below ``max(id) - max_rows`` (exact while
    ids have no gaps; with gaps from rolled-back inserts, fewer rows stay, never more)."""

    def __init__(self, engine: Engine, max_rows: int) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._engine = engine
        self._max_rows = max_rows

    def add(self, rejects: Sequence[Rejection]) -> None:
        if not rejects:
            return
        rows = [
            {
                "received_at_ms": to_ms(r.received_at),
                "topic": r.topic[:_TOPIC_LIMIT],
                "reason": str(r.reason),
                "detail": r.detail,
                "raw": r.raw,
                "batch_index": r.index,
            }
            for r in rejects
        ]
        with _translated("reject insert"), self._engine.begin() as conn:
            conn.execute(insert(RejectRow), rows)
            newest = conn.execute(select(func.max(RejectRow.id))).scalar_one()
            if newest is not None and newest > self._max_rows:
                conn.execute(delete(RejectRow).where(RejectRow.id <= newest - self._max_rows))

    def list(
        self, *, limit: int, offset: int, reason: str | None = None
    ) -> tuple[list[StoredReject], int]:
        """A page of rejects, newest first, and how many match in all."""
        if limit < 0 or offset < 0:
            raise InvalidQuery("limit and offset must not be negative")
        where = [] if reason is None else [RejectRow.reason == reason]
        page = (
            select(RejectRow)
            .where(*where)
            .order_by(RejectRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        total = select(func.count()).select_from(RejectRow).where(*where)
        with _translated("reject read"), _reader_of(self._engine) as conn:
            rows = conn.execute(page).all()
            count = conn.execute(total).scalar_one()
        return [_stored(row) for row in rows], int(count)

    def pending(self, which: RejectFilter, *, after_id: int, limit: int) -> Sequence[StoredReject]:
        if limit < 0 or after_id < 0:
            raise InvalidQuery("limit and after_id must not be negative")
        where: list[ColumnElement[bool]] = [
            RejectRow.id > after_id,
            RejectRow.reingested_at_ms.is_(None),
        ]
        if which.reason is not None:
            where.append(RejectRow.reason == which.reason)
        if which.sensor_id is not None:
            # The sensor is the third level of shelters/<code>/<sensor>/telemetry.
            escaped = which.sensor_id.translate(_LIKE_ESCAPES)
            where.append(RejectRow.topic.like(f"shelters/%/{escaped}/telemetry", escape="\\"))
        if which.received_from is not None:
            where.append(RejectRow.received_at_ms >= to_ms(which.received_from))
        if which.received_to is not None:
            where.append(RejectRow.received_at_ms < to_ms(which.received_to))
        page = select(RejectRow).where(*where).order_by(RejectRow.id).limit(limit)
        with _translated("reject read"), _reader_of(self._engine) as conn:
            rows = conn.execute(page).all()
        return [_stored(row) for row in rows]

    def settle(
        self, reingested: Sequence[int], still: Sequence[tuple[int, str, str]], at: datetime
    ) -> None:
        if not reingested and not still:
            return
        with _translated("reject update"), self._engine.begin() as conn:
            if reingested:
                conn.execute(
                    update(RejectRow)
                    .where(RejectRow.id.in_(list(reingested)))
                    .values(reingested_at_ms=to_ms(at))
                )
            if still:
                conn.execute(
                    update(RejectRow)
                    .where(RejectRow.id == bindparam("row_id"))
                    .values(reason=bindparam("new_reason"), detail=bindparam("new_detail")),
                    [
                        {"row_id": i, "new_reason": reason, "new_detail": detail}
                        for i, reason, detail in still
                    ],
                )


_LIKE_ESCAPES: Final = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


def _stored(row: Any) -> StoredReject:
    ms = row.reingested_at_ms
    return StoredReject(
        id=row.id,
        received_at=from_ms(row.received_at_ms),
        topic=row.topic,
        reason=row.reason,
        detail=row.detail,
        raw=row.raw,
        batch_index=row.batch_index,
        reingested_at=None if ms is None else from_ms(ms),
    )
