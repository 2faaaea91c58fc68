"""Turns alert transitions into notifications in the outbox, audit entries and draft findings,
inside the transaction that made the transition (so none is lost or doubled): the sink that
:class:`telemetry.alert_transitions.AlertTransitions` announces every transition to.

Who hears: on raise the shelter's manager (工程长); an unacknowledged critical alert escalates
to the district officers, then the city office; a rise in severity and a clearance go to
everyone who was told; a step down in severity goes to the platform only.
A warning-level notice goes out at most once per rule and shelter per window (default 12 h).
Late (backfilled) transitions page nobody. Every transition is also published for the
smart-city platform on ``shelters/{code}/alerts``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.notify.ack_links import ack_url, make_ack_token
from api.notify.channels import OutgoingMessage
from api.notify.delivery import LEASE
from api.notify.platform_feed import PlatformFeed
from api.state import AppState
from inspection import audit, drafts, notify
from inspection.access import SYSTEM, Actor
from inspection.local_time import cn_datetime
from inspection.models import Delivery, Notification, OutboxStatus, Role, Shelter, User
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

    def _stage(self, session: Session, n: Notification, topic: str, now: datetime) -> None:
        """Plan the MQTT delivery now, leased to this process's fast path."""
        if self.feed is None:
            return
        delivery = Delivery(
            notification_id=n.id,
            channel="mqtt",
            target=topic,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now + LEASE,
            last_error="",
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        self.feed.stage(
            delivery.id,
            topic,
            OutgoingMessage(
                notification_id=n.id,
                kind=n.kind,
                subject=n.subject,
                body=n.body,
                payload=dict(n.payload),
                created_at=n.created_at,
            ),
        )

    def on_event(self, session: Session, event: AlertEvent) -> None:
        now = self.clock()
        a = event.alert
        shelter = session.scalar(select(Shelter).where(Shelter.code == a.shelter_code))
        actor = Actor(id=0, username=event.actor, role=Role.ADMIN)
        audit.record(
            session,
            actor if event.actor != "system" else SYSTEM,
            f"alert.{event.kind.value}",
            "alert",
            a.id,
            at=now,
            after={
                "status": a.status,
                "condition": a.condition,
                "rule": a.rule,
                "severity": a.severity,
                "sensor": a.sensor_id,
                "late": event.late,
                "level": a.escalation_level,
            },
        )
        payload = alert_payload(event)
        topic = alert_topic(a.shelter_code)
        platform = notify.queue_unaddressed(
            session,
            dedupe_key=f"alert:{a.id}:{event.kind.value}:{event.sequence}:platform",
            kind=f"alert_{event.kind.value}",
            shelter=shelter,
            subject=self._subject(event, shelter),
            body=self._body(event, shelter),
            now=now,
            payload={**payload, "mqtt_topic": topic},
        )
        if platform is not None and self.feed is not None:
            self._stage(session, platform, topic, now)
        if event.kind is EventKind.RAISED and a.condition == HUMIDITY and shelter is not None:
            drafts.propose(
                session,
                shelter,
                "HUMIDITY-UNCONTROLLED",
                f"{a.zone or a.sensor_id} {a.message}（自动监测）",
                now=now,
            )
        if event.late or shelter is None:
            return
        recipients = self._recipients(session, event, shelter)
        if not recipients:
            return
        key = f"alert:{a.id}:{event.kind.value}:{event.sequence}"
        if event.kind is EventKind.RAISED and a.severity == Severity.WARNING:
            window = int(now.timestamp() // self.warning_window.total_seconds())
            key = f"alert-warning:{a.shelter_code}:{a.rule}:{window}"
        for user in recipients:
            link = self.ack_url(a.id, user.id) if event.kind in _LINKED else None
            notify.queue(
                session,
                dedupe_key=key,
                kind=f"alert_{event.kind.value}",
                recipients=[user],
                shelter=shelter,
                subject=self._subject(event, shelter),
                body=self._body(event, shelter) + (f"\n确认告警：{link}" if link else ""),
                now=now,
                payload={**payload, "ack_url": link},
            )

    def _recipients(self, session: Session, event: AlertEvent, shelter: Shelter) -> list[User]:
        # Only the people an event goes to are looked up (a storm of raises asks for managers).
        a = event.alert
        if event.kind is EventKind.ESCALATED:
            if event.level == 1:
                return notify.district_officers(session, shelter.district)
            return notify.city_office(session)
        if event.kind not in (
            EventKind.RAISED,
            EventKind.CLEARED,
            EventKind.RESOLVED,
            EventKind.RENOTIFY,
            EventKind.SEVERITY_RAISED,
        ):
            return []  # acknowledged, severity lowered: the platform hears of it, nobody else
        manager = session.get(User, shelter.manager_id) if shelter.manager_id else None
        managers = [manager] if manager is not None and manager.active else []
        if event.kind is EventKind.RAISED:
            return managers
        return [
            *managers,
            *(
                notify.district_officers(session, shelter.district)
                if a.escalation_level >= 1
                else []
            ),
            *(notify.city_office(session) if a.escalation_level >= 2 else []),
        ]

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
