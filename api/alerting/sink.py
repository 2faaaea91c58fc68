"""Turns alert transitions into notifications in the outbox, audit entries and draft findings,
inside the transaction that made the transition (so none is lost or doubled): the sink that
:class:`telemetry.alert_transitions.AlertTransitions` announces every transition to.

Who hears: on raise the shelter's manager (工程长); an unacknowledged critical alert escalates
to the district officers, then the city office; a rise in severity and a clearance go to
everyone who was told; a step down in severity goes to the platform only.
A warning-level notice goes out at most once per rule and shelter per window (default 12 h).
Late (backfilled) transitions page nobody. Every transition is also published for the
smart-city platform on ``shelters/{code}/alerts``. The transitions of one flush or sweep
arrive together and are written in a few statements whatever their number (an alert storm).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from api.notify.ack_links import ack_url, make_ack_token
from api.notify.channels import OutgoingMessage
from api.notify.delivery import LEASE
from api.notify.platform_feed import PlatformFeed
from api.state import AppState
from inspection import audit, drafts, notify
from inspection.access import SYSTEM, Actor
from inspection.local_time import cn_datetime
from inspection.models import Delivery, OutboxStatus, Role, Shelter, User
from telemetry.access import alert_topic
from telemetry.alert_rules import Severity
from telemetry.alert_store import AlertEvent, AlertView, EventKind
from telemetry.alert_transitions import AlertTransitions

AckUrl = Callable[[int, int], str | None]
HUMIDITY = "humidity"
"""The condition whose raise drafts a ``HUMIDITY-UNCONTROLLED`` finding."""
_LINKED = frozenset(
    {EventKind.RAISED, EventKind.SEVERITY_RAISED, EventKind.ESCALATED, EventKind.RENOTIFY}
)
"""Events whose messages to people carry an acknowledgement link."""
_KIND_TEXT = {
    EventKind.RAISED: "告警",
    EventKind.CLEARED: "告警解除",
    EventKind.ACKNOWLEDGED: "告警已确认",
    EventKind.RESOLVED: "告警已处理",
    EventKind.ESCALATED: "告警升级",
    EventKind.RENOTIFY: "告警未确认提醒",
    EventKind.SEVERITY_RAISED: "告警级别升高",
    EventKind.SEVERITY_LOWERED: "告警级别降低",
}


@functools.cache
def _alert_adapter() -> TypeAdapter[AlertView]:
    return TypeAdapter(AlertView)


def alert_json(view: AlertView) -> dict[str, Any]:
    """The alert as JSON, exactly as the API answers it."""
    data: dict[str, Any] = _alert_adapter().dump_python(view, mode="json")
    return data


def alert_payload(event: AlertEvent) -> dict[str, object]:
    """The platform's message about one transition: the alert's fields as the API shows them
    (:func:`alert_json`), ``event``, ``late`` for the transition (a late reading's), and
    ``alert_id``, ``shelter`` and ``sensor`` as the topic's first subscribers read them."""
    a = event.alert
    return {
        **alert_json(a),
        "event": event.kind.value,
        "late": event.late,
        "alert_id": a.id,
        "shelter": a.shelter_code,
        "sensor": a.sensor_id,
    }


DELIVERIES = cast(Table, Delivery.__table__)
"""Deliveries are inserted as plain rows, as the outbox's are."""


class _People:
    """Who events of one batch go to, each looked up once: the managers of its shelters (in
    one query, when a first event needs them), the officers of each district, the city
    office."""

    def __init__(self, session: Session, shelters: Iterable[Shelter]) -> None:
        self.session = session
        self.shelters = list(shelters)
        self._managers: dict[int, User] | None = None
        self._district: dict[str, list[User]] = {}
        self._city: list[User] | None = None

    def manager(self, shelter: Shelter) -> list[User]:
        if self._managers is None:
            ids = {s.manager_id for s in self.shelters if s.manager_id is not None}
            self._managers = (
                {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(ids)))}
                if ids
                else {}
            )
        user = self._managers.get(shelter.manager_id) if shelter.manager_id else None
        return [user] if user is not None and user.active else []

    def district(self, district: str) -> list[User]:
        if district not in self._district:
            self._district[district] = notify.district_officers(self.session, district)
        return self._district[district]

    def city(self) -> list[User]:
        if self._city is None:
            self._city = notify.city_office(self.session)
        return self._city

    def told(self, event: AlertEvent, shelter: Shelter) -> list[User]:
        """The people ``event`` goes to, each once (only those are looked up: a storm of
        raises asks for managers)."""
        a = event.alert
        if event.kind is EventKind.ESCALATED:
            found = self.district(shelter.district) if event.level == 1 else self.city()
        elif event.kind not in (
            EventKind.RAISED,
            EventKind.CLEARED,
            EventKind.RESOLVED,
            EventKind.RENOTIFY,
            EventKind.SEVERITY_RAISED,
        ):
            return []  # acknowledged, severity lowered: the platform hears of it, nobody else
        elif event.kind is EventKind.RAISED:
            found = self.manager(shelter)
        else:
            found = [
                *self.manager(shelter),
                *(self.district(shelter.district) if a.escalation_level >= 1 else []),
                *(self.city() if a.escalation_level >= 2 else []),
            ]
        return list({user.id: user for user in found}.values())


