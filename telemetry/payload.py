"""Parser for the device telemetry contract: MQTT topic plus JSON payload to readings.

Contract
    Topic ``shelters/{shelter_code}/{sensor_id}/telemetry``; code and id match
    ``[A-Za-z0-9_-]{1,64}``.
    Payload: UTF-8 JSON, one object or an array of objects. Per object:

    - ``ts``: epoch milliseconds (JSON number) or an RFC 3339 string with an offset
      (``Z`` or ``±hh:mm``; leap second 60 is refused); absent or null means the receive time.
    - ``temperature``, ``humidity``, ``fire_risk`` (numbers) and ``water_leak`` (boolean, true
      when a 水浸 sensor detects water): at least one must be present.
    - ``smoke`` (boolean), ``co`` and ``battery`` (numbers): optional.
    - Other keys are ignored; null counts as absent.

Each element of a batch is judged alone, so one bad element never loses the others. Sensor
registration is not checked here: that needs the register, and belongs to the caller.

This runs inside the MQTT callback at tens of thousands of messages per second: the good path
raises nothing and does no regex work for numeric timestamps.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import orjson

from telemetry.readings import (
    BATTERY_RANGE,
    CO_RANGE,
    FIRE_RISK_FROM_DEVICE,
    FIRE_RISK_RANGE,
    HUMIDITY_RANGE,
    RAW_LIMIT,
    TEMPERATURE_RANGE,
    Reading,
    Rejection,
    RejectReason,
)

MAX_BYTES: Final = 262_144
MAX_BATCH: Final = 1000
MAX_FUTURE: Final = timedelta(minutes=5)
RETENTION: Final = timedelta(days=365)

_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_SHOW_LIMIT: Final = 40

ReadingFactory = Callable[
    [
        str,
        str,
        datetime,
        float | None,
        float | None,
        float | None,
        str | None,
        bool | None,
        bool | None,
        float | None,
        float | None,
    ],
    Reading,
]
"""Builds an accepted reading from (shelter_code, sensor_id, ts, temperature, humidity,
fire_risk, fire_risk_version, smoke, water_leak, co, battery); ``Reading`` itself by default.
The ingester passes one that enriches and places the reading in the same construction."""


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Readings accepted from one message and the rejections, in payload order."""

    readings: list[Reading] = field(default_factory=list)
    rejects: list[Rejection] = field(default_factory=list)


