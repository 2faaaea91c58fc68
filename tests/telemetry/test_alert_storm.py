"""Alert storms written in bulk: many sensors crossing at once in one flush give exactly the
rows, timers and events that writing them one by one gives (also alongside alerts that rise,
alerts resolved by hand, timers another ingester started, and a sensor raised and cleared in
the same flush); two evaluators flushing the same storm at once raise each alert once. On
SQLite and PostgreSQL, injected clocks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import session_factory
from telemetry import condition_store
from telemetry.alert_rules import Severity
from telemetry.alert_store import AlertEvent, EventKind, NewAlert
from telemetry.alert_transitions import AlertTransitions
from telemetry.evaluation import AlertEvaluator
from telemetry.fire_risk import enrich
from telemetry.instants import to_ms
from telemetry.ports import Placement
from telemetry.readings import Reading
from telemetry.sql_models import AlertRow, AlertStateRow
from tests.conftest import FakeClock, FakeMonotonic
from tests.telemetry.fakes import RecordingSink

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SENSORS = [f"SH-{i // 6:03d}-S{i % 6}" for i in range(120)]
RISING = SENSORS[:5]
"""Hold an open fire-risk warning before the storm: it rises to critical."""
RESOLVED_WARNING = SENSORS[5]
"""Holds a fire-risk warning resolved by hand: the critical storm raises a new alert."""
RESOLVED_CRITICAL = SENSORS[6]
"""Holds a critical fire-risk alert resolved by hand: the storm raises nothing."""
EARLIER = SENSORS[7:10]
"""Another ingester saw their fire-risk condition begin an hour before."""
FLICKERING = SENSORS[10]
"""Crosses and falls back within the flush: raised, then cleared."""
DAMP = SENSORS[11:14]
"""Humidity timers start within the storm."""


class Directory:
    def __init__(self, sensors: Sequence[str]) -> None:
        self.placements = {
            s: Placement(s, s.rsplit("-", 1)[0], "黄浦区", "滤毒室", 60, None) for s in sensors
        }

    def get(self, sensor_id: str) -> Placement | None:
        return self.placements.get(sensor_id)


def reading(sensor_id: str, ts: datetime, **values: float) -> Reading:
    return enrich(
        Reading(
            sensor_id.rsplit("-", 1)[0],
            sensor_id,
            ts,
            district="黄浦区",
            zone="滤毒室",
            **values,  # type: ignore[arg-type]
        )
    )


def hot(sensor_id: str, ts: datetime) -> Reading:
    """Fire-risk level 5: the critical tier holds at once."""
    return reading(sensor_id, ts, temperature=56.0, humidity=40.0)


def fire_alert(sensor_id: str, severity: Severity, at: datetime) -> NewAlert:
    return NewAlert(
        sensor_id=sensor_id,
        shelter_code=sensor_id.rsplit("-", 1)[0],
        district="黄浦区",
        zone="滤毒室",
        condition="fire_risk",
        rule=f"fire_risk_{severity.value}",
        severity=severity,
        message=f"fire_risk_{severity.value}",
        value=3.0,
        threshold=3.0,
        late=False,
        raised_at=at,
        condition_since=at,
    )


def evaluator(sessions: sessionmaker[Session], sink: RecordingSink, at: datetime) -> AlertEvaluator:
    return AlertEvaluator(
        sessions,
        Directory(SENSORS),
        AlertTransitions(sink),
        clock=FakeClock(at),
        monotonic=FakeMonotonic(),
    )


def arrange(sessions: sessionmaker[Session]) -> None:
    """The alerts and timers before the storm."""
    t = AlertTransitions(RecordingSink())
    before = T0 - timedelta(hours=2)
    with sessions.begin() as s:
        for sensor in RISING:
            t.hold(s, fire_alert(sensor, Severity.WARNING, before))
        for sensor, severity in (
            (RESOLVED_WARNING, Severity.WARNING),
            (RESOLVED_CRITICAL, Severity.CRITICAL),
        ):
            event = t.hold(s, fire_alert(sensor, severity, before))
            assert event is not None
            t.resolve(s, event.alert.id, by="m1", note="处理", at=before)


def storm() -> list[Reading]:
    """One batch: most sensors turn hot; the damp ones start a humidity timer; one sensor
    is hot, then normal again."""
    readings: list[Reading] = []
    for sensor in SENSORS:
        if sensor in DAMP:
            readings.append(reading(sensor, T0, temperature=20.0, humidity=80.0))
        elif sensor == FLICKERING:
            readings.append(hot(sensor, T0))
            readings.append(reading(sensor, T0 + timedelta(seconds=10), temperature=20.0))
        else:
            readings.append(hot(sensor, T0))
    return readings


Outcome = tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[Any, ...]]]
"""Alert rows, timers and events, alert ids as their rank (PostgreSQL does not hand out the
ids of a rolled-back transaction again)."""


def _outcome(session: Session, events: Sequence[AlertEvent]) -> Outcome:
    rows = session.execute(select(*AlertRow.__table__.columns).order_by(AlertRow.id)).all()
    rank = {row.id: n for n, row in enumerate(rows)}
    alerts = [{**row._mapping, "id": rank[row.id]} for row in rows]
    timers = [
        dict(row._mapping)
        for row in session.execute(
            select(*AlertStateRow.__table__.columns).order_by(
                AlertStateRow.sensor_id, AlertStateRow.rule
            )
        )
    ]
    heard = [
        (e.kind, e.late, e.actor, e.level, e.sequence, replace(e.alert, id=rank[e.alert.id]))
        for e in events
    ]
    return alerts, timers, heard


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on a database holding the alerts of :func:`arrange`."""
    factory = session_factory(engine)
    arrange(factory)
    return factory


