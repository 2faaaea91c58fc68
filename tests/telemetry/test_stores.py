"""Contract of the reading stores: one suite run on SqlReadingStore (SQLite and PostgreSQL)
and on InfluxStore (the real InfluxDB behind the 2.x-compatible nginx), plus the error
translation of each store against unreachable or refusing servers.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select

from telemetry.errors import InvalidQuery, StoreRejected, StoreUnavailable
from telemetry.influx_store import InfluxStore, ensure_database, to_line
from telemetry.ports import Aggregate, LatestValue, Metric, ReadingStore, SeriesPoint, SeriesQuery
from telemetry.readings import Reading
from telemetry.sql_models import ReadingRow
from telemetry.sql_store import SqlReadingStore

INFLUX_URL = os.environ.get("SHELTERWATCH_TEST_INFLUX_URL", "http://127.0.0.1:8087")
T0 = datetime(2026, 6, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)

STORES = pytest.mark.parametrize(
    ("db_url", "backend"),
    [
        pytest.param("sqlite", "sql", id="sql-sqlite"),
        pytest.param("postgres", "sql", marks=pytest.mark.postgres, id="sql-postgres"),
        # The SQLite copy made for this case is unused; it keeps `db_url` parametrized once.
        pytest.param("sqlite", "influx", marks=pytest.mark.influx, id="influx"),
    ],
    indirect=["db_url"],
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(sensor: str, ts: datetime, shelter: str = "S1", **values: Any) -> Reading:
    return Reading(shelter_code=shelter, sensor_id=sensor, ts=ts, **values)


def influx_admin(statement: str) -> None:
    response = httpx.post(f"{INFLUX_URL}/query", data={"q": statement}, timeout=10)
    response.raise_for_status()
    assert "error" not in response.json()["results"][0], response.text


def influx_select(database: str, statement: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of a raw InfluxQL select, as column -> value dicts."""
    response = httpx.get(
        f"{INFLUX_URL}/query",
        params={"db": database, "q": statement, "params": json.dumps(params)},
        timeout=10,
    )
    response.raise_for_status()
    rows: list[dict[str, Any]] = []
    for series in response.json()["results"][0].get("series", []):
        rows.extend(
            dict(zip(series["columns"], values, strict=True)) for values in series["values"]
        )
    return rows


@pytest.fixture
def influx_db() -> Iterator[str]:
    """A fresh InfluxDB database, dropped after the test."""
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    ensure_database(INFLUX_URL, name)
    yield name
    influx_admin(f'DROP DATABASE "{name}"')


@pytest.fixture
def store(request: pytest.FixtureRequest, backend: str, db_url: str) -> Iterator[ReadingStore]:
    """The store under test; `db_url` is requested so that STORES can parametrize it."""
    if backend == "sql":
        engine: Engine = request.getfixturevalue("engine")
        yield SqlReadingStore(engine, clock=lambda: NOW)
        return
    database: str = request.getfixturevalue("influx_db")
    influx = InfluxStore(INFLUX_URL, token="", org="shelterwatch", bucket=database)
    yield influx
    influx.close()


RawRow = dict[str, Any]


@pytest.fixture
def stored(request: pytest.FixtureRequest, backend: str) -> Callable[[str], list[RawRow]]:
    """Reads what the backend itself holds for a sensor: tags, the version string and the
    water-leak state."""

    def read(sensor: str) -> list[RawRow]:
        if backend == "sql":
            engine: Engine = request.getfixturevalue("engine")
            with engine.connect() as conn:
                rows = conn.execute(
                    select(
                        ReadingRow.district,
                        ReadingRow.zone,
                        ReadingRow.fire_risk_version,
                        ReadingRow.water_leak,
                    ).where(ReadingRow.sensor_id == sensor)
                ).all()
            return [row._asdict() for row in rows]
        database: str = request.getfixturevalue("influx_db")
        found = influx_select(
            database,
            'SELECT "temperature", "fire_risk_version", "water_leak", "district", "zone" '
            'FROM "shelter_env" WHERE "sensor" = $sensor',
            {"sensor": sensor},
        )
        keys = ("district", "zone", "fire_risk_version", "water_leak")
        return [{k: row[k] for k in keys} for row in found]

    return read


