"""Epoch milliseconds: floor for instants, ceiling for window bounds, exact both ways, pinned
at sub-millisecond and negative (before 1970) values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from telemetry.instants import EPOCH, ceil_ms, from_ms, to_ms

US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("offset", "floor", "ceil"),
    [
        (timedelta(0), 0, 0),
        (900 * US, 0, 1),
        (100 * US, 0, 1),
        (timedelta(milliseconds=1), 1, 1),
        (1999 * US, 1, 2),
        (-100 * US, -1, 0),
        (-900 * US, -1, 0),
        (timedelta(milliseconds=-1), -1, -1),
        (-1001 * US, -2, -1),
        (timedelta(days=-1, microseconds=1), -86_400_000, -86_399_999),
    ],
)
def test_rounding_at_sub_millisecond_and_negative_instants(
    offset: timedelta, floor: int, ceil: int
) -> None:
    when = EPOCH + offset
    assert (to_ms(when), ceil_ms(when)) == (floor, ceil)


def test_after_1970_the_floor_is_what_truncating_the_float_timestamp_gave() -> None:
    """The spool, the simulator and DingTalk's signature used ``int(ts.timestamp() * 1000)``;
    for every instant after 1970 the value is the same."""
    base = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)
    for us in (0, 1, 499, 500, 999, 123_456, 999_999):
        when = base + us * US
        assert to_ms(when) == int(when.timestamp() * 1000)
    before = EPOCH - 100 * US
    assert int(before.timestamp() * 1000) == 0  # truncation toward zero
    assert to_ms(before) == -1  # floor: the millisecond that contains it


def test_from_ms_is_exact_utc_and_inverts_to_ms() -> None:
    assert from_ms(0) == EPOCH
    assert from_ms(-1) == EPOCH - timedelta(milliseconds=1)
    assert from_ms(1_780_277_400_123) == datetime(2026, 6, 1, 1, 30, 0, 123_000, tzinfo=UTC)
    assert from_ms(1_780_277_400_123).tzinfo is UTC
    for ms in (-86_400_001, -1, 0, 1, 1_780_277_400_123, 253_402_300_799_999):
        assert to_ms(from_ms(ms)) == ms == ceil_ms(from_ms(ms))


def test_the_zone_of_an_instant_does_not_matter() -> None:
    shanghai = timezone(timedelta(hours=8))
    when = datetime(2026, 6, 1, 9, 30, 0, 123_900, tzinfo=shanghai)
    assert to_ms(when) == 1_780_277_400_123
    assert ceil_ms(when) == 1_780_277_400_124
