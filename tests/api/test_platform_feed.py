"""The platform feed's fast path with the real database and outbox: an alert's message leaves
when the evaluator's transaction commits, woken by the commit (the feed has no poll to wait
for), in commit order; a rolled-back flush publishes nothing; a failed publish stays pending
under its lease for the delivery worker. The MQTT channel is a recording fake behind the
feed's channel Protocol."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from api.alerting.sink import build_sink
from api.notify.channels import ChannelError, OutgoingMessage
from api.notify.platform_feed import PlatformFeed
from api.state import AppState
from inspection.models import Delivery, OutboxStatus
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation import AlertEvaluator
from tests.api.alerting import PLACEMENT, Directory, HookedClock, reading
from tests.conftest import FakeClock, FakeMonotonic, Login


class RecordingChannel:
    """Records what it is asked to publish; refuses while ``down``."""

    name = "mqtt"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.down = False
        self.arrived = threading.Event()
        self.on_send: Callable[[], None] | None = None

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, target: str, message: OutgoingMessage, *, secret: str | None = None) -> None:
        if self.down:
            raise ChannelError("broker not connected", retryable=True)
        if self.on_send is not None:
            self.on_send()
        self.sent.append((target, str(message.payload["rule"]), str(message.payload["event"])))
        self.arrived.set()


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel()


@pytest.fixture
def feed_clock(state: AppState) -> HookedClock:
    return HookedClock(state.clock)


@pytest.fixture
def platform(state: AppState, channel: RecordingChannel, feed_clock: HookedClock) -> PlatformFeed:
    return PlatformFeed(
        state.sessions,
        channel,
        clock=feed_clock,
        max_attempts=5,
        monotonic=FakeMonotonic(),
    )


@pytest.fixture
def ev(
    state: AppState, platform: PlatformFeed, people: dict[str, Login]
) -> Iterator[AlertEvaluator]:
    sink = build_sink(
        clock=state.clock,
        signing_key=state.signing_key,
        base_url="http://sw.test",
        link_hours=24,
        warning_hours=12,
        timezone=state.settings.timezone,
        feed=platform,
    )
    evaluator = AlertEvaluator(
        state.sessions,
        Directory(PLACEMENT),
        AlertTransitions(sink),
        clock=state.clock,
        on_events=platform.commit,
        on_rollback=platform.discard,
    )
    evaluator.run_once()  # loads rules and state
    yield evaluator


def mqtt_deliveries(state: AppState) -> list[OutboxStatus]:
    with state.sessions() as s:
        return list(
            s.scalars(
                select(Delivery.status).where(Delivery.channel == "mqtt").order_by(Delivery.id)
            )
        )


def test_a_committed_alert_is_published_by_the_woken_thread(
    state: AppState,
    ev: AlertEvaluator,
    platform: PlatformFeed,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    """The feed's thread waits for a commit, not for a poll: the evaluator's flush wakes it
    and the message leaves (the bound below is a test timeout, not a poll interval)."""
    platform.start()
    try:
        ev.observe([reading(clock.now, temperature=20.0, fire_risk=95.0)], now=clock.now)
        ev.run_once(hold_timers=True)
        assert channel.arrived.wait(30)
    finally:
        platform.stop()
    assert channel.sent == [("shelters/SH-1/alerts", "fire_risk_critical", "raised")]
    assert mqtt_deliveries(state) == [OutboxStatus.DELIVERED]


def test_messages_leave_in_commit_order_and_only_after_commit(
    state: AppState,
    ev: AlertEvaluator,
    platform: PlatformFeed,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    ev.observe([reading(clock.now, temperature=20.0, fire_risk=95.0)], now=clock.now)
    later = clock.advance(minutes=1)
    ev.run_once(hold_timers=True)
    ev.observe([reading(later, temperature=20.0, fire_risk=5.0)], now=later)
    ev.run_once(hold_timers=True)
    platform.stage(999_999, "shelters/SH-1/alerts", _message())  # staged, never committed
    platform.discard()
    assert platform.drain() == 2
    assert [event for _t, _r, event in channel.sent] == ["raised", "cleared"]
    assert mqtt_deliveries(state) == [OutboxStatus.DELIVERED, OutboxStatus.DELIVERED]
    assert platform.drain() == 0


def test_a_failed_publish_stays_pending_for_the_delivery_worker(
    state: AppState,
    ev: AlertEvaluator,
    platform: PlatformFeed,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    channel.down = True
    ev.observe([reading(clock.now, temperature=20.0, fire_risk=95.0)], now=clock.now)
    ev.run_once(hold_timers=True)
    assert platform.drain() == 0
    assert mqtt_deliveries(state) == [OutboxStatus.PENDING]
    with state.sessions() as s:
        [delivery] = s.scalars(select(Delivery).where(Delivery.channel == "mqtt"))
        assert delivery.attempts == 0  # still under the fast path's lease, not tried


def _message() -> OutgoingMessage:
    return OutgoingMessage(
        notification_id=999_999,
        kind="alert_raised",
        subject="",
        body="",
        payload={"rule": "none", "event": "none"},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_message_committed_while_outcomes_are_recorded_is_published_before_the_rest(
    state: AppState,
    ev: AlertEvaluator,
    platform: PlatformFeed,
    channel: RecordingChannel,
    feed_clock: HookedClock,
    clock: FakeClock,
) -> None:
    """Two raises published; while the first is being recorded the fire-risk alert clears:
    the clear leaves before the second raise is recorded (a message waits for at most one
    database write of the feed, not for one per message before it)."""
    ev.observe([reading(clock.now, fire_risk=95.0, water_leak=True)], now=clock.now)
    ev.run_once(hold_timers=True)
    later = clock.advance(minutes=1)

    def clear_fire_risk() -> None:
        ev.observe([reading(later, fire_risk=5.0, water_leak=True)], now=later)
        ev.run_once(hold_timers=True)

    feed_clock.hook = clear_fire_risk
    statuses: list[list[OutboxStatus]] = []
    channel.on_send = lambda: statuses.append(mqtt_deliveries(state))
    assert platform.drain() == 3
    assert channel.sent == [
        ("shelters/SH-1/alerts", "fire_risk_critical", "raised"),
        ("shelters/SH-1/alerts", "water_leak", "raised"),
        ("shelters/SH-1/alerts", "fire_risk_critical", "cleared"),
    ]
    pending, delivered = OutboxStatus.PENDING, OutboxStatus.DELIVERED
    assert statuses[2] == [delivered, pending, pending]  # the second raise not recorded yet
    assert mqtt_deliveries(state) == [delivered] * 3