def series_query(
    agg: Aggregate = Aggregate.MEAN,
    *,
    start: datetime = T0,
    end: datetime = T0 + timedelta(hours=2),
    every_s: int = 3600,
    tz: str = "UTC",
    sensor_id: str | None = None,
    metric: Metric = Metric.TEMPERATURE,
    shelter: str = "S1",
) -> SeriesQuery:
    return SeriesQuery(shelter, metric, start, end, every_s, agg, tz, sensor_id)


# Two hours of shelter S1: sensor "a" sends temperature and humidity (once humidity only),
# sensor "b" temperature only; shelter S2 must never show up.
KNOWN = [
    reading("a", at(10), temperature=20.0, humidity=50.0),
    reading("a", at(40), temperature=22.0, humidity=52.0),
    reading("a", at(50), humidity=54.0),
    reading("a", at(65), temperature=18.5, humidity=50.0),
    reading("a", at(80), temperature=21.5, humidity=50.0),
    reading("a", at(110), temperature=20.0, humidity=50.0),
    reading("b", at(30), temperature=10.0),
    reading("b", at(90), temperature=12.5),
    reading("c", at(15), shelter="S2", temperature=99.0),
    reading("a", at(120), temperature=99.0, humidity=99.0),  # at the exclusive end
]
H0, H1 = T0, T0 + timedelta(hours=1)
EXPECTED_SERIES = {
    Aggregate.MEAN: [("a", H0, 21.0), ("a", H1, 20.0), ("b", H0, 10.0), ("b", H1, 12.5)],
    Aggregate.MIN: [("a", H0, 20.0), ("a", H1, 18.5), ("b", H0, 10.0), ("b", H1, 12.5)],
    Aggregate.MAX: [("a", H0, 22.0), ("a", H1, 21.5), ("b", H0, 10.0), ("b", H1, 12.5)],
    Aggregate.LAST: [("a", H0, 22.0), ("a", H1, 20.0), ("b", H0, 10.0), ("b", H1, 12.5)],
    Aggregate.COUNT: [("a", H0, 2.0), ("a", H1, 3.0), ("b", H0, 1.0), ("b", H1, 1.0)],
}


def points(expected: list[tuple[str, datetime, float]]) -> list[SeriesPoint]:
    return [SeriesPoint(sensor, ts, value) for sensor, ts, value in expected]