class OutboxAlertSink:
    """Implements :class:`telemetry.ports.AlertSink` on the inspection outbox."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        ack_url: AckUrl,
        warning_window: timedelta = timedelta(hours=12),
        feed: PlatformFeed | None = None,
        zone: ZoneInfo,
    ) -> None:
        self.clock = clock
        self.zone = zone
        self.ack_url = ack_url
        self.warning_window = warning_window
        self.feed = feed

    def on_events(self, session: Session, events: Sequence[AlertEvent]) -> None:
        """Everything ``events`` queue, with the outcome of hearing them one by one, in a few
        statements whatever their number: the shelters in one query (their managers and the
        officers in one more each when someone is to be told), the audit entries in one
        INSERT per run of one action, the outbox (:func:`inspection.notify.queue_many`) in
        one query and one INSERT, the platform's deliveries in one INSERT."""
        if not events:
            return
        now = self.clock()
        codes = {e.alert.shelter_code for e in events}
        shelters = {
            s.code: s for s in session.scalars(select(Shelter).where(Shelter.code.in_(codes)))
        }
        self._audit(session, events, now)
        people = _People(session, shelters.values())
        messages: list[notify.Message] = []
        topics: list[str | None] = []
        """Per message, the platform's topic it is for; None for a person's."""
        for event in events:
            a = event.alert
            shelter = shelters.get(a.shelter_code)
            shelter_id = shelter.id if shelter is not None else None
            subject, body = self._subject(event, shelter), self._body(event, shelter)
            payload = alert_payload(event)
            topic = alert_topic(a.shelter_code)
            messages.append(
                notify.Message(
                    dedupe_key=f"alert:{a.id}:{event.kind.value}:{event.sequence}:platform",
                    kind=f"alert_{event.kind.value}",
                    recipient_id=None,
                    shelter_id=shelter_id,
                    subject=subject,
                    body=body,
                    payload={**payload, "mqtt_topic": topic},
                )
            )
            topics.append(topic)
            if event.kind is EventKind.RAISED and a.condition == HUMIDITY and shelter is not None:
                drafts.propose(
                    session,
                    shelter,
                    "HUMIDITY-UNCONTROLLED",
                    f"{a.zone or a.sensor_id} {a.message}（自动监测）",
                    now=now,
                )
            if event.late or shelter is None:
                continue
            key = f"alert:{a.id}:{event.kind.value}:{event.sequence}"
            if event.kind is EventKind.RAISED and a.severity == Severity.WARNING:
                window = int(now.timestamp() // self.warning_window.total_seconds())
                key = f"alert-warning:{a.shelter_code}:{a.rule}:{window}"
            for user in people.told(event, shelter):
                link = self.ack_url(a.id, user.id) if event.kind in _LINKED else None
                messages.append(
                    notify.Message(
                        dedupe_key=f"{key}:u{user.id}",
                        kind=f"alert_{event.kind.value}",
                        recipient_id=user.id,
                        shelter_id=shelter_id,
                        subject=subject,
                        body=body + (f"\n确认告警：{link}" if link else ""),
                        payload={**payload, "ack_url": link},
                    )
                )
                topics.append(None)
        ids = notify.queue_many(session, messages, now=now)
        if self.feed is not None:
            self._stage(
                session,
                [
                    (notification_id, topic, m)
                    for notification_id, topic, m in zip(ids, topics, messages, strict=True)
                    if notification_id is not None and topic is not None
                ],
                now,
            )

    @staticmethod
    def _audit(session: Session, events: Sequence[AlertEvent], now: datetime) -> None:
        """One audit entry per event, each run of events of one actor and action in one
        INSERT (a storm's raises are one)."""
        for (actor, action), run in itertools.groupby(
            events, key=lambda e: (e.actor, f"alert.{e.kind.value}")
        ):
            audit.record_many(
                session,
                Actor(id=0, username=actor, role=Role.ADMIN) if actor != "system" else SYSTEM,
                action,
                "alert",
                [
                    (
                        e.alert.id,
                        None,
                        {
                            "status": e.alert.status,
                            "condition": e.alert.condition,
                            "rule": e.alert.rule,
                            "severity": e.alert.severity,
                            "sensor": e.alert.sensor_id,
                            "late": e.late,
                            "level": e.alert.escalation_level,
                        },
                    )
                    for e in run
                ],
                at=now,
            )

    def _stage(
        self,
        session: Session,
        queued: Sequence[tuple[int, str, notify.Message]],
        now: datetime,
    ) -> None:
        """Plan the MQTT deliveries of the platform's messages now (one INSERT, their ids in
        one query), leased to this process's fast path."""
        if self.feed is None or not queued:
            return
        session.execute(
            insert(DELIVERIES),
            [
                {
                    "notification_id": notification_id,
                    "channel": "mqtt",
                    "target": topic,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now + LEASE,
                    "last_error": "",
                    "created_at": now,
                }
                for notification_id, topic, _m in queued
            ],
        )
        # ids read back by notification (one delivery each; see inspection.notify.queue_many)
        delivered: dict[int, int] = {
            notification_id: delivery_id
            for delivery_id, notification_id in session.execute(
                select(Delivery.id, Delivery.notification_id).where(
                    Delivery.notification_id.in_([n for n, _topic, _m in queued]),
                    Delivery.channel == "mqtt",
                )
            )
        }
        for notification_id, topic, m in queued:
            self.feed.stage(
                delivered[notification_id],
                topic,
                OutgoingMessage(
                    notification_id=notification_id,
                    kind=m.kind,
                    subject=m.subject,
                    body=m.body,
                    payload=dict(m.payload),
                    created_at=now,
                ),
            )

    @staticmethod
    def _subject(event: AlertEvent, shelter: Shelter | None) -> str:
        a = event.alert
        name = shelter.name if shelter is not None else a.shelter_code
        return f"【{_KIND_TEXT[event.kind]}】{name} {a.zone or a.sensor_id}：{a.message}"

    def _body(self, event: AlertEvent, shelter: Shelter | None) -> str:
        a: AlertView = event.alert
        name = shelter.name if shelter is not None else a.shelter_code
        since = cn_datetime(a.condition_since, self.zone)
        return (
            f"{name}（{a.shelter_code}）{a.zone} 传感器 {a.sensor_id}：{a.message}。"
            f"级别：{a.severity}；状态：{a.status}；首次超限：{since}。"
        )


def build_sink(
    *,
    clock: Callable[[], datetime],
    signing_key: str,
    base_url: str,
    link_hours: int,
    warning_hours: int,
    timezone: str,
    feed: PlatformFeed | None = None,
) -> OutboxAlertSink:
    """The sink with signed acknowledgement links valid for ``link_hours``, writing times in
    the city's zone ``timezone``."""

    def link(alert_id: int, user_id: int) -> str:
        token = make_ack_token(alert_id, user_id, key=signing_key, now=clock(), hours=link_hours)
        return ack_url(base_url, token)

    return OutboxAlertSink(
        clock=clock,
        ack_url=link,
        warning_window=timedelta(hours=warning_hours),
        feed=feed,
        zone=ZoneInfo(timezone),
    )


def sink_for(state: AppState, feed: PlatformFeed | None = None) -> OutboxAlertSink:
    """The sink of this process, configured from its settings."""
    s = state.settings
    return build_sink(
        clock=state.clock,
        signing_key=state.signing_key,
        base_url=s.public_base_url,
        link_hours=s.ack_link_hours,
        warning_hours=s.alert_warning_notice_hours,
        feed=feed,
        timezone=s.timezone,
    )


def transitions_for(state: AppState, feed: PlatformFeed | None = None) -> AlertTransitions:
    """The alert transitions of this process, announced to its sink (:func:`sink_for`)."""
    return AlertTransitions(sink_for(state, feed=feed))
