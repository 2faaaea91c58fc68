"""SqlRejectStore on SQLite and PostgreSQL: bounded trimming, newest-first pages, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine

from telemetry.errors import InvalidQuery, StoreUnavailable
from telemetry.ports import StoredReject
from telemetry.readings import Rejection, RejectReason
from telemetry.sql_store import SqlRejectStore

T0 = datetime(2026, 6, 1, 2, 0, 0, 250_000, tzinfo=UTC)


def rejection(n: int, reason: RejectReason = RejectReason.OUT_OF_RANGE) -> Rejection:
    return Rejection.build(
        f"shelters/S1/s{n}/telemetry",
        reason,
        f"detail {n}",
        f'{{"n": {n}}}',
        T0 + timedelta(seconds=n),
        index=n if n % 2 else None,
    )


def details(items: list[StoredReject]) -> list[str]:
    return [item.detail for item in items]


def test_rows_round_trip(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=10)
    long_topic = "shelters/" + "x" * 400
    store.add(
        [
            rejection(1),
            Rejection.build(long_topic, RejectReason.BAD_TOPIC, "bad", "r" * 50, T0, raw_limit=8),
        ]
    )
    items, total = store.list(limit=10, offset=0)
    assert total == 2
    assert items == [
        StoredReject(2, T0, long_topic[:300], "bad_topic", "bad", "r" * 8, None),
        StoredReject(
            1,
            T0 + timedelta(seconds=1),
            "shelters/S1/s1/telemetry",
            "out_of_range",
            "detail 1",
            '{"n": 1}',
            1,
        ),
    ]
    assert items[0].received_at.tzinfo is not None


def test_trimming_keeps_exactly_the_newest(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=5)
    store.add([rejection(n) for n in range(1, 4)])
    assert store.list(limit=100, offset=0)[1] == 3
    store.add([rejection(n) for n in range(4, 8)])
    items, total = store.list(limit=100, offset=0)
    assert total == 5
    assert details(items) == [f"detail {n}" for n in range(7, 2, -1)]
    assert [item.id for item in items] == [7, 6, 5, 4, 3]


def test_a_batch_larger_than_the_bound_keeps_its_newest(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=3)
    store.add([rejection(n) for n in range(1, 9)])
    items, total = store.list(limit=100, offset=0)
    assert (total, details(items)) == (3, ["detail 8", "detail 7", "detail 6"])


def test_pages_are_newest_first(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=100)
    store.add([rejection(n) for n in range(1, 8)])
    first, total = store.list(limit=3, offset=0)
    second, _ = store.list(limit=3, offset=3)
    last, _ = store.list(limit=3, offset=6)
    beyond, total_beyond = store.list(limit=3, offset=30)
    assert total == total_beyond == 7
    assert details(first) == ["detail 7", "detail 6", "detail 5"]
    assert details(second) == ["detail 4", "detail 3", "detail 2"]
    assert details(last) == ["detail 1"]
    assert beyond == []
    assert store.list(limit=0, offset=0) == ([], 7)


def test_filter_by_reason(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=100)
    store.add(
        [
            rejection(1, RejectReason.MALFORMED_JSON),
            rejection(2, RejectReason.OUT_OF_RANGE),
            rejection(3, RejectReason.MALFORMED_JSON),
            rejection(4, RejectReason.UNKNOWN_SENSOR),
        ]
    )
    items, total = store.list(limit=1, offset=0, reason="malformed_json")
    assert (total, details(items)) == (2, ["detail 3"])
    assert store.list(limit=10, offset=0, reason="too_old") == ([], 0)
    assert store.list(limit=10, offset=0)[1] == 4


def test_empty_add_is_a_no_op(engine: Engine) -> None:
    store = SqlRejectStore(engine, max_rows=2)
    store.add([])
    assert store.list(limit=10, offset=0) == ([], 0)


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (10, -1)])
def test_negative_paging_is_refused(engine: Engine, limit: int, offset: int) -> None:
    with pytest.raises(InvalidQuery):
        SqlRejectStore(engine, max_rows=2).list(limit=limit, offset=offset)


def test_unreachable_database_is_unavailable() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    try:
        store = SqlRejectStore(engine, max_rows=2)
        with pytest.raises(StoreUnavailable):
            store.add([rejection(1)])
        with pytest.raises(StoreUnavailable):
            store.list(limit=1, offset=0)
    finally:
        engine.dispose()


def test_bound_must_be_positive(engine: Engine) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        SqlRejectStore(engine, max_rows=0)