@STORES
class TestReadingStoreContract:
    def test_write_then_latest_by_measurement_time(self, store: ReadingStore) -> None:
        t1 = datetime(2026, 6, 1, 10, 0, 0, 123_000, tzinfo=UTC)
        t2 = datetime(2026, 6, 1, 10, 5, 0, 456_000, tzinfo=UTC)
        tb = datetime(2026, 6, 1, 9, 0, 0, 1_000, tzinfo=UTC)
        full = reading(
            "a", t1, temperature=20.5, humidity=55.25, fire_risk=12.0,
            fire_risk_version="fri-1", smoke=False, co=3.0, battery=3.7, dew_point=11.0,
        )  # fmt: skip
        # The newer reading arrives first: "latest" is by measurement time, not arrival.
        store.write([reading("a", t2, humidity=56.0), reading("b", tb, temperature=-3.5)])
        store.write([full, reading("c", t2, shelter="S2", temperature=40.0)])

        assert store.latest("S1") == [
            LatestValue("a", Metric.TEMPERATURE, 20.5, t1),
            LatestValue("a", Metric.HUMIDITY, 56.0, t2),
            LatestValue("a", Metric.FIRE_RISK, 12.0, t1),
            LatestValue("a", Metric.DEW_POINT, 11.0, t1),
            LatestValue("a", Metric.CO, 3.0, t1),
            LatestValue("a", Metric.BATTERY, 3.7, t1),
            LatestValue("b", Metric.TEMPERATURE, -3.5, tb),
        ]
        assert store.latest("S2") == [LatestValue("c", Metric.TEMPERATURE, 40.0, t2)]
        assert store.latest("S3") == []

    def test_tags_and_strings_round_trip(
        self, store: ReadingStore, stored: Callable[[str], list[RawRow]]
    ) -> None:
        district = "Xi'an 区=1"
        zone = 'main hall, "east"'
        store.write(
            [
                reading(
                    "a", at(5), temperature=20.0, fire_risk=3.0,
                    fire_risk_version='v"1\\x', water_leak=True, district=district, zone=zone,
                ),
                reading("b", at(5), temperature=21.0, water_leak=False),
                reading("leak", at(6), water_leak=True),
            ]
        )  # fmt: skip
        assert stored("a") == [
            {"district": district, "zone": zone, "fire_risk_version": 'v"1\\x', "water_leak": True}
        ]
        assert [(row["district"] or "", row["zone"] or "") for row in stored("b")] == [("", "")]
        assert [row["water_leak"] for row in stored("b")] == [False]
        assert [row["water_leak"] for row in stored("leak")] == [True]
        assert [v.value for v in store.latest("S1")] == [20.0, 3.0, 21.0]

    def test_rewriting_a_reading_keeps_one(self, store: ReadingStore) -> None:
        first = reading("a", at(10), temperature=20.0)
        store.write([first])
        store.write([first])
        store.write(
            [reading("a", at(10), temperature=21.0), reading("a", at(10), temperature=23.0)]
        )

        assert store.hourly_counts("S1", T0, T0 + timedelta(hours=1)) == {("a", T0): 1}
        assert store.series(series_query(Aggregate.COUNT)) == [SeriesPoint("a", T0, 1.0)]
        assert store.latest("S1") == [LatestValue("a", Metric.TEMPERATURE, 23.0, at(10))]

    def test_batch_of_a_thousand(self, store: ReadingStore) -> None:
        batch = [reading("bulk", at(i), temperature=float(i % 50) + 0.5) for i in range(1000)]
        store.write(batch)

        counts = store.hourly_counts("S1", T0, T0 + timedelta(days=1))
        assert counts == {
            **{("bulk", T0 + timedelta(hours=h)): 60 for h in range(16)},
            ("bulk", T0 + timedelta(hours=16)): 40,
        }
        day = series_query(Aggregate.COUNT, end=T0 + timedelta(days=1), every_s=86_400)
        assert store.series(day) == [SeriesPoint("bulk", T0, 1000.0)]
        assert store.latest("S1") == [LatestValue("bulk", Metric.TEMPERATURE, 49.5, at(999))]

    @pytest.mark.parametrize("agg", list(Aggregate))
    def test_series_aggregates(self, store: ReadingStore, agg: Aggregate) -> None:
        store.write(KNOWN)
        assert store.series(series_query(agg)) == points(EXPECTED_SERIES[agg])

    def test_series_of_another_metric_skips_readings_without_it(self, store: ReadingStore) -> None:
        store.write(KNOWN)
        query = series_query(Aggregate.COUNT, metric=Metric.HUMIDITY)
        assert store.series(query) == points([("a", H0, 3.0), ("a", H1, 3.0)])
        assert store.series(series_query(metric=Metric.CO)) == []

    def test_series_for_one_sensor(self, store: ReadingStore) -> None:
        store.write(KNOWN)
        query = series_query(Aggregate.MAX, sensor_id="b")
        assert store.series(query) == points([("b", H0, 10.0), ("b", H1, 12.5)])
        assert store.series(series_query(sensor_id="nobody")) == []

    def test_series_window_is_half_open(self, store: ReadingStore) -> None:
        store.write(KNOWN)
        query = series_query(Aggregate.COUNT, start=at(40), end=at(80))
        # Buckets stay aligned to the hour although the window starts at 00:40.
        assert store.series(query) == points([("a", H0, 1.0), ("a", H1, 1.0)])

    def test_daily_buckets_start_at_local_midnight(self, store: ReadingStore) -> None:
        store.write(
            [
                reading("d", datetime(2026, 6, 1, 15, 59, tzinfo=UTC), temperature=10.0),
                reading("d", datetime(2026, 6, 1, 16, 1, tzinfo=UTC), temperature=20.0),
                reading("d", datetime(2026, 6, 2, 3, 0, tzinfo=UTC), temperature=30.0),
            ]
        )
        shanghai = series_query(
            start=datetime(2026, 5, 31, 16, 0, tzinfo=UTC),
            end=datetime(2026, 6, 2, 16, 0, tzinfo=UTC),
            every_s=86_400,
            tz="Asia/Shanghai",
        )
        assert store.series(shanghai) == [
            SeriesPoint("d", datetime(2026, 5, 31, 16, 0, tzinfo=UTC), 10.0),
            SeriesPoint("d", datetime(2026, 6, 1, 16, 0, tzinfo=UTC), 25.0),
        ]
        utc = series_query(end=T0 + timedelta(days=2), every_s=86_400, tz="UTC")
        assert store.series(utc) == [
            SeriesPoint("d", T0, 15.0),
            SeriesPoint("d", T0 + timedelta(days=1), 30.0),
        ]

    def test_hourly_counts(self, store: ReadingStore) -> None:
        store.write(KNOWN)
        assert store.hourly_counts("S1", T0, T0 + timedelta(hours=2)) == {
            ("a", H0): 3,
            ("a", H1): 3,
            ("b", H0): 1,
            ("b", H1): 1,
        }
        assert store.hourly_counts("S1", at(40), at(90)) == {("a", H0): 2, ("a", H1): 2}
        assert store.hourly_counts("S2", T0, T0 + timedelta(hours=2)) == {("c", H0): 1}
        assert store.hourly_counts("S1", T0 + timedelta(days=1), NOW) == {}

    def test_hostile_shelter_code_never_reaches_a_query(self, store: ReadingStore) -> None:
        store.write([reading("a", at(1), temperature=1.0)])
        hostile = 'x" OR 1=1'
        with pytest.raises(InvalidQuery):
            store.latest(hostile)
        with pytest.raises(InvalidQuery):
            store.hourly_counts(hostile, T0, NOW)
        with pytest.raises(InvalidQuery):
            store.series(series_query(shelter=hostile))
        with pytest.raises(InvalidQuery):
            store.series(series_query(sensor_id="a' OR ''='"))

    def test_check_and_empty_write(self, store: ReadingStore) -> None:
        store.check()
        store.write([])
        assert store.latest("S1") == []