@contextmanager
def rolled_back(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits stay inside one transaction, rolled back at the end, so each
    contender starts from the same database."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield sessionmaker(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        outer.rollback()


def _storm_outcome(engine: Engine, *, one_by_one: bool) -> Outcome:
    """The storm judged in one flush, or each reading flushed on its own."""
    with rolled_back(engine) as sessions:
        with sessions.begin() as s:
            # another ingester's timers: the condition began an hour before the storm
            condition_store.save_timers(
                s,
                [
                    (sensor, "fire_risk_warning", to_ms(T0 - timedelta(hours=1)))
                    for sensor in EARLIER
                ],
                [],
            )
        sink = RecordingSink()
        ev = evaluator(sessions, sink, T0)
        ev.run_once()  # state and rules loaded, the arranged alerts followed
        if one_by_one:
            for r in storm():
                ev.observe([r], now=T0)
                ev.run_once()
        else:
            ev.observe(storm(), now=T0)
            ev.run_once()
        assert ev.failures == 0
        with sessions() as s:
            return _outcome(s, sink.events)


def test_a_storm_in_one_flush_writes_and_announces_what_one_by_one_does(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    one_by_one = _storm_outcome(engine, one_by_one=True)
    together = _storm_outcome(engine, one_by_one=False)
    assert together == one_by_one

    alerts, timers, events = together
    kinds = [(e[0], e[5].sensor_id) for e in events]
    hot_sensors = [s for s in SENSORS if s not in (*DAMP, *RISING, RESOLVED_CRITICAL)]
    raised = [sensor for kind, sensor in kinds if kind is EventKind.RAISED]
    assert raised == hot_sensors  # in the order of the readings, each once
    assert [sensor for kind, sensor in kinds if kind is EventKind.SEVERITY_RAISED] == RISING
    assert [kind for kind, sensor in kinds if sensor == FLICKERING] == [
        EventKind.RAISED,
        EventKind.CLEARED,
    ]
    assert len(events) == len(hot_sensors) + len(RISING) + 1
    since = {e[5].sensor_id: e[5].condition_since for e in events}
    assert {since[sensor] for sensor in EARLIER} == {T0 - timedelta(hours=1)}
    assert since[SENSORS[-1]] == T0
    holding = [(a["sensor_id"], a["condition"]) for a in alerts if a["condition_holds"]]
    assert len(holding) == len(set(holding))
    assert sorted(holding) == sorted(
        (sensor, "fire_risk")
        for sensor in (*hot_sensors, *RISING, RESOLVED_CRITICAL)
        if sensor != FLICKERING
    )
    # the raises stopped the timers of the tiers they hold; the heat's and damp's timers run
    running = {(t["sensor_id"], t["rule"]) for t in timers if t["pending_since_ms"] is not None}
    assert not any(rule.startswith("fire_risk") for _sensor, rule in running)
    assert {(s, r) for s, r in running if r.startswith("humidity")} == {
        (sensor, "humidity_warning") for sensor in DAMP
    }
    assert (SENSORS[-1], "temperature_high") in running


def test_hold_many_is_hold_one_after_the_other(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    at = T0 + timedelta(minutes=1)
    news = [
        *(fire_alert(s, Severity.CRITICAL, at) for s in SENSORS[20:60]),
        *(fire_alert(s, Severity.CRITICAL, at) for s in RISING[:2]),
        fire_alert(RISING[2], Severity.WARNING, at),  # holds at this tier: nothing
        fire_alert(RESOLVED_WARNING, Severity.CRITICAL, at),  # graver: raised anew
        fire_alert(RESOLVED_CRITICAL, Severity.CRITICAL, at),  # handled by hand: nothing
        *(fire_alert(s, Severity.WARNING, at) for s in SENSORS[60:80]),
    ]

    def outcome(change: Callable[[AlertTransitions, Session], object]) -> Outcome:
        sink = RecordingSink()
        with rolled_back(engine) as rolled:
            with rolled.begin() as s:
                change(AlertTransitions(sink), s)
            with rolled() as s:
                return _outcome(s, sink.events)

    together = outcome(lambda t, s: t.hold_many(s, news))
    assert together == outcome(lambda t, s: [t.hold(s, new) for new in news])
    assert [(e[0], e[5].sensor_id) for e in together[2]] == [
        *((EventKind.RAISED, s) for s in SENSORS[20:60]),
        *((EventKind.SEVERITY_RAISED, s) for s in RISING[:2]),
        (EventKind.RAISED, RESOLVED_WARNING),
        *((EventKind.RAISED, s) for s in SENSORS[60:80]),
    ]
    with pytest.raises(ValueError, match="one alert per"), sessions.begin() as s:
        AlertTransitions(RecordingSink()).hold_many(s, [news[0], news[0]])


def test_two_evaluators_flushing_one_storm_raise_each_alert_once(
    sessions: sessionmaker[Session],
) -> None:
    sinks = [RecordingSink(), RecordingSink()]
    evaluators = [evaluator(sessions, sink, T0) for sink in sinks]
    hot_sensors = SENSORS[20:]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def go(ev: AlertEvaluator, offset: int) -> None:
        try:
            ev.run_once()
            at = T0 + timedelta(seconds=offset)
            ev.evaluate([hot(sensor, at) for sensor in hot_sensors], at)
            barrier.wait()
            ev.flush()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(ev, i)) for i, ev in enumerate(evaluators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    raised = [e.alert.sensor_id for sink in sinks for e in sink.events]
    assert sorted(raised) == sorted(hot_sensors)  # each raise announced once, by one of them
    with sessions() as s:
        holding = s.execute(
            select(AlertRow.sensor_id, func.count())
            .where(AlertRow.condition_holds, AlertRow.sensor_id.in_(hot_sensors))
            .group_by(AlertRow.sensor_id)
        ).all()
    assert sorted(map(tuple, holding)) == [(sensor, 1) for sensor in sorted(hot_sensors)]
