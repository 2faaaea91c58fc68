"""Reading store on InfluxDB: writes through the 2.x write API, reads with InfluxQL.

Writes go to ``POST {url}/api/v2/write`` through influxdb-client, as line protocol built here
(measurement ``shelter_env``; tags ``district``, ``sensor``, ``shelter``, ``zone``; one field
per metric present; millisecond timestamps). A point is keyed by its tags and time, so a
re-delivered reading overwrites itself. Reads are InfluxQL on ``GET {url}/query`` (served by
InfluxDB 1.x natively and by 2.x/3.x through their v1 compatibility API). User values reach
a query only as bound parameters (``params=``, referenced as ``$shelter`` and ``$sensor``);
everything else in a query text is an enum mapped to a fixed string or a validated number.

Every request, reads and writes alike, goes through influxdb-client's HTTP client: its
configured urllib3 pool (one per store, shared by the writers and the readers), its token
header, timeout and TLS settings. Writes use its write API; the InfluxQL reads, ``/ping`` and
``CREATE DATABASE`` (endpoints that its generated services do not cover for 1.x) go through
its ``ApiClient.call_api``, the call its own services make. Errors are translated at this
boundary, in one place (:func:`_translated`) for every request (influxdb-client is built with
``retries=False``, so urllib3 raises the underlying error, never ``MaxRetryError``):

    urllib3 ``HTTPError`` (``NewConnectionError``, ``NameResolutionError``,
    ``ConnectTimeoutError``, ``ReadTimeoutError``, ``ProtocolError``), ``OSError``
                                                                    -> StoreUnavailable
    ``ApiException`` / HTTP status 0 (TLS failure), 408, 429, 5xx   -> StoreUnavailable
    HTTP 401, 403, 404 (token, org or bucket wrong: the data is fine) -> StoreUnavailable
    any other 4xx (unparsable line, field type conflict, too large) -> StoreRejected

Tag values are normalised before escaping: a backslash becomes ``/`` and tab, CR and LF
become an (escaped) space, because a line break cannot be escaped in line protocol and InfluxDB
versions disagree on whether ``\\`` in a tag value is unescaped (1.6 keeps both backslashes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from math import isfinite
from typing import Any, Final

import urllib3.exceptions
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from telemetry.errors import InvalidSetting, StoreRejected, StoreUnavailable, TelemetryError
from telemetry.instants import from_ms, to_ms
from telemetry.ports import (
    Aggregate,
    LatestValue,
    Metric,
    Resolution,
    SeriesPoint,
    SeriesQuery,
)
from telemetry.query import DAY_S, validate_identifier, validate_tz, window_ms
from telemetry.readings import Reading

_MEASUREMENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_RETENTION: Final = re.compile(r"[1-9][0-9]{0,5}[hdw]|INF")
_DETAIL_LIMIT: Final = 300

_TAG_ESCAPES: Final = str.maketrans(
    {",": "\\,", " ": "\\ ", "=": "\\=", "\\": "/", "\n": "\\ ", "\r": "\\ ", "\t": "\\ "}
)

_FIELD: Final = {
    Metric.TEMPERATURE: "temperature",
    Metric.HUMIDITY: "humidity",
    Metric.FIRE_RISK: "fire_risk",
    Metric.DEW_POINT: "dew_point",
    Metric.CO: "co",
    Metric.BATTERY: "battery",
}
_FUNCTION: Final = {
    Aggregate.MEAN: "MEAN",
    Aggregate.MIN: "MIN",
    Aggregate.MAX: "MAX",
    Aggregate.LAST: "LAST",
    Aggregate.COUNT: "COUNT",
}
_METRIC_ORDER: Final = {metric: index for index, metric in enumerate(Metric)}
_HOURLY_FUNCTION: Final = {
    Aggregate.MEAN: 'SUM("{f}_sum") / SUM("{f}_count")',
    Aggregate.MIN: 'MIN("{f}_min")',
    Aggregate.MAX: 'MAX("{f}_max")',
    Aggregate.COUNT: 'SUM("{f}_count")',
}
"""How a bucket of hourly aggregates (see :mod:`telemetry.influx_retention`) is combined: the
mean weighted by each hour's count, as the mean of the raw readings."""
_HOURLY_RP: Final = "hourly"
_HOUR_MS: Final = 3_600_000


CONNECTIONS: Final = 16
"""Connections kept open for the store writers and the API's reads together (more are opened
when needed, then closed)."""
_TRANSPORT_ERRORS: Final = (urllib3.exceptions.HTTPError, OSError)
"""What a request raises when the server cannot be reached or the connection fails."""