# ------------------------------------------------------------------ line protocol


def test_line_protocol_escapes_tags_and_strings() -> None:
    line = to_line(
        reading(
            "s-1", datetime(2026, 6, 1, 0, 0, 0, 123_999, tzinfo=UTC), temperature=20.0,
            humidity=55.25, fire_risk=1e-05, fire_risk_version='v"1\\', smoke=True,
            water_leak=True, co=0.0, battery=3.7, dew_point=-1.5, district="Xi'an 区=1",
            zone='main hall, "east"\\x\n',
        )
    )  # fmt: skip
    assert line == (
        "shelter_env,district=Xi'an\\ 区\\=1,sensor=s-1,shelter=S1,"
        'zone=main\\ hall\\,\\ "east"/x\\  '
        'temperature=20.0,humidity=55.25,fire_risk=1e-05,fire_risk_version="v\\"1\\\\",'
        "smoke=true,water_leak=true,co=0.0,battery=3.7,dew_point=-1.5 1780272000123"
    )


def test_line_protocol_leaves_out_empty_tags_and_absent_fields() -> None:
    line = to_line(reading("s", T0, smoke=False), measurement="m")
    assert line == "m,sensor=s,shelter=S1 smoke=false 1780272000000"
    line = to_line(reading("s", T0, water_leak=False), measurement="m")
    assert line == "m,sensor=s,shelter=S1 water_leak=false 1780272000000"


