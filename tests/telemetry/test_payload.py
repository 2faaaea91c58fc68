"""Device contract parser: topics, timestamps, value checks, batches and every reject reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from telemetry.payload import ParseResult, parse_payload, parse_topic
from telemetry.readings import Reading, Rejection, RejectReason

TOPIC = "shelters/SH-001/s_7/telemetry"
RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
RECEIVED_MS = 1_748_779_200_000


def _payload(value: object) -> bytes:
    return json.dumps(value).encode()


def _parse(value: object, **kwargs: Any) -> ParseResult:
    return parse_payload(TOPIC, _payload(value), RECEIVED, **kwargs)


def _only_reject(result: ParseResult) -> Rejection:
    assert result.readings == []
    assert len(result.rejects) == 1
    return result.rejects[0]


def _only_reading(result: ParseResult) -> Reading:
    assert result.rejects == []
    assert len(result.readings) == 1
    return result.readings[0]


def test_received_constant_matches_epoch_ms() -> None:
    assert RECEIVED.timestamp() * 1000 == RECEIVED_MS


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("shelters/SH-001/s_7/telemetry", ("SH-001", "s_7")),
        ("shelters/" + "a" * 64 + "/b/telemetry", ("a" * 64, "b")),
        ("shelters/" + "a" * 65 + "/b/telemetry", None),
        ("shelters//s/telemetry", None),
        ("shelters/SH 1/s/telemetry", None),
        ("shelters/SH.1/s/telemetry", None),
        ("shelters/SH/s/status", None),
        ("shelter/SH/s/telemetry", None),
        ("shelters/SH/s/telemetry/extra", None),
        ("shelters/SH/telemetry", None),
        ("/shelters/SH/s/telemetry", None),
        ("$share/g/shelters/SH/s/telemetry", None),
        ("shelters/SH١/s/telemetry", None),  # Arabic-Indic digit: not ASCII
        ("shelters/+/s/telemetry", None),
    ],
)
def test_parse_topic(topic: str, expected: tuple[str, str] | None) -> None:
    assert parse_topic(topic) == expected


def test_single_object_becomes_reading_with_all_fields() -> None:
    reading = _only_reading(
        _parse(
            {
                "ts": RECEIVED_MS - 60_000,
                "temperature": 21,
                "humidity": 55.5,
                "fire_risk": 12,
                "smoke": False,
                "water_leak": True,
                "co": 3.5,
                "battery": 3.7,
                "firmware": "1.2",
            }
        )
    )
    assert reading == Reading(
        shelter_code="SH-001",
        sensor_id="s_7",
        ts=datetime(2025, 6, 1, 11, 59, tzinfo=UTC),
        temperature=21.0,
        humidity=55.5,
        fire_risk=12.0,
        fire_risk_version="device",
        smoke=False,
        water_leak=True,
        co=3.5,
        battery=3.7,
    )
    assert type(reading.temperature) is float


def test_absent_and_null_metrics_are_none_and_version_only_with_fire_risk() -> None:
    reading = _only_reading(
        _parse({"humidity": 40, "temperature": None, "smoke": None, "water_leak": None})
    )
    assert reading.humidity == 40.0
    assert reading.temperature is None
    assert reading.fire_risk is None
    assert reading.fire_risk_version is None
    assert reading.smoke is None
    assert reading.water_leak is None
    assert reading.dew_point is None


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (RECEIVED_MS, RECEIVED),
        (RECEIVED_MS - 1, RECEIVED - timedelta(milliseconds=1)),
        (RECEIVED_MS - 0.5, RECEIVED - timedelta(microseconds=500)),
        (float(RECEIVED_MS - 3_600_000), RECEIVED - timedelta(hours=1)),
        ("2025-06-01T12:00:00Z", RECEIVED),
        ("2025-06-01t12:00:00z", RECEIVED),
        ("2025-06-01 12:00:00Z", RECEIVED),
        ("2025-06-01T20:00:00+08:00", RECEIVED),
        ("2025-06-01T06:30:00-05:30", RECEIVED),
        ("2025-06-01T12:00:00-00:00", RECEIVED),
        ("2025-06-01T11:59:59.25Z", RECEIVED - timedelta(milliseconds=750)),
        ("2025-06-01T11:59:59.123456789Z", RECEIVED - timedelta(microseconds=876_544)),
        (None, RECEIVED),
    ],
)
def test_timestamps_epoch_ms_and_rfc3339_become_utc(ts: object, expected: datetime) -> None:
    reading = _only_reading(_parse({"ts": ts, "temperature": 20}))
    assert reading.ts == expected
    assert reading.ts.tzinfo is UTC


def test_missing_ts_is_received_at_in_utc() -> None:
    received = datetime(2025, 6, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    result = parse_payload(TOPIC, b'{"temperature": 20}', received)
    reading = _only_reading(result)
    assert reading.ts == RECEIVED
    assert reading.ts.tzinfo is UTC


def test_naive_received_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        parse_payload(TOPIC, b'{"temperature": 20}', datetime(2025, 6, 1, 12, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ("2025-06-01T12:00:00", RejectReason.NAIVE_TIMESTAMP),
        ("2025-06-01T12:00:00.500", RejectReason.NAIVE_TIMESTAMP),
        ("2025-06-01", RejectReason.BAD_TIMESTAMP),
        ("2025-06-01T12:00Z", RejectReason.BAD_TIMESTAMP),
        ("20250601T120000Z", RejectReason.BAD_TIMESTAMP),
        ("2025-13-01T12:00:00Z", RejectReason.BAD_TIMESTAMP),
        ("2025-06-01T12:00:60Z", RejectReason.BAD_TIMESTAMP),
        ("2025-06-01T12:00:00+24:00", RejectReason.BAD_TIMESTAMP),
        ("0001-01-01T00:00:00+01:00", RejectReason.BAD_TIMESTAMP),
        ("yesterday", RejectReason.BAD_TIMESTAMP),
        (str(RECEIVED_MS), RejectReason.BAD_TIMESTAMP),
        (True, RejectReason.BAD_TIMESTAMP),
        ([RECEIVED_MS], RejectReason.BAD_TIMESTAMP),
        ({"ms": RECEIVED_MS}, RejectReason.BAD_TIMESTAMP),
        (float("nan"), RejectReason.BAD_TIMESTAMP),
        (float("inf"), RejectReason.BAD_TIMESTAMP),
        (RECEIVED_MS + 300_001, RejectReason.FUTURE_TIMESTAMP),
        ("2025-06-01T12:05:01Z", RejectReason.FUTURE_TIMESTAMP),
        ("2025-06-01T20:05:01+08:00", RejectReason.FUTURE_TIMESTAMP),
        (10**30, RejectReason.FUTURE_TIMESTAMP),
        (RECEIVED_MS - 365 * 86_400_000 - 1, RejectReason.TOO_OLD),
        ("2024-06-01T11:59:59Z", RejectReason.TOO_OLD),
        (-(10**30), RejectReason.TOO_OLD),
        (0, RejectReason.TOO_OLD),
    ],
)
def test_bad_timestamps_are_rejected(ts: object, reason: RejectReason) -> None:
    rejection = _only_reject(_parse({"ts": ts, "temperature": 20}))
    assert rejection.reason is reason
    assert rejection.index is None
    assert "ts" in rejection.detail


@pytest.mark.parametrize(
    "ts",
    [
        RECEIVED_MS + 300_000,
        "2025-06-01T12:05:00Z",
        RECEIVED_MS - 365 * 86_400_000,
        "2024-06-01T12:00:00Z",
    ],
)
def test_timestamp_window_is_inclusive(ts: object) -> None:
    _only_reading(_parse({"ts": ts, "temperature": 20}))


def test_window_follows_parameters() -> None:
    obj = {"ts": RECEIVED_MS + 2_000, "temperature": 20}
    tight = _parse(obj, max_future=timedelta(seconds=1))
    assert _only_reject(tight).reason is RejectReason.FUTURE_TIMESTAMP
    old = {"ts": RECEIVED_MS - 2 * 86_400_000, "temperature": 20}
    short = _parse(old, retention=timedelta(days=1))
    assert _only_reject(short).reason is RejectReason.TOO_OLD


@pytest.mark.parametrize(
    ("obj", "reason", "detail"),
    [
        ({"humidity": 130.0}, RejectReason.OUT_OF_RANGE, "humidity 130.0 outside 0..100"),
        ({"humidity": -0.1}, RejectReason.OUT_OF_RANGE, "humidity -0.1 outside 0..100"),
        ({"temperature": 85.01}, RejectReason.OUT_OF_RANGE, "temperature 85.01 outside -40..85"),
        ({"temperature": -41}, RejectReason.OUT_OF_RANGE, "temperature -41 outside -40..85"),
        ({"fire_risk": 101}, RejectReason.OUT_OF_RANGE, "fire_risk 101 outside 0..100"),
        (
            {"temperature": 20, "co": 10001},
            RejectReason.OUT_OF_RANGE,
            "co 10001 outside 0..10000",
        ),
        (
            {"temperature": 20, "battery": 60.5},
            RejectReason.OUT_OF_RANGE,
            "battery 60.5 outside 0..60",
        ),
        ({"temperature": 10**400}, RejectReason.OUT_OF_RANGE, "temperature 1000000"),
        ({"temperature": "21.5"}, RejectReason.NOT_A_NUMBER, "temperature is a string"),
        ({"humidity": True}, RejectReason.NOT_A_NUMBER, "humidity is a boolean"),
        ({"fire_risk": [1]}, RejectReason.NOT_A_NUMBER, "fire_risk is an array"),
        ({"temperature": {"v": 1}}, RejectReason.NOT_A_NUMBER, "temperature is an object"),
        ({"temperature": 20, "co": "low"}, RejectReason.NOT_A_NUMBER, "co is a string"),
        ({"temperature": 20, "battery": False}, RejectReason.NOT_A_NUMBER, "battery is a boolean"),
        ({"temperature": 20, "smoke": 1}, RejectReason.NOT_A_NUMBER, "smoke 1 is not true"),
        ({"temperature": 20, "smoke": "yes"}, RejectReason.NOT_A_NUMBER, "smoke 'yes' is not"),
        ({"water_leak": 1}, RejectReason.NOT_A_NUMBER, "water_leak 1 is not true or false"),
        ({"water_leak": 0.0}, RejectReason.NOT_A_NUMBER, "water_leak 0.0 is not true or"),
        ({"water_leak": "true"}, RejectReason.NOT_A_NUMBER, "water_leak 'true' is not true"),
        ({"temperature": 20, "water_leak": "wet"}, RejectReason.NOT_A_NUMBER, "water_leak 'wet'"),
        ({}, RejectReason.NO_METRIC, "none of temperature, humidity, fire_risk, water_leak"),
        (
            {"smoke": True, "co": 5, "battery": 3.1, "ts": RECEIVED_MS},
            RejectReason.NO_METRIC,
            "none of",
        ),
        ({"temperature": None, "humidity": None}, RejectReason.NO_METRIC, "none of"),
    ],
)
def test_bad_values_are_rejected(obj: dict[str, object], reason: RejectReason, detail: str) -> None:
    rejection = _only_reject(_parse(obj))
    assert rejection.reason is reason
    assert rejection.detail.startswith(detail)
    assert rejection.topic == TOPIC
    assert rejection.received_at == RECEIVED
    assert rejection.index is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('{"temperature": NaN}', "temperature"),
        ('{"humidity": Infinity}', "humidity"),
        ('{"fire_risk": -Infinity}', "fire_risk"),
        ('{"temperature": 20, "co": NaN}', "co"),
    ],
)
def test_nan_and_infinity_literals_are_not_numbers(text: str, key: str) -> None:
    rejection = _only_reject(parse_payload(TOPIC, text.encode(), RECEIVED))
    assert rejection.reason is RejectReason.NOT_A_NUMBER
    assert rejection.detail.startswith(f"{key} ")
    assert rejection.raw == text


@pytest.mark.parametrize(
    ("obj", "field", "value"),
    [
        ({"temperature": -40}, "temperature", -40.0),
        ({"temperature": 85}, "temperature", 85.0),
        ({"humidity": 0}, "humidity", 0.0),
        ({"humidity": 100}, "humidity", 100.0),
        ({"fire_risk": 0}, "fire_risk", 0.0),
        ({"fire_risk": 100}, "fire_risk", 100.0),
        ({"temperature": 1, "co": 0}, "co", 0.0),
        ({"temperature": 1, "co": 10000}, "co", 10000.0),
        ({"temperature": 1, "battery": 0}, "battery", 0.0),
        ({"temperature": 1, "battery": 60}, "battery", 60.0),
        ({"temperature": 1, "smoke": True}, "smoke", True),
        ({"water_leak": True}, "water_leak", True),
        ({"water_leak": False}, "water_leak", False),
    ],
)
def test_range_limits_are_inclusive(obj: dict[str, object], field: str, value: object) -> None:
    reading = _only_reading(_parse(obj))
    assert getattr(reading, field) == value


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "kwargs"),
    [
        ("shelters/SH/s/status", b'{"temperature": 20}', RejectReason.BAD_TOPIC, {}),
        ("shelters/S H/s/telemetry", b'{"temperature": 20}', RejectReason.BAD_TOPIC, {}),
        (TOPIC, b'{"temperature": 20}', RejectReason.PAYLOAD_TOO_LARGE, {"max_bytes": 18}),
        (TOPIC, b"x" * 262_145, RejectReason.PAYLOAD_TOO_LARGE, {}),
        (TOPIC, b'{"temperature": 20', RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b"", RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b'{"temperature": 20}{}', RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b'{"temperature": 20, "note": "\xff"}', RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b'\xef\xbb\xbf{"temperature": 20}', RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b"[" * 100_000 + b"]" * 100_000, RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b'{"temperature": ' + b"1" * 5000 + b"}", RejectReason.MALFORMED_JSON, {}),
        (TOPIC, b"20.5", RejectReason.NOT_AN_OBJECT, {}),
        (TOPIC, b'"hello"', RejectReason.NOT_AN_OBJECT, {}),
        (TOPIC, b"null", RejectReason.NOT_AN_OBJECT, {}),
        (TOPIC, b"true", RejectReason.NOT_AN_OBJECT, {}),
        (TOPIC, _payload([{"temperature": 1}] * 3), RejectReason.BATCH_TOO_LARGE, {"max_batch": 2}),
        (TOPIC, _payload([{"temperature": 1}] * 1001), RejectReason.BATCH_TOO_LARGE, {}),
    ],
)
def test_whole_payload_rejections(
    topic: str, payload: bytes, reason: RejectReason, kwargs: dict[str, Any]
) -> None:
    rejection = _only_reject(parse_payload(topic, payload, RECEIVED, **kwargs))
    assert rejection.reason is reason
    assert rejection.index is None
    assert rejection.topic == topic
    assert len(rejection.raw) <= 2048
    assert rejection.raw == payload[:2048].decode("utf-8", "replace")[:2048]


def test_size_limit_is_inclusive() -> None:
    payload = b'{"temperature": 20}'
    result = parse_payload(TOPIC, payload, RECEIVED, max_bytes=len(payload))
    assert _only_reading(result).temperature == 20.0


def test_batch_limit_is_inclusive() -> None:
    result = _parse([{"temperature": 1}] * 2, max_batch=2)
    assert len(result.readings) == 2
    assert result.rejects == []


def test_batch_keeps_good_elements_and_rejects_bad_ones_by_index() -> None:
    batch = [
        {"ts": RECEIVED_MS - 2000, "temperature": 20},
        {"ts": RECEIVED_MS - 1000, "humidity": 130.0},
        [1, 2],
        {"ts": "2025-06-01T12:00:00+02:00", "humidity": 50},
        {"ts": "2025-06-01T11:59:59", "temperature": 21},
        {"fire_risk": 30, "smoke": True},
        {"battery": 3.3},
        None,
        {"water_leak": True, "battery": 3.0},
        {"ts": RECEIVED_MS + 3_600_000, "temperature": 22},
    ]
    result = _parse(batch)
    assert [(r.ts, r.temperature, r.humidity, r.fire_risk) for r in result.readings] == [
        (RECEIVED - timedelta(seconds=2), 20.0, None, None),
        (RECEIVED - timedelta(hours=2), None, 50.0, None),
        (RECEIVED, None, None, 30.0),
        (RECEIVED, None, None, None),
    ]
    assert [r.water_leak for r in result.readings] == [None, None, None, True]
    assert [(r.index, r.reason) for r in result.rejects] == [
        (1, RejectReason.OUT_OF_RANGE),
        (2, RejectReason.NOT_AN_OBJECT),
        (4, RejectReason.NAIVE_TIMESTAMP),
        (6, RejectReason.NO_METRIC),
        (7, RejectReason.NOT_AN_OBJECT),
        (9, RejectReason.FUTURE_TIMESTAMP),
    ]
    assert json.loads(result.rejects[0].raw) == batch[1]
    assert result.rejects[1].raw == "[1, 2]"
    assert result.rejects[1].detail == "element is an array, expected object"
    assert result.rejects[4].raw == "null"
    assert all(r.topic == TOPIC and r.received_at == RECEIVED for r in result.rejects)


def test_empty_batch_gives_nothing() -> None:
    assert _parse([]) == ParseResult(readings=[], rejects=[])


@pytest.mark.parametrize("raw_limit", [10, 2048])
def test_raw_of_rejected_element_is_truncated(raw_limit: int) -> None:
    obj = {"humidity": 130, "note": "é" * 5000}
    rejection = _only_reject(_parse([obj], raw_limit=raw_limit))
    assert rejection.index == 0
    assert rejection.raw == json.dumps(obj, ensure_ascii=False)[:raw_limit]
    assert len(rejection.raw) == raw_limit


def test_raw_of_whole_payload_rejection_is_truncated_by_characters() -> None:
    payload = ("[" + "好" * 3000).encode()
    rejection = _only_reject(parse_payload(TOPIC, payload, RECEIVED, raw_limit=100))
    assert rejection.reason is RejectReason.MALFORMED_JSON
    assert rejection.raw == "[" + "好" * 99


def test_rejection_build_truncates_raw() -> None:
    rejection = Rejection.build(
        TOPIC, RejectReason.UNKNOWN_SENSOR, "sensor s_7 not registered", "x" * 3000, RECEIVED
    )
    assert len(rejection.raw) == 2048
    assert rejection.index is None
    assert rejection.reason == "unknown_sensor"


def test_reading_is_frozen() -> None:
    reading = Reading("SH", "s", RECEIVED, temperature=1.0)
    with pytest.raises(AttributeError):
        reading.temperature = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "temperature"),
    [
        ('{"temperature": 20.5, "temperature": 21.5}', 21.5),  # the last of duplicate keys
        ('{"note": "\\ud800", "temperature": 19.0}', 19.0),  # a lone surrogate, ignored key
        ('{"temperature": 1e1}', 10.0),
        ('{"temperature": -0.0}', -0.0),
        ('{"temperature": 7}', 7.0),
    ],
)
def test_strict_and_lenient_decoders_read_valid_json_alike(text: str, temperature: float) -> None:
    received = datetime(2026, 5, 1, tzinfo=UTC)
    result = parse_payload("shelters/SH-1/S-1/telemetry", text.encode(), received)
    assert result.rejects == []
    assert [r.temperature for r in result.readings] == [temperature]
    assert type(result.readings[0].temperature) is float


def test_nesting_too_deep_for_both_decoders_is_malformed() -> None:
    text = "[" * 100_000 + "]" * 100_000
    received = datetime(2026, 5, 1, tzinfo=UTC)
    result = parse_payload("shelters/SH-1/S-1/telemetry", text.encode(), received)
    assert [r.reason for r in result.rejects] == [RejectReason.MALFORMED_JSON]
