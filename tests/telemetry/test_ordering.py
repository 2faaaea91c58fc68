"""InOrder: numbers handed out in order, releases run in order whatever order the numbers
finish in, and waiting for earlier numbers to settle."""

from __future__ import annotations

import threading
import time

import pytest

from telemetry.ordering import InOrder


def test_releases_run_in_number_order_whatever_the_finishing_order() -> None:
    order = InOrder()
    numbers = [order.next() for _ in range(5)]
    assert numbers == [0, 1, 2, 3, 4]
    ran: list[int] = []
    for n in (3, 1, 4):
        order.finish(n, lambda n=n: ran.append(n))
    assert ran == []  # 0 has not finished
    order.finish(0, lambda: ran.append(0))
    assert ran == [0, 1]
    order.finish(2, None)  # given up: nothing to release, the later ones still go
    assert ran == [0, 1, 3, 4]
    assert order.wait_for_earlier(5, 0)  # all five settled


def test_wait_for_earlier_returns_once_every_earlier_number_is_settled() -> None:
    order = InOrder()
    for _ in range(3):
        order.next()
    assert order.wait_for_earlier(0, 0)
    assert not order.wait_for_earlier(2, 0.01)
    order.finish(1, None)
    assert not order.wait_for_earlier(2, 0.01)
    done = threading.Event()

    def waiter() -> None:
        if order.wait_for_earlier(2, 5):
            done.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    assert not done.is_set()
    order.finish(0, None)
    thread.join(5)
    assert done.is_set()


def test_a_failing_release_does_not_stop_the_ones_after_it() -> None:
    order = InOrder()
    order.next()
    order.next()
    ran: list[int] = []

    def boom() -> None:
        raise RuntimeError("ack failed")

    order.finish(1, lambda: ran.append(1))
    with pytest.raises(RuntimeError, match="ack failed"):
        order.finish(0, boom)
    assert ran == [1]
