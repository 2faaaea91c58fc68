"""A serving process keeps its startup heap out of the collector's full passes, and gives it
back when it stops."""

from __future__ import annotations

import gc

from api.processes.heap import FrozenHeap


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_startup_heap_is_frozen_and_later_garbage_still_collected() -> None:
    heap = FrozenHeap()
    heap.start()
    try:
        assert gc.get_freeze_count() > 0
        Cycle()  # unreachable at once, held only by its own reference
        assert gc.collect() >= 1
    finally:
        heap.stop()
    assert gc.get_freeze_count() == 0
