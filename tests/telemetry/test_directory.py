"""The cached sensor directory keeps serving its last good view while the register is down."""

from __future__ import annotations

import time

from telemetry.directory import CachedDirectory
from telemetry.ports import Placement

P1 = Placement("S-1", "SH-1", "黄浦区", "滤毒室", 60, 2)
P2 = Placement("S-2", "SH-1", "黄浦区", "主通道", 60, 2)


class Register:
    """A register that can be taken down (a PostgreSQL outage)."""

    def __init__(self) -> None:
        self.rows = [P1]
        self.down = False
        self.calls = 0

    def __call__(self) -> list[Placement]:
        self.calls += 1
        if self.down:
            raise ConnectionError("PostgreSQL is down")
        return list(self.rows)


def test_keeps_the_last_cache_while_the_register_is_down() -> None:
    register = Register()
    failures: list[int] = []
    directory = CachedDirectory(register, refresh_s=3600, on_failure=lambda: failures.append(1))
    assert directory.refresh() is True
    register.down = True
    assert directory.refresh() is False
    assert failures == [1]
    assert directory.get("S-1") == P1
    register.down = False
    register.rows = [P1, P2]
    assert directory.refresh() is True
    assert directory.get("S-2") == P2


def test_an_unknown_sensor_triggers_a_prompt_refresh() -> None:
    register = Register()
    directory = CachedDirectory(register, refresh_s=3600, miss_refresh_s=0.0)
    directory.start()
    try:
        register.rows = [P1, P2]
        assert directory.get("S-2") is None  # not yet known: asks for a refresh
        deadline = time.monotonic() + 5
        while directory.get("S-2") is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert directory.get("S-2") == P2
    finally:
        directory.stop()