def _status_error(status: int, action: str, detail: str) -> TelemetryError:
    """The telemetry error for an HTTP status InfluxDB (or a proxy) answered with."""
    message = f"InfluxDB {action} failed with HTTP {status}: {detail[:_DETAIL_LIMIT]}"
    if status in (401, 403, 404):
        return StoreUnavailable(message + " (check the URL, token, org and bucket)")
    if 400 <= status < 500 and status not in (408, 429):
        return StoreRejected(message)
    return StoreUnavailable(message)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """The one error path of every request to InfluxDB: what influxdb-client or urllib3
    raise becomes StoreUnavailable or StoreRejected, with the server's words."""
    try:
        yield
    except ApiException as exc:
        detail = getattr(exc, "message", None) or exc.body or exc.reason or ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise _status_error(int(exc.status or 0), action, str(detail)) from exc
    except _TRANSPORT_ERRORS as exc:
        raise StoreUnavailable(f"InfluxDB {action} failed: {exc}") from exc


def _client(url: str, token: str, org: str, timeout_s: float) -> Any:
    return InfluxDBClient(
        url=url,
        token=token,
        org=org,
        timeout=int(timeout_s * 1000),
        retries=False,
        connection_pool_maxsize=CONNECTIONS,
    )


def _call(
    client: Any,
    action: str,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> bytes:
    """The body of a 2xx answer to one request through `client`'s HTTP client (its pool,
    token and timeout); anything else raised through :func:`_translated`."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else None
    with _translated(action):
        response = client.api_client.call_api(
            path,
            method,
            query_params=query,
            post_params=form,
            header_params=headers,
            _return_http_data_only=True,
            _preload_content=False,  # the raw response: its body, not a model
        )
        try:
            return bytes(response.data)
        finally:
            response.release_conn()


@lru_cache(maxsize=8192)
def _series_key(measurement: str, shelter: str, sensor: str, district: str, zone: str) -> str:
    """Measurement and tags of a line, tags sorted by key and empty values left out."""
    tags = (("district", district), ("sensor", sensor), ("shelter", shelter), ("zone", zone))
    parts = [measurement]
    parts.extend(f"{key}={value.translate(_TAG_ESCAPES)}" for key, value in tags if value)
    return ",".join(parts)


def _not_finite(name: str, reading: Reading) -> str:
    raise StoreRejected(f"{name} of sensor {reading.sensor_id} is not a finite number")


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_line(reading: Reading, measurement: str = "shelter_env") -> str:
    """One reading in line protocol with a millisecond timestamp."""
    # Written out field by field, the reading unpacked at once (it is a tuple): this runs
    # for every reading stored. A number without "i" is a float field in line protocol.
    (shelter, sensor, ts, t, rh, fire, version, smoke, leak, co, battery, dew, district, zone) = (
        reading
    )
    if ts.tzinfo is None:
        raise StoreRejected(f"reading of sensor {sensor} has a naive timestamp")
    fields: list[str] = []
    add = fields.append
    if t is not None:
        add(f"temperature={t!r}" if isfinite(t) else _not_finite("temperature", reading))
    if rh is not None:
        add(f"humidity={rh!r}" if isfinite(rh) else _not_finite("humidity", reading))
    if fire is not None:
        add(f"fire_risk={fire!r}" if isfinite(fire) else _not_finite("fire_risk", reading))
    if version is not None:
        add("fire_risk_version=" + _string(version))
    if smoke is not None:
        add("smoke=true" if smoke else "smoke=false")
    if leak is not None:
        add("water_leak=true" if leak else "water_leak=false")
    if co is not None:
        add(f"co={co!r}" if isfinite(co) else _not_finite("co", reading))
    if battery is not None:
        add(f"battery={battery!r}" if isfinite(battery) else _not_finite("battery", reading))
    if dew is not None:
        add(f"dew_point={dew!r}" if isfinite(dew) else _not_finite("dew_point", reading))
    if not fields:
        raise StoreRejected(f"reading of sensor {sensor} carries no value to store")
    key = _series_key(measurement, shelter, sensor, district, zone)
    return f"{key} {','.join(fields)} {to_ms(ts)}"


class InfluxStore:
    """:class:`~telemetry.ports.ReadingStore` on InfluxDB 1.6+ / 2.x / 3.x.

    `bucket` is the 2.x bucket; on 1.x it is the database (``db`` or ``db/rp``), and the
    InfluxQL reads use that database and retention policy. `timeout_s` bounds each HTTP
    request. Constructing the store does no I/O; :meth:`close` releases its connections.
    """

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        timeout_s: float = 10,
        measurement: str = "shelter_env",
    ) -> None:
        if _MEASUREMENT.fullmatch(measurement) is None:
            raise InvalidSetting(f"measurement must match {_MEASUREMENT.pattern}")
        self._org = org
        self._bucket = bucket
        self._database, _, policy = bucket.partition("/")
        if policy and _MEASUREMENT.fullmatch(policy) is None:
            raise InvalidSetting(f"retention policy must match {_MEASUREMENT.pattern}")
        self._measurement = measurement
        self._source = f'"{policy}"."{measurement}"' if policy else f'"{measurement}"'
        self._hourly_source = f'"{_HOURLY_RP}"."{measurement}"'
        self._client: Any = _client(url, token, org, timeout_s)
        self._write_api: Any = self._client.write_api(write_options=SYNCHRONOUS)

    # ------------------------------------------------------------------ writes

    def write(self, readings: Sequence[Reading]) -> None:
        if readings:
            self.write_encoded(self.encode(readings))

    def encode(self, readings: Sequence[Reading]) -> bytes:
        """The line protocol body of a write (:class:`~telemetry.ports.EncodingStore`)."""
        measurement = self._measurement
        return "\n".join([to_line(reading, measurement) for reading in readings]).encode()

    def write_encoded(self, body: bytes) -> None:
        # One bytes record: influxdb-client posts it as it is, where a list of lines would be
        # type-checked and encoded line by line before being joined to the same body.
        with _translated("write"):
            self._write_api.write(
                bucket=self._bucket,
                org=self._org,
                record=body,
                write_precision=WritePrecision.MS,
            )

    # ------------------------------------------------------------------- reads

    def latest(self, shelter_code: str) -> list[LatestValue]:
        validate_identifier(shelter_code, name="shelter code")
        metrics = list(Metric)
        statements = ";".join(
            f'SELECT LAST("{_FIELD[metric]}") FROM {self._source} '  # noqa: S608
            'WHERE "shelter" = $shelter GROUP BY "sensor"'
            for metric in metrics
        )
        results = self._query(statements, {"shelter": shelter_code}, len(metrics))
        values: list[LatestValue] = []
        for metric, result in zip(metrics, results, strict=True):
            for sensor, time_ms, value in _rows(result):
                if value is not None:
                    values.append(LatestValue(sensor, metric, float(value), from_ms(time_ms)))
        values.sort(key=lambda v: (v.sensor_id, _METRIC_ORDER[v.metric]))
        return values

    def series(self, query: SeriesQuery) -> list[SeriesPoint]:
        validate_identifier(query.shelter_code, name="shelter code")
        params = {"shelter": query.shelter_code}
        where = '"shelter" = $shelter'
        if query.sensor_id is not None:
            params["sensor"] = validate_identifier(query.sensor_id, name="sensor id")
            where += ' AND "sensor" = $sensor'
        lo, hi = window_ms(query.start, query.end)
        every_s = int(query.every_s)
        field = _FIELD[Metric(query.metric)]
        if query.resolution is Resolution.HOURLY:
            # The whole hours overlapping the window, from the hourly aggregates.
            select = _HOURLY_FUNCTION[Aggregate(query.agg)].format(f=field)
            source = self._hourly_source
            lo -= _HOUR_MS - 1
        else:
            select = f'{_FUNCTION[Aggregate(query.agg)]}("{field}")'
            source = self._source
        tz_clause = ""
        if every_s >= DAY_S:
            # InfluxQL has no bound parameter inside tz(); the name is pasted as a string
            # literal; validate_tz admits only names matching TZ_NAME (no quote, no backslash).
            validate_tz(query.tz)
            tz_clause = f" tz('{query.tz}')"
        text = (
            f"SELECT {select} FROM {source} WHERE {where} "  # noqa: S608
            f"AND time >= {int(lo)}ms AND time < {int(hi)}ms "
            f'GROUP BY time({every_s}s), "sensor" fill(none){tz_clause}'
        )
        (result,) = self._query(text, params, 1)
        points = [
            SeriesPoint(sensor, from_ms(time_ms), value) for sensor, time_ms, value in _rows(result)
        ]
        points.sort(key=lambda p: (p.sensor_id, p.ts))
        return points

    def hourly_counts(
        self, shelter_code: str, start: datetime, end: datetime
    ) -> dict[tuple[str, datetime], int]:
        """Per (sensor, hour), the largest count among the fields. Exact when every reading
        of a sensor within an hour carries the same field; InfluxDB cannot count points.
        Hours with no raw readings left count from their hourly aggregates, when kept."""
        validate_identifier(shelter_code, name="shelter code")
        lo, hi = window_ms(start, end)
        window = f"AND time >= {int(lo)}ms AND time < {int(hi)}ms "
        counts = ", ".join(f'"{_FIELD[m]}_count"' for m in Metric)
        text = (
            f'SELECT COUNT(*) FROM {self._source} WHERE "shelter" = $shelter '  # noqa: S608
            + window
            + 'GROUP BY time(1h), "sensor" fill(none);'
            + f'SELECT {counts} FROM {self._hourly_source} WHERE "shelter" = $shelter '  # noqa: S608
            + window
            + 'GROUP BY "sensor"'
        )
        raw, rolled = self._query(text, {"shelter": shelter_code}, 2, missing_ok=(1,))
        hours: dict[tuple[str, datetime], int] = {}
        for result in (rolled, raw):  # raw counts win where both are there
            for series in result.get("series") or []:
                sensor = str((series.get("tags") or {}).get("sensor", ""))
                for row in series["values"]:
                    count = max((int(c) for c in row[1:] if c is not None), default=0)
                    if count:
                        hours[(sensor, from_ms(int(row[0])))] = count
        return hours

    def check(self) -> None:
        try:
            _call(self._client, "ping", "GET", "/ping")
        except StoreRejected as exc:  # a 4xx other than 401/403/404 is no answer of InfluxDB
            raise StoreUnavailable(str(exc)) from exc

    def close(self) -> None:
        try:
            self._write_api.close()
        finally:
            self._client.close()

    # ---------------------------------------------------------------- helpers

    def _query(
        self,
        text: str,
        params: dict[str, str],
        statements: int,
        *,
        missing_ok: tuple[int, ...] = (),
    ) -> list[dict[str, Any]]:
        """Results of an InfluxQL request, one per statement; statement errors translated,
        except that a statement in `missing_ok` reading a retention policy that does not
        exist (InfluxDB 2.x/3.x, or 1.x before its setup) answers nothing."""
        data = _call(
            self._client,
            "query",
            "GET",
            "/query",
            query={"db": self._database, "epoch": "ms", "q": text, "params": json.dumps(params)},
        )
        try:
            body = json.loads(data)
            results: list[dict[str, Any]] = sorted(
                body["results"], key=lambda r: int(r.get("statement_id", 0))
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreUnavailable("InfluxDB answered the query with an unexpected body") from exc
        for result in results:
            error = result.get("error")
            if (
                error is not None
                and int(result.get("statement_id", 0)) in missing_ok
                and str(error).startswith("retention policy not found")
            ):
                result.pop("error")
                continue
            if error is not None:
                message = f"InfluxDB refused the query: {str(error)[:_DETAIL_LIMIT]}"
                # With several statements, InfluxDB 1.6 reports a missing database only as
                # "not executed" on the first one.
                if str(error).startswith(("database not found", "not executed")):
                    raise StoreUnavailable(message + " (does the database exist?)")
                raise StoreRejected(message)
            if any(series.get("partial") for series in result.get("series") or []):
                raise StoreRejected("InfluxDB truncated the result (server max-row-limit)")
        if len(results) != statements:
            raise StoreUnavailable(
                f"InfluxDB answered {len(results)} results for {statements} statements"
            )
        return results


def _rows(result: dict[str, Any]) -> list[tuple[str, int, float | None]]:
    """(sensor, time ms, value) of a one-column result grouped by the sensor tag."""
    rows: list[tuple[str, int, float | None]] = []
    for series in result.get("series") or []:
        sensor = str((series.get("tags") or {}).get("sensor", ""))
        for time_ms, value in series["values"]:
            rows.append((sensor, int(time_ms), None if value is None else float(value)))
    return rows


def ensure_database(
    url: str,
    name: str,
    token: str = "",
    retention: str | None = None,
    *,
    timeout_s: float = 10,
) -> None:
    """Create database `name` on an InfluxDB 1.x server unless it exists (development setup;
    buckets of InfluxDB 2/3 are created by the operator).

    `retention` is a duration such as ``365d``, ``52w`` or ``INF``. InfluxDB refuses a second
    call with a different retention for an existing database (StoreRejected).
    """
    validate_identifier(name, name="database name")
    text = f'CREATE DATABASE "{name}"'
    if retention is not None:
        if _RETENTION.fullmatch(retention) is None:
            raise InvalidSetting("retention must look like 365d, 52w, 8760h or INF")
        text += f" WITH DURATION {retention}"
    client = _client(url, token, "", timeout_s)
    try:
        data = _call(client, "CREATE DATABASE", "POST", "/query", form={"q": text})
    finally:
        client.close()
    for result in json.loads(data).get("results") or []:
        if result.get("error"):
            raise StoreRejected(f"InfluxDB refused CREATE DATABASE: {result['error']}")
