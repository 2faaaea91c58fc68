"""Retention on InfluxDB 1.x: retention policies, the hourly continuous query, and backfill.

:meth:`InfluxRetention.ensure` makes the database match the policy, changing only what
differs (so a second run changes nothing, and a changed setting alters the policy):

- the database exists;
- the raw retention policy (the one named in the bucket, ``db/rp``, else the database's
  default one, ``autogen`` on a new database) keeps ``policy.raw`` and is the default;
- the retention policy :data:`HOURLY_RP` keeps ``policy.hourly``;
- the continuous query ``<measurement>_1h`` writes, at the end of every hour and again
  for the hour before (``RESAMPLE FOR 2h``, so readings up to an hour late count), per
  series (its tags kept) and per metric field ``f``: ``f`` (mean), ``f_min``, ``f_max``,
  ``f_count`` and ``f_sum`` into ``HOURLY_RP``. A query that differs is dropped and
  created again (InfluxDB cannot alter one).

A continuous query only covers hours that end after it exists; :meth:`backfill` runs the
same ``SELECT … INTO`` over past hours (``shelterwatch telemetry backfill``), a week per
request. Rewriting an hour gives the same points, so a backfill can be repeated.

Requests go through :mod:`telemetry.influx_store`'s client and error translation. InfluxDB
2.x/3.x have buckets instead (their retention is the operator's); :meth:`server_version`
tells them apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from telemetry.errors import StoreRejected
from telemetry.influx_store import _FIELD, _MEASUREMENT, _call, _client, _translated
from telemetry.instants import to_ms
from telemetry.ports import Metric
from telemetry.query import validate_identifier
from telemetry.retention import RetentionPolicy, hour_floor

HOURLY_RP: Final = "hourly"
"""The retention policy of the hourly aggregates (the reading store reads it by this name)."""
BACKFILL_CHUNK: Final = timedelta(days=7)
_DURATION: Final = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _hours(duration: str) -> int:
    """Whole hours of an InfluxDB duration as SHOW RETENTION POLICIES prints it
    (``2160h0m0s``; ``0s`` is infinite)."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise StoreRejected(f"InfluxDB answered an unreadable duration {duration!r}")
    h, m, s = (int(g or 0) for g in match.groups())
    return h + (m * 60 + s) // 3600


@dataclass(frozen=True, slots=True)
class RetentionChange:
    """What :meth:`InfluxRetention.ensure` did, one line per statement (none: all was so)."""

    statements: tuple[str, ...]