class _Invalid(Exception):
    """One element is refused; raised only on the bad path."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_topic(topic: str) -> tuple[str, str] | None:
    """``(shelter_code, sensor_id)`` of a telemetry topic, or None if it is not one."""
    return _topic_ids(topic)


# A deployment has a bounded set of sensors, so a topic repeats on every message; the cache
# saves the split and two regex matches per message. Bounded against floods of random topics.
@lru_cache(maxsize=16_384)
def _topic_ids(topic: str) -> tuple[str, str] | None:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "shelters" or parts[3] != "telemetry":
        return None
    code, sensor = parts[1], parts[2]
    if _SEGMENT.fullmatch(code) is None or _SEGMENT.fullmatch(sensor) is None:
        return None
    return code, sensor


def parse_payload(
    topic: str,
    payload: bytes,
    received_at: datetime,
    *,
    max_bytes: int = MAX_BYTES,
    max_batch: int = MAX_BATCH,
    max_future: timedelta = MAX_FUTURE,
    retention: timedelta = RETENTION,
    raw_limit: int = RAW_LIMIT,
    make: ReadingFactory = Reading,
) -> ParseResult:
    """Judge one MQTT message; never raises for any topic or payload.

    A message refused as a whole (bad topic, too large, not JSON, too many elements, not an
    object or array) gives one rejection with index None. Otherwise each object gives a
    reading or a rejection; rejections of batch elements carry their index.

    Timestamps later than ``received_at + max_future`` or earlier than
    ``received_at - retention`` are refused. Each accepted reading is built by `make`.

    Raises:
        ValueError: ``received_at`` is naive (a programming error, not bad input).
    """
    if received_at.utcoffset() is None:
        raise ValueError("received_at must be tz-aware")
    if received_at.tzinfo is not UTC:
        received_at = received_at.astimezone(UTC)

    def whole(reason: RejectReason, detail: str) -> ParseResult:
        return _whole(topic, payload, received_at, reason, detail, raw_limit=raw_limit)

    ids = _topic_ids(topic)
    if ids is None:
        return whole(RejectReason.BAD_TOPIC, f"not a telemetry topic: {_show(topic)}")
    if len(payload) > max_bytes:
        return whole(
            RejectReason.PAYLOAD_TOO_LARGE, f"payload {len(payload)} bytes, limit {max_bytes}"
        )
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # orjson (several times faster) reads strict JSON. What it refuses is read again by
        # the standard decoder, which also takes NaN, Infinity, numbers beyond a double and
        # deeper nesting, so that those get the specific reasons below, not "malformed".
        # (orjson reads an integer beyond 64 bits as a float: out of range all the same.)
        try:
            doc = json.loads(payload.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            # ValueError covers bad UTF-8, bad JSON and integers beyond the int-digit limit;
            # RecursionError, nesting too deep for the decoder.
            return whole(RejectReason.MALFORMED_JSON, str(exc)[:200])

    code, sensor = ids
    judge = _Judge(code, sensor, received_at, max_future, retention, make)

    if type(doc) is dict:
        try:
            return ParseResult(readings=[judge.reading(doc)])
        except _Invalid as bad:
            rejection = Rejection.build(
                topic, bad.reason, bad.detail, _dump(doc), received_at, raw_limit=raw_limit
            )
            return ParseResult(rejects=[rejection])
    if type(doc) is not list:
        return whole(
            RejectReason.NOT_AN_OBJECT, f"payload is {_json_type(doc)}, expected object or array"
        )
    if len(doc) > max_batch:
        return whole(
            RejectReason.BATCH_TOO_LARGE, f"batch of {len(doc)} elements, limit {max_batch}"
        )

    result = ParseResult()
    readings, rejects = result.readings, result.rejects
    reading = judge.reading
    for index, element in enumerate(doc):
        try:
            if type(element) is not dict:
                raise _Invalid(
                    RejectReason.NOT_AN_OBJECT,
                    f"element is {_json_type(element)}, expected object",
                )
            readings.append(reading(element))
        except _Invalid as bad:
            rejects.append(
                Rejection.build(
                    topic,
                    bad.reason,
                    bad.detail,
                    _dump(element),
                    received_at,
                    index=index,
                    raw_limit=raw_limit,
                )
            )
    return result


_T_LO, _T_HI = TEMPERATURE_RANGE
_H_LO, _H_HI = HUMIDITY_RANGE


class _Judge:
    """Turns decoded objects of one message into readings; bounds are computed once."""

    __slots__ = ("_code", "_hi_ms", "_lo_ms", "_make", "_received_at", "_sensor")

    def __init__(
        self,
        code: str,
        sensor: str,
        received_at: datetime,
        max_future: timedelta,
        retention: timedelta,
        make: ReadingFactory = Reading,
    ) -> None:
        self._make = make
        self._code = code
        self._sensor = sensor
        self._received_at = received_at
        # Bounds in epoch milliseconds as floats: cheaper to build per message than datetimes,
        # and they cannot overflow whatever the configured window.
        received_ms = received_at.timestamp() * 1000.0
        self._hi_ms = received_ms + max_future.total_seconds() * 1000.0
        self._lo_ms = received_ms - retention.total_seconds() * 1000.0

    def reading(self, obj: dict[str, Any]) -> Reading:
        """The reading for one object, or `_Invalid`."""
        # Per reading: a float within range passes inline, anything else goes to _number
        # (an int becomes a float; everything else is refused with its reason).
        get = obj.get
        temperature = get("temperature")
        if temperature is not None and not (
            type(temperature) is float and _T_LO <= temperature <= _T_HI
        ):
            temperature = _number(obj, "temperature", TEMPERATURE_RANGE)
        humidity = get("humidity")
        if humidity is not None and not (type(humidity) is float and _H_LO <= humidity <= _H_HI):
            humidity = _number(obj, "humidity", HUMIDITY_RANGE)
        fire_risk = get("fire_risk")
        if fire_risk is not None:
            fire_risk = _number(obj, "fire_risk", FIRE_RISK_RANGE)
        co = get("co")
        if co is not None:
            co = _number(obj, "co", CO_RANGE)
        battery = get("battery")
        if battery is not None:
            battery = _number(obj, "battery", BATTERY_RANGE)
        smoke = get("smoke")
        if smoke is not None and type(smoke) is not bool:
            raise _Invalid(RejectReason.NOT_A_NUMBER, f"smoke {_show(smoke)} is not true or false")
        water_leak = get("water_leak")
        if water_leak is not None and type(water_leak) is not bool:
            raise _Invalid(
                RejectReason.NOT_A_NUMBER, f"water_leak {_show(water_leak)} is not true or false"
            )
        if temperature is None and humidity is None and fire_risk is None and water_leak is None:
            raise _Invalid(
                RejectReason.NO_METRIC,
                "none of temperature, humidity, fire_risk, water_leak present",
            )
        return self._make(
            self._code,
            self._sensor,
            self._timestamp(obj.get("ts")),
            temperature,
            humidity,
            fire_risk,
            None if fire_risk is None else FIRE_RISK_FROM_DEVICE,
            smoke,
            water_leak,
            co,
            battery,
        )

    def _timestamp(self, ts: Any) -> datetime:
        if ts is None:
            return self._received_at
        kind = type(ts)
        if kind is int or kind is float:
            ms = ts
            # NaN and ±Infinity (accepted by json.loads as an extension) give NaN here.
            if ms - ms != 0:
                raise _Invalid(RejectReason.BAD_TIMESTAMP, f"ts {_show(ms)} is not finite")
            if ms > self._hi_ms:
                raise _Invalid(RejectReason.FUTURE_TIMESTAMP, f"ts {_show(ms)} ms is in the future")
            if ms < self._lo_ms:
                raise _Invalid(RejectReason.TOO_OLD, f"ts {_show(ms)} ms is older than retention")
            try:
                return datetime.fromtimestamp(ms / 1000.0, UTC)
            except (OverflowError, OSError, ValueError):
                raise _Invalid(
                    RejectReason.BAD_TIMESTAMP, f"ts {_show(ms)} ms out of calendar"
                ) from None
        if kind is str:
            return self._rfc3339(ts)
        raise _Invalid(
            RejectReason.BAD_TIMESTAMP,
            f"ts is {_json_type(ts)}, expected epoch milliseconds or RFC 3339 string",
        )

    def _rfc3339(self, text: str) -> datetime:
        match = _RFC3339.fullmatch(text)
        if match is None:
            raise _Invalid(RejectReason.BAD_TIMESTAMP, f"ts {_show(text)} is not RFC 3339")
        if match.group("offset") is None:
            raise _Invalid(RejectReason.NAIVE_TIMESTAMP, f"ts {_show(text)} has no UTC offset")
        try:
            # fromisoformat refuses the lower-case "t" and "z" that RFC 3339 allows.
            when = datetime.fromisoformat(text.upper()).astimezone(UTC)
        except (ValueError, OverflowError):
            raise _Invalid(
                RejectReason.BAD_TIMESTAMP, f"ts {_show(text)} is not a valid instant"
            ) from None
        ms = when.timestamp() * 1000.0
        if ms > self._hi_ms:
            raise _Invalid(RejectReason.FUTURE_TIMESTAMP, f"ts {_show(text)} is in the future")
        if ms < self._lo_ms:
            raise _Invalid(RejectReason.TOO_OLD, f"ts {_show(text)} is older than retention")
        return when


def _whole(
    topic: str,
    payload: bytes,
    received_at: datetime,
    reason: RejectReason,
    detail: str,
    *,
    raw_limit: int,
) -> ParseResult:
    # A character takes at most 4 bytes in UTF-8, so this slice keeps raw_limit characters
    # without decoding a payload that may be huge.
    raw = payload[: raw_limit * 4].decode("utf-8", "replace")
    rejection = Rejection.build(topic, reason, detail, raw, received_at, raw_limit=raw_limit)
    return ParseResult(rejects=[rejection])


def _number(obj: dict[str, Any], key: str, bounds: tuple[float, float]) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    kind = type(value)
    # Exact type tests: bool is a subclass of int but is not a number in the contract.
    if kind is float:
        # NaN and ±Infinity, which json.loads accepts as an extension, give NaN here.
        if value - value != 0:
            raise _Invalid(RejectReason.NOT_A_NUMBER, f"{key} {_show(value)} is not finite")
    elif kind is not int:
        raise _Invalid(
            RejectReason.NOT_A_NUMBER, f"{key} is {_json_type(value)}, expected a number"
        )
    low, high = bounds
    if not low <= value <= high:
        raise _Invalid(RejectReason.OUT_OF_RANGE, f"{key} {_show(value)} outside {low:g}..{high:g}")
    return float(value)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 1] + "…"


def _dump(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        # Nesting the decoder accepted may still defeat the encoder near the recursion limit.
        return "<unprintable>"