@pytest.mark.parametrize(
    ("values", "message"),
    [({"temperature": float("nan")}, "not a finite number"), ({}, "carries no value")],
)
def test_unstorable_readings_are_rejected_before_sending(
    values: dict[str, Any], message: str
) -> None:
    influx = InfluxStore("http://127.0.0.1:1", "", "o", "b")
    try:
        with pytest.raises(StoreRejected, match=message):
            influx.write([reading("s", T0, **values)])
    finally:
        influx.close()


# --------------------------------------------------------- unreachable or refusing


def assert_all_unavailable(dead: ReadingStore) -> None:
    dead.write([])  # an empty batch does no I/O
    for call in (
        lambda: dead.write([reading("a", T0, temperature=1.0)]),
        lambda: dead.latest("S1"),
        lambda: dead.series(series_query()),
        lambda: dead.hourly_counts("S1", T0, NOW),
        dead.check,
    ):
        with pytest.raises(StoreUnavailable):
            call()


def test_influx_on_a_closed_port_is_unavailable() -> None:
    dead = InfluxStore("http://127.0.0.1:1", "token", "o", "b", timeout_s=2)
    try:
        assert_all_unavailable(dead)
    finally:
        dead.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        "sqlite:////nonexistent-shelterwatch-dir/telemetry.db",
    ],
    ids=["postgres-closed-port", "sqlite-unopenable"],
)
def test_sql_on_an_unreachable_database_is_unavailable(url: str) -> None:
    engine = create_engine(url)
    try:
        assert_all_unavailable(SqlReadingStore(engine))
    finally:
        engine.dispose()


def test_influx_that_never_answers_times_out_as_unavailable() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        influx = InfluxStore(f"http://127.0.0.1:{port}", "", "o", "b", timeout_s=0.3)
        try:
            with pytest.raises(StoreUnavailable, match="timed out"):
                influx.write([reading("a", T0, temperature=1.0)])
            with pytest.raises(StoreUnavailable):
                influx.latest("S1")
        finally:
            influx.close()


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's fixed status and an InfluxDB-style error."""

    server: _RefusingServer

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"error":"refused by the test server"}'
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _RefusingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    status = 500


@pytest.fixture
def refusing() -> Iterator[_RefusingServer]:
    server = _RefusingServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, StoreRejected),
        (413, StoreRejected),
        (422, StoreRejected),
        (401, StoreUnavailable),
        (404, StoreUnavailable),
        (408, StoreUnavailable),
        (429, StoreUnavailable),
        (500, StoreUnavailable),
        (502, StoreUnavailable),
        (503, StoreUnavailable),
    ],
)
def test_influx_http_status_translation(
    refusing: _RefusingServer, status: int, error: type[Exception]
) -> None:
    refusing.status = status
    influx = InfluxStore(f"http://127.0.0.1:{refusing.server_port}", "t", "o", "b", timeout_s=5)
    try:
        with pytest.raises(error, match=f"HTTP {status}") as info:
            influx.write([reading("a", T0, temperature=1.0)])
        assert "refused by the test server" in str(info.value)
        with pytest.raises(error, match=f"HTTP {status}") as info:
            influx.latest("S1")
        assert "refused by the test server" in str(info.value)
        with pytest.raises(StoreUnavailable, match=f"HTTP {status}"):
            influx.check()
    finally:
        influx.close()
    with pytest.raises(error, match=f"HTTP {status}"):
        ensure_database(f"http://127.0.0.1:{refusing.server_port}", "sw", timeout_s=5)


class _Answering(http.server.BaseHTTPRequestHandler):
    """A keep-alive InfluxDB stand-in: 204 to writes and pings, an empty result per InfluxQL
    statement; counts connections and records each request's method, path and token."""

    server: _AnsweringServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append((self.command, url.path, self.headers.get("Authorization")))
        body = b""
        if url.path == "/query":
            statements = parse_qs(url.query)["q"][0].count(";") + 1
            results = [{"statement_id": i} for i in range(statements)]
            body = json.dumps({"results": results}).encode()
        self.send_response(200 if body else 204)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _AnsweringServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answering)
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: list[tuple[str, str, str | None]] = []


