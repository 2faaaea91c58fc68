"""An alert storm in the real outbox: every event of a storm lands in the outbox once (one
message for the platform with its MQTT delivery, one for each person told), the same rows as
hearing the events one by one, and in a number of statements that does not grow with the
storm; the offline sweep's transitions go the same way. Statements are counted with an
engine listener, never timed. On SQLite and PostgreSQL, injected clocks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from api.alerting.sink import OutboxAlertSink
from api.notify.channels import MqttChannel
from api.notify.platform_feed import PlatformFeed
from api.state import AppState
from inspection.models import AuditEntry, Delivery, Notification, Role, Shelter, User
from telemetry.alert_rules import Severity
from telemetry.alert_store import AlertEvent, EventKind
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation import AlertEvaluator
from telemetry.fire_risk import enrich
from telemetry.mqtt import BrokerAddress
from telemetry.ports import Placement, WatchedSensor
from telemetry.readings import Reading
from telemetry.sql_models import AlertRow
from tests.api.alerting import Directory
from tests.conftest import FakeClock, FakeMonotonic
from tests.telemetry.fakes import RecordingSink
from tests.telemetry.test_alert_storm import fire_alert

SHELTERS = [f"SH-{i:02d}" for i in range(20)]
SENSORS = [f"{code}-S{k}" for code in SHELTERS for k in range(6)]
NO_MANAGER = SHELTERS[0]
"""Has no manager: the platform alone hears of its alerts."""
RETIRED_MANAGER = SHELTERS[1]
"""Its manager's account is inactive: nobody is paged."""
PAGED = [s for s in SENSORS if not s.startswith((NO_MANAGER, RETIRED_MANAGER))]


@dataclass(frozen=True, slots=True)
class Fleet:
    managers: dict[str, int]
    """Shelter code → its active manager's user id."""
    officer: int
    admin: int


@pytest.fixture
def fleet(state: AppState, clock: FakeClock) -> Fleet:
    """Twenty shelters of 黄浦区 with six sensors each, their managers, a district officer
    and the city office."""
    with state.sessions.begin() as s:

        def user(name: str, role: Role, *, active: bool = True) -> User:
            u = User(
                username=name,
                role=role,
                district="黄浦区" if role is Role.DISTRICT_OFFICER else None,
                active=active,
                created_at=clock.now,
            )
            s.add(u)
            s.flush()
            return u

        officer = user("officer", Role.DISTRICT_OFFICER)
        admin = user("admin", Role.ADMIN)
        managers: dict[str, int] = {}
        for code in SHELTERS:
            manager = None
            if code != NO_MANAGER:
                manager = user(f"m-{code}", Role.MANAGER, active=code != RETIRED_MANAGER)
                if manager.active:
                    managers[code] = manager.id
            s.add(
                Shelter(
                    code=code,
                    name=f"{code}工程",
                    district="黄浦区",
                    manager_id=manager.id if manager else None,
                    created_at=clock.now,
                    updated_at=clock.now,
                )
            )
        return Fleet(managers, officer.id, admin.id)


