"""Instants as epoch milliseconds (the unit of the device contract, the spool and the stores):
the one definition of the conversions, exact in integer arithmetic (no floating point).

- :func:`to_ms`: the millisecond that contains an instant, rounding down (floor):
  0.9 ms after the epoch is 0, 0.1 ms before it is -1;
- :func:`ceil_ms`: the first millisecond at or after an instant (query window bounds):
  0.1 ms after the epoch is 1, 0.9 ms before it is 0;
- :func:`from_ms`: the instant a millisecond starts, in UTC.

For instants after 1970 floor is what ``int(when.timestamp() * 1000)`` (truncation toward
zero) gives, so callers that used it keep their values; the two differ only before 1970.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)


def to_ms(when: datetime) -> int:
    """Epoch milliseconds of the millisecond containing ``when`` (tz-aware), rounded down."""
    return (when - EPOCH) // _ONE_MS


def ceil_ms(when: datetime) -> int:
    """Epoch milliseconds of ``when`` (tz-aware) rounded up: the first whole millisecond at or
    after it."""
    return -((EPOCH - when) // _ONE_MS)


def from_ms(ms: int) -> datetime:
    """The instant (UTC) at which epoch millisecond ``ms`` starts."""
    return EPOCH + timedelta(milliseconds=ms)


def maybe_from_ms(ms: int | None) -> datetime | None:
    """:func:`from_ms` of a column that may be empty."""
    return None if ms is None else from_ms(ms)