class InfluxRetention:
    """Retention of the readings in `bucket` (``db`` or ``db/rp``) on the InfluxDB 1.x at
    `url`. Constructing it does no I/O; :meth:`close` releases its connections."""

    def __init__(
        self,
        url: str,
        token: str,
        bucket: str,
        policy: RetentionPolicy,
        *,
        measurement: str = "shelter_env",
        timeout_s: float = 30,
    ) -> None:
        database, _, raw_rp = bucket.partition("/")
        validate_identifier(database, name="database name")
        for name in (raw_rp or "autogen", measurement):
            if _MEASUREMENT.fullmatch(name) is None:
                raise ValueError(f"retention policy and measurement must match {_MEASUREMENT}")
        self._database = database
        self._raw_rp = raw_rp or None
        self._policy = policy
        self._measurement = measurement
        self._client: Any = _client(url, token, "", timeout_s)

    @property
    def continuous_query(self) -> str:
        return f"{self._measurement}_1h"

    def close(self) -> None:
        self._client.close()

    def server_version(self) -> str:
        """The version InfluxDB reports on ``/ping`` (``1.6.7~rc0``, ``2.7.1``, …)."""
        with _translated("ping"):
            _, _, headers = self._client.api_client.call_api(
                "/ping", "GET", _return_http_data_only=False
            )
        return str(headers.get("X-Influxdb-Version", ""))

    # ------------------------------------------------------------------ ensure

    def ensure(self) -> RetentionChange:
        """Create or alter what differs from the policy (see the module docstring)."""
        done: list[str] = []
        db = self._database
        self._execute(f'CREATE DATABASE "{db}"')
        policies = self._policies()
        raw_rp = self._raw_rp or next(
            (name for name, (_, default) in policies.items() if default), "autogen"
        )
        raw_h = int(self._policy.raw.total_seconds()) // 3600
        hourly_h = int(self._policy.hourly.total_seconds()) // 3600
        if raw_rp not in policies:
            done.append(
                f'CREATE RETENTION POLICY "{raw_rp}" ON "{db}" DURATION {raw_h}h '
                "REPLICATION 1 DEFAULT"
            )
        elif policies[raw_rp] != (raw_h, True):
            done.append(f'ALTER RETENTION POLICY "{raw_rp}" ON "{db}" DURATION {raw_h}h DEFAULT')
        if HOURLY_RP not in policies:
            done.append(
                f'CREATE RETENTION POLICY "{HOURLY_RP}" ON "{db}" DURATION {hourly_h}h '
                "REPLICATION 1"
            )
        elif policies[HOURLY_RP][0] != hourly_h:
            done.append(f'ALTER RETENTION POLICY "{HOURLY_RP}" ON "{db}" DURATION {hourly_h}h')
        for statement in done:
            self._execute(statement)
        wanted = (
            f'CREATE CONTINUOUS QUERY "{self.continuous_query}" ON "{db}" '
            "RESAMPLE FOR 2h BEGIN "
            f"{self._select_into(raw_rp)} GROUP BY time(1h), * END"
        )
        existing = self._continuous_queries().get(self.continuous_query)
        if existing is None or _normal(existing) != _normal(wanted):
            if existing is not None:
                drop = f'DROP CONTINUOUS QUERY "{self.continuous_query}" ON "{db}"'
                self._execute(drop)
                done.append(drop)
            self._execute(wanted)
            done.append(wanted)
        return RetentionChange(tuple(done))

    def backfill(self, start: datetime, end: datetime) -> int:
        """Write the hourly aggregates of the whole hours in [start, end) from the raw
        readings (a week per request); returns the points written."""
        policies = self._policies()
        raw_rp = self._raw_rp or next(
            (name for name, (_, default) in policies.items() if default), "autogen"
        )
        if HOURLY_RP not in policies:
            raise StoreRejected(f"retention policy {HOURLY_RP!r} is missing: run ensure first")
        lo = hour_floor(start)
        hi = hour_floor(end)
        written = 0
        while lo < hi:
            upper = min(lo + BACKFILL_CHUNK, hi)
            text = (
                f"{self._select_into(raw_rp)} WHERE time >= {to_ms(lo)}ms AND "
                f"time < {to_ms(upper)}ms GROUP BY time(1h), *"
            )
            for result in self._execute(text):
                for series in result.get("series") or []:
                    written += sum(int(row[1]) for row in series.get("values") or [])
            lo = upper
        return written

    # ---------------------------------------------------------------- helpers

    def _select_into(self, raw_rp: str) -> str:
        fields = []
        for metric in Metric:
            f = _FIELD[metric]
            fields += [
                f'mean("{f}") AS "{f}"',
                f'min("{f}") AS "{f}_min"',
                f'max("{f}") AS "{f}_max"',
                f'count("{f}") AS "{f}_count"',
                f'sum("{f}") AS "{f}_sum"',
            ]
        db, m = self._database, self._measurement
        return (
            f"SELECT {', '.join(fields)} "  # noqa: S608 (names validated, no user input)
            f'INTO "{db}"."{HOURLY_RP}"."{m}" FROM "{db}"."{raw_rp}"."{m}"'
        )

    def _policies(self) -> dict[str, tuple[int, bool]]:
        """Per retention policy of the database: its duration in hours, and whether it is
        the default."""
        (result,) = self._execute(f'SHOW RETENTION POLICIES ON "{self._database}"')
        out: dict[str, tuple[int, bool]] = {}
        for series in result.get("series") or []:
            columns = series["columns"]
            for row in series.get("values") or []:
                item = dict(zip(columns, row, strict=True))
                out[str(item["name"])] = (_hours(str(item["duration"])), bool(item["default"]))
        return out

    def _continuous_queries(self) -> dict[str, str]:
        (result,) = self._execute("SHOW CONTINUOUS QUERIES")
        for series in result.get("series") or []:
            if series.get("name") == self._database:
                return {str(name): str(q) for name, q in series.get("values") or []}
        return {}

    def _execute(self, text: str) -> list[dict[str, Any]]:
        data = _call(self._client, "retention setup", "POST", "/query", form={"q": text})
        try:
            results: list[dict[str, Any]] = json.loads(data)["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreRejected("InfluxDB answered with an unexpected body") from exc
        for result in results:
            if result.get("error"):
                raise StoreRejected(f"InfluxDB refused {text[:80]!r}: {result['error']}")
        return results


def _normal(statement: str) -> str:
    """A continuous query's text as compared: quotes and repeated spaces left out, as
    InfluxDB prints it back without the quotes that its names do not need."""
    return " ".join(statement.replace('"', "").split())
