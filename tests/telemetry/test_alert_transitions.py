"""AlertTransitions on the real database with a recording sink: each transition changes exactly
one alert row and announces exactly one event carrying what was written; a transition that
changes nothing announces nothing; a missing alert is telemetry's NotFound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import session_factory
from telemetry import alert_store
from telemetry.alert_rules import OFFLINE_RULE, Severity
from telemetry.alert_store import AlertEvent, AlertView, EventKind, NewAlert, to_ms
from telemetry.alert_transitions import AlertTransitions
from telemetry.errors import NotFound
from telemetry.ports import WatchedSensor
from telemetry.sql_models import AlertRow
from tests.telemetry.fakes import RecordingSink

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SENSOR = WatchedSensor("SH-1-S1", "SH-1", "黄浦区", "滤毒室", 60, T0 - timedelta(days=1))


def humidity(severity: Severity, at: datetime) -> NewAlert:
    rule = f"humidity_{severity.value}"
    return NewAlert(
        sensor_id=SENSOR.sensor_id,
        shelter_code=SENSOR.shelter_code,
        district=SENSOR.district,
        zone=SENSOR.zone,
        condition="humidity",
        rule=rule,
        severity=severity,
        message=rule,
        value=90.0,
        threshold=85.0,
        late=False,
        raised_at=at,
        condition_since=at - timedelta(hours=24),
    )


def _rows(session: Session) -> dict[int, tuple[Any, ...]]:
    columns = list(AlertRow.__table__.columns)
    return {
        row[0]: tuple(row) for row in session.execute(select(*columns).order_by(AlertRow.id)).all()
    }


@dataclass
class World:
    sessions: sessionmaker[Session]
    sink: RecordingSink
    transitions: AlertTransitions

    def run(self, change: Callable[[Session], object]) -> tuple[set[int], list[AlertEvent]]:
        """Run ``change`` in one transaction; the alert rows it inserted or changed, and the
        events it announced. The last event about each alert shows it as it was written."""
        with self.sessions() as s:
            before = _rows(s)
        heard = len(self.sink.events)
        with self.sessions.begin() as s:
            change(s)
        with self.sessions() as s:
            after = _rows(s)
            events = self.sink.events[heard:]
            last = {event.alert.id: event.alert for event in events}
            for alert_id, view in last.items():
                assert view == AlertView.of(s.get_one(AlertRow, alert_id))
        assert set(before) <= set(after)  # rows are never deleted
        return {i for i in after if before.get(i) != after[i]}, events

    def one(self, change: Callable[[Session], object]) -> AlertEvent:
        """``change`` is one transition: one row, one event about that row."""
        changed, events = self.run(change)
        [event] = events
        assert changed == {event.alert.id}
        return event

    def none(self, change: Callable[[Session], object]) -> None:
        """``change`` announces nothing and leaves every alert as it was."""
        assert self.run(change) == (set(), [])


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    sink = RecordingSink()
    yield World(session_factory(engine), sink, AlertTransitions(sink))


def _kind(event: AlertEvent) -> tuple[EventKind, str, str]:
    return event.kind, event.alert.status, event.alert.severity


def test_raise_step_up_step_down_and_clear(world: World) -> None:
    t = world.transitions
    raised = world.one(lambda s: t.hold(s, humidity(Severity.WARNING, T0)))
    assert _kind(raised) == (EventKind.RAISED, "active", "warning")
    world.none(lambda s: t.hold(s, humidity(Severity.WARNING, T0 + timedelta(minutes=1))))

    up = world.one(lambda s: t.hold(s, humidity(Severity.CRITICAL, T0 + timedelta(minutes=2))))
    assert _kind(up) == (EventKind.SEVERITY_RAISED, "active", "critical")
    assert up.alert.id == raised.alert.id
    down = world.one(lambda s: t.hold(s, humidity(Severity.WARNING, T0 + timedelta(minutes=3))))
    assert _kind(down) == (EventKind.SEVERITY_LOWERED, "active", "warning")

    at = T0 + timedelta(minutes=4)
    cleared = world.one(
        lambda s: t.clear(s, SENSOR.sensor_id, "humidity", at=at, value=60.0, late=True)
    )
    assert _kind(cleared) == (EventKind.CLEARED, "cleared", "warning")
    assert (cleared.late, cleared.alert.value, cleared.alert.cleared_at) == (True, 60.0, at)
    world.none(lambda s: t.clear(s, SENSOR.sensor_id, "humidity", at=at))


def test_acknowledge_and_resolve_by_hand(world: World) -> None:
    t = world.transitions
    alert_id = world.one(lambda s: t.hold(s, humidity(Severity.CRITICAL, T0))).alert.id
    at = T0 + timedelta(minutes=5)

    acked = world.one(lambda s: t.acknowledge(s, alert_id, by="m1", at=at))
    assert _kind(acked) == (EventKind.ACKNOWLEDGED, "acknowledged", "critical")
    assert (acked.actor, acked.alert.acknowledged_by, acked.alert.acknowledged_at) == (
        "m1",
        "m1",
        at,
    )
    world.none(lambda s: t.acknowledge(s, alert_id, by="m1", at=at))

    resolved = world.one(lambda s: t.resolve(s, alert_id, by="o1", note="排风", at=at))
    assert _kind(resolved) == (EventKind.RESOLVED, "resolved", "critical")
    assert (resolved.actor, resolved.alert.resolve_note) == ("o1", "排风")
    world.none(lambda s: t.resolve(s, alert_id, by="o1", note="again", at=at))
    # Resolved by hand, the alert still holds; its condition clearing lets it go unannounced.
    changed, events = world.run(lambda s: t.clear(s, SENSOR.sensor_id, "humidity", at=at))
    assert (changed, events) == ({alert_id}, [])


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_a_missing_alert_is_not_found_and_announces_nothing(world: World, action: str) -> None:
    t = world.transitions

    def change(s: Session) -> object:
        if action == "acknowledge":
            return t.acknowledge(s, 404, by="m1", at=T0)
        return t.resolve(s, 404, by="m1", note="x", at=T0)

    with pytest.raises(NotFound) as caught:
        world.run(change)
    assert (caught.value.code, caught.value.message) == ("alert_not_found", "no alert 404")
    assert world.sink.events == []
    with world.sessions() as s, pytest.raises(NotFound):
        alert_store.get(s, 404)


def test_a_silent_sensor_goes_offline_and_back_online(world: World) -> None:
    t = world.transitions
    limit = timedelta(seconds=3 * SENSOR.expected_interval_s)
    # Never heard: silence counts from its registration.
    quiet = SENSOR.registered_at + limit
    world.none(lambda s: t.sweep_offline(s, [SENSOR], now=quiet))
    offline = world.one(lambda s: t.sweep_offline(s, [SENSOR], now=quiet + timedelta(seconds=1)))
    assert _kind(offline) == (EventKind.RAISED, "active", "warning")
    assert (offline.alert.condition, offline.alert.condition_since) == (
        OFFLINE_RULE,
        SENSOR.registered_at,
    )
    assert offline.alert.message.endswith("（最后数据 无）")
    world.none(lambda s: t.sweep_offline(s, [SENSOR], now=T0 + timedelta(hours=1)))

    seen = T0 + timedelta(hours=2)
    with world.sessions.begin() as s:
        alert_store.upsert_live(
            s,
            [
                {
                    "sensor_id": SENSOR.sensor_id,
                    "shelter_code": SENSOR.shelter_code,
                    "last_seen_ms": to_ms(seen),
                    **dict.fromkeys(
                        ("temperature", "humidity", "fire_risk", "dew_point", "battery")
                    ),
                    "water_leak": None,
                    "updated_at_ms": to_ms(seen),
                }
            ],
        )
    online = world.one(lambda s: t.sweep_offline(s, [SENSOR], now=seen + timedelta(seconds=5)))
    assert _kind(online) == (EventKind.CLEARED, "cleared", "warning")
    assert online.alert.id == offline.alert.id
    world.none(lambda s: t.sweep_offline(s, [SENSOR], now=seen + timedelta(seconds=6)))

    silent = seen + limit + timedelta(seconds=1)
    again = world.one(lambda s: t.sweep_offline(s, [SENSOR], now=silent))
    assert again.alert.id != offline.alert.id
    assert again.alert.message.endswith(f"（最后数据 {seen.isoformat()}）")


def test_an_unacknowledged_critical_alert_escalates_twice_and_is_sent_again(
    world: World,
) -> None:
    t = world.transitions
    after, every = timedelta(minutes=15), timedelta(minutes=30)

    def sweep(at: datetime) -> Callable[[Session], object]:
        return lambda s: t.sweep_unacknowledged(s, now=at, escalate_after=after, renotify=every)

    alert_id = world.one(lambda s: t.hold(s, humidity(Severity.CRITICAL, T0))).alert.id
    world.none(sweep(T0 + timedelta(minutes=14)))
    first = world.one(sweep(T0 + after))
    assert (first.kind, first.level, first.alert.escalation_level) == (EventKind.ESCALATED, 1, 1)
    world.none(sweep(T0 + after + timedelta(minutes=1)))
    second = world.one(sweep(T0 + 2 * after))
    assert (second.kind, second.level, second.alert.id) == (EventKind.ESCALATED, 2, alert_id)
    again = world.one(sweep(T0 + 2 * after + every))
    assert (again.kind, again.sequence, again.alert.escalation_level) == (
        EventKind.RENOTIFY,
        2,
        2,
    )
    world.none(sweep(T0 + 2 * after + every + timedelta(minutes=1)))


def test_escalation_catches_up_level_by_level_in_one_sweep(world: World) -> None:
    """A sweep long overdue announces each level it passes (and so sends nothing again)."""
    t = world.transitions
    world.one(lambda s: t.hold(s, humidity(Severity.CRITICAL, T0)))
    changed, events = world.run(
        lambda s: t.sweep_unacknowledged(
            s,
            now=T0 + timedelta(hours=2),
            escalate_after=timedelta(minutes=15),
            renotify=timedelta(minutes=30),
        )
    )
    assert len(changed) == 1
    assert [(e.kind, e.level) for e in events] == [
        (EventKind.ESCALATED, 1),
        (EventKind.ESCALATED, 2),
    ]