def test_influx_reads_and_writes_go_through_one_client() -> None:
    """One connection pool, one token: a read reuses the connection a write opened."""
    server = _AnsweringServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    influx = InfluxStore(f"http://127.0.0.1:{server.server_port}", "t0ken", "o", "db")
    try:
        influx.write([reading("a", T0, temperature=1.0)])
        assert influx.latest("S1") == []
        assert influx.series(series_query()) == []
        influx.check()
        influx.write([reading("a", at(1), temperature=2.0)])
    finally:
        influx.close()
        server.shutdown()
        server.server_close()
        thread.join()
    assert [(method, path) for method, path, _ in server.requests] == [
        ("POST", "/api/v2/write"),
        ("GET", "/query"),
        ("GET", "/query"),
        ("GET", "/ping"),
        ("POST", "/api/v2/write"),
    ]
    assert {token for _, _, token in server.requests} == {"Token t0ken"}
    assert server.connections == 1


@pytest.mark.influx
def test_influx_field_type_conflict_is_rejected(influx_db: str) -> None:
    response = httpx.post(
        f"{INFLUX_URL}/api/v2/write",
        params={"bucket": influx_db, "precision": "ms"},
        content=b'shelter_env,sensor=a,shelter=S1 temperature="warm" 1780272000000',
        timeout=10,
    )
    assert response.status_code == 204, response.text
    influx = InfluxStore(INFLUX_URL, "", "o", influx_db)
    try:
        with pytest.raises(StoreRejected, match="field type conflict"):
            influx.write([reading("a", at(1), temperature=20.0)])
    finally:
        influx.close()


@pytest.mark.influx
def test_influx_bucket_may_name_a_retention_policy(influx_db: str) -> None:
    influx = InfluxStore(INFLUX_URL, "", "o", f"{influx_db}/autogen")
    try:
        influx.write([reading("a", at(1), temperature=20.0)])
        assert influx.latest("S1") == [LatestValue("a", Metric.TEMPERATURE, 20.0, at(1))]
    finally:
        influx.close()
    with pytest.raises(ValueError, match="retention policy"):
        InfluxStore(INFLUX_URL, "", "o", f'{influx_db}/x"y')


@pytest.mark.influx
def test_influx_missing_database_is_unavailable() -> None:
    influx = InfluxStore(INFLUX_URL, "", "o", f"sw_missing_{uuid.uuid4().hex[:12]}")
    try:
        with pytest.raises(StoreUnavailable, match="HTTP 404"):
            influx.write([reading("a", T0, temperature=1.0)])
        with pytest.raises(StoreUnavailable, match="database exist"):
            influx.latest("S1")
        with pytest.raises(StoreUnavailable, match="database exist"):
            influx.hourly_counts("S1", T0, NOW)
        influx.check()
    finally:
        influx.close()


@pytest.mark.influx
def test_ensure_database_sets_the_retention_and_is_idempotent() -> None:
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    try:
        ensure_database(INFLUX_URL, name, retention="365d")
        ensure_database(INFLUX_URL, name, retention="365d")
        policies = influx_select(name, f'SHOW RETENTION POLICIES ON "{name}"', {})
        assert [(p["name"], p["duration"], p["default"]) for p in policies] == [
            ("autogen", "8760h0m0s", True)
        ]
        with pytest.raises(StoreRejected, match="conflicts"):
            ensure_database(INFLUX_URL, name, retention="30d")
    finally:
        influx_admin(f'DROP DATABASE "{name}"')


@pytest.mark.parametrize(
    ("name", "retention", "error"),
    [('x" ; DROP', None, InvalidQuery), ("ok", "365 d", ValueError), ("ok", "1y", ValueError)],
)
def test_ensure_database_validates_its_arguments(
    name: str, retention: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        ensure_database("http://127.0.0.1:1", name, retention=retention)