def feed_of(state: AppState) -> PlatformFeed:
    """A platform feed never started: the sink stages into it, nothing is published."""
    return PlatformFeed(
        state.sessions,
        MqttChannel(BrokerAddress("127.0.0.1", 1), client_id="storm-test"),
        clock=state.clock,
        max_attempts=3,
    )


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` within the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def hot(sensor_id: str, state: AppState) -> Reading:
    """Fire-risk level 5: the critical tier holds at once."""
    code = sensor_id.rsplit("-", 1)[0]
    return enrich(
        Reading(
            code,
            sensor_id,
            state.clock(),
            temperature=56.0,
            humidity=40.0,
            district="黄浦区",
            zone="滤毒室",
        )
    )


def evaluator(state: AppState, transitions: AlertTransitions) -> AlertEvaluator:
    placements = [Placement(s, s.rsplit("-", 1)[0], "黄浦区", "滤毒室", 60) for s in SENSORS]
    return AlertEvaluator(
        state.sessions,
        Directory(*placements),
        transitions,
        clock=state.clock,
        monotonic=FakeMonotonic(),
    )


def outbox(session: Session) -> list[tuple[Any, ...]]:
    """Every notification as (dedupe key, kind, recipient, subject, body), oldest first; the
    body without its acknowledgement link (signed for one alert id)."""
    return [
        (*row[:4], row[4].split("\n确认告警：")[0])
        for row in session.execute(
            select(
                Notification.dedupe_key,
                Notification.kind,
                Notification.recipient_id,
                Notification.subject,
                Notification.body,
            ).order_by(Notification.id)
        )
    ]


def test_a_storm_lands_in_the_outbox_once_each_in_a_bounded_number_of_statements(
    state: AppState, sink: OutboxAlertSink, fleet: Fleet, engine: Engine
) -> None:
    sink.feed = feed_of(state)
    recorded = RecordingSink(sink)
    ev = evaluator(state, AlertTransitions(recorded))
    ev.run_once()  # rules and state loaded
    ev.observe([hot(sensor, state) for sensor in SENSORS], now=state.clock())
    with statements(engine) as sql:
        ev.run_once()
    assert ev.failures == 0
    raised = [e for e in recorded.events if e.kind is EventKind.RAISED]
    assert sorted(e.alert.sensor_id for e in raised) == sorted(SENSORS)

    with state.sessions() as s:
        rows = s.scalars(select(Notification).order_by(Notification.id)).all()
        platform = [n for n in rows if n.recipient_id is None]
        people = [n for n in rows if n.recipient_id is not None]
        assert sorted(n.dedupe_key for n in platform) == sorted(
            f"alert:{e.alert.id}:raised:0:platform" for e in raised
        )
        assert all(
            n.payload["mqtt_topic"] == f"shelters/{n.payload['shelter']}/alerts" for n in platform
        )
        # a critical raise pages the shelter's active manager, once per alert
        assert Counter(n.recipient_id for n in people) == Counter(
            fleet.managers[s.rsplit("-", 1)[0]] for s in PAGED
        )
        assert len({n.dedupe_key for n in people}) == len(PAGED)
        assert all("确认告警：http://sw.test/api/v1/alerts/ack?token=" in n.body for n in people)
        deliveries = s.scalars(select(Delivery)).all()
        assert sorted((d.notification_id, d.channel, d.target) for d in deliveries) == sorted(
            (n.id, "mqtt", n.payload["mqtt_topic"]) for n in platform
        )
        audited = s.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "alert.raised"))
        assert sorted(audited) == sorted(str(e.alert.id) for e in raised)

    # the outbox of 120 alerts is written in a handful of statements, not several per alert
    writes = Counter(
        next(t for t in ("notifications", "deliveries", "audit_log", "shelters", "users") if t in q)
        for q in sql
        if any(t in q for t in ("notifications", "deliveries", "audit_log", "shelters", "users"))
    )
    assert writes["notifications"] <= 3  # existing dedupe keys, one INSERT, the new ids
    assert writes["deliveries"] <= 2
    assert writes["audit_log"] <= 1
    assert writes["shelters"] + writes["users"] <= 2
    assert len(sql) <= 30


@contextmanager
def rolled_back(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one transaction rolled back at the end: each contender starts from
    the same database."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield sessionmaker(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        outer.rollback()


def test_a_batch_queues_what_hearing_its_events_one_by_one_queues(
    state: AppState, sink: OutboxAlertSink, fleet: Fleet, engine: Engine, clock: FakeClock
) -> None:
    """Warnings of one shelter and rule in one window share one notice to the manager; two
    escalations of one alert share one platform key; a batch heard twice adds nothing."""

    def events(s: Session) -> list[AlertEvent]:
        heard = RecordingSink()
        t = AlertTransitions(heard)
        t.hold_many(
            s,
            [
                *(fire_alert(sensor, Severity.WARNING, state.clock()) for sensor in SENSORS[:60]),
                *(fire_alert(sensor, Severity.CRITICAL, state.clock()) for sensor in SENSORS[60:]),
            ],
        )
        row = s.get(AlertRow, heard.events[-1].alert.id)
        assert row is not None
        later = clock.now + timedelta(hours=2)
        t.escalate(s, row, at=later)
        t.escalate(s, row, at=later)
        t.clear(s, SENSORS[70], "fire_risk", at=later, value=1.0, message="ok")
        t.acknowledge(s, heard.events[0].alert.id, by="m", at=later)
        assert len(heard.events) == len(SENSORS) + 4
        return heard.events

    def outcome(hear: Callable[[Session, Sequence[AlertEvent]], None]) -> list[tuple[Any, ...]]:
        with rolled_back(engine) as sessions, sessions.begin() as s:
            heard = events(s)
            hear(s, heard)
            # alert ids as their rank (PostgreSQL does not hand out a rolled-back id again)
            rank = {e.alert.id: n for n, e in enumerate(heard)}
            return [
                (re.sub(r"^alert:(\d+):", lambda m: f"alert:#{rank[int(m[1])]}:", key), *rest)
                for key, *rest in outbox(s)
            ]

    def one_by_one(s: Session, evs: Sequence[AlertEvent]) -> None:
        for e in evs:
            sink.on_events(s, [e])

    def twice(s: Session, evs: Sequence[AlertEvent]) -> None:
        sink.on_events(s, evs)
        sink.on_events(s, evs)

    together = outcome(sink.on_events)
    assert together == outcome(one_by_one)
    assert together == outcome(twice)
    keys = [row[0] for row in together]
    assert len(keys) == len(set(keys))
    warnings_to_people = [k for k in keys if k.startswith("alert-warning:")]
    managed = {sensor.rsplit("-", 1)[0] for sensor in PAGED if sensor in SENSORS[:60]}
    assert len(warnings_to_people) == len(managed)  # one notice per shelter and window
    assert sum(k.endswith(":escalated:0:platform") for k in keys) == 1
    escalated = [row[2] for row in together if row[1] == "alert_escalated" and row[2]]
    assert escalated == [fleet.officer, fleet.admin]


def test_an_offline_sweep_is_announced_in_one_batch(
    state: AppState, sink: OutboxAlertSink, fleet: Fleet, engine: Engine, clock: FakeClock
) -> None:
    watched = [
        WatchedSensor(s, s.rsplit("-", 1)[0], "黄浦区", "滤毒室", 60, clock.now) for s in SENSORS
    ]
    transitions = AlertTransitions(sink)
    now = clock.advance(hours=1)
    with statements(engine) as sql, state.sessions.begin() as s:
        sweep = transitions.sweep_offline(s, watched, now=now)
    assert sweep.raised == len(SENSORS)
    inserts = [q for q in sql if q.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS")]
    assert len(inserts) == 1
    with state.sessions() as s:
        rows = outbox(s)
    platform = [row for row in rows if row[2] is None]
    assert len(platform) == len(SENSORS)
    # a warning: one notice per shelter whose manager is active
    assert Counter(row[2] for row in rows if row[2] is not None) == Counter(fleet.managers.values())
    # a second sweep finds them all offline already: nothing more
    with state.sessions.begin() as s:
        assert transitions.sweep_offline(s, watched, now=now) == (0, 0)
    with state.sessions() as s:
        assert outbox(s) == rows
