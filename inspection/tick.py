"""The scheduled pass over live follow-ups: reminders, deadline notices, overdue escalation,
and this month's compliance snapshot. Safe to run twice: messages are deduplicated by key
and an escalated follow-up is no longer live.

Class 2 notice: remind the manager N days before; at the deadline tell the district officer;
``escalate_after_overdue_days`` late → class 3 (a ledger entry takes over).
Class 3 ledger: checkpoint to the tracker; remind tracker and manager N days before; at the
deadline tell the district head; ``escalate_after_overdue_days`` late → class 4.
Class 4 key supervision: containment, plan and completion deadlines reported to the city
office and district when missed; a containment or plan milestone recorded as done
(``inspection.milestones``) is not reported. Referrals: the city office hears when one is
still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, followups, notify, stats
from inspection.access import SYSTEM, Actor
from inspection.grading import FollowupPolicy, deadlines_for
from inspection.local_time import cn_date, cn_datetime
from inspection.models import (
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupKind,
    FollowupStatus,
    Inspection,
    Milestone,
    MilestoneRecord,
    Shelter,
    User,
)

_NEXT_KIND = {3: FollowupKind.LEDGER, 4: FollowupKind.KEY_SUPERVISION}


@dataclass(slots=True)
class TickReport:
    reminders: int = 0
    deadline_notices: int = 0
    escalations: int = 0
    snapshots: int = 0


def run(session: Session, *, now: datetime, policy: FollowupPolicy, tz: str) -> TickReport:
    """One pass at time ``now``; the caller commits."""
    report = TickReport()
    live = session.execute(
        select(Followup, Shelter)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(Followup.status == FollowupStatus.OPEN.value)
        .order_by(Followup.id)
    ).all()
    for followup, shelter in live:
        pass_ = _Pass(session, followup, shelter, now, report, tz)
        if followup.kind == FollowupKind.NOTICE:
            pass_.notice(policy)
        elif followup.kind == FollowupKind.LEDGER:
            pass_.ledger(policy)
        elif followup.kind == FollowupKind.KEY_SUPERVISION:
            pass_.key_supervision()
        else:
            pass_.referral()
    report.snapshots = stats.snapshot_month(session, now=now, tz=tz, actor=SYSTEM)
    return report


class _Pass:
    """The checks on one live follow-up."""

    def __init__(
        self,
        session: Session,
        followup: Followup,
        shelter: Shelter,
        now: datetime,
        report: TickReport,
        tz: str,
    ) -> None:
        self.session = session
        self.f = followup
        self.shelter = shelter
        self.now = now
        self.report = report
        self.tz = tz
        self.zone = ZoneInfo(tz)

    def _user(self, user_id: int | None) -> User | None:
        return self.session.get(User, user_id) if user_id else None

    def _inspector_of(self, followup: Followup) -> int | None:
        if followup.inspection_id is None:
            return None
        inspection = self.session.get(Inspection, followup.inspection_id)
        return inspection.inspector_id if inspection is not None else None

    def _send(self, event: str, recipients: list[User | None], subject: str, body: str) -> int:
        return notify.queue(
            self.session,
            dedupe_key=f"followup:{self.f.id}:{event}",
            kind=f"followup_{event}",
            recipients=recipients,
            shelter=self.shelter,
            subject=subject,
            body=body,
            now=self.now,
            payload={
                "followup": self.f.number,
                "shelter": self.shelter.code,
                "due_at": self.f.due_at.isoformat(),
            },
        )

    def _reminders(self, days_before: list[int], recipients: list[User | None]) -> None:
        if self.now >= self.f.due_at:
            return
        for days in days_before:
            if self.now >= self.f.due_at - timedelta(days=days):
                self.report.reminders += self._send(
                    f"remind-{days}d",
                    recipients,
                    f"整改期限提醒 {self.f.number}：{self.shelter.name}",
                    f"{self.shelter.name}（{self.shelter.code}）{self.f.number} 将于 "
                    f"{cn_date(self.f.due_at, self.zone)} 到期（剩余不足 {days} 天），"
                    "请按期完成整改。",
                )

    def _deadline(self, recipients: list[User | None], who: str) -> None:
        if self.now >= self.f.due_at:
            self.report.deadline_notices += self._send(
                "due",
                recipients,
                f"整改逾期 {self.f.number}：{self.shelter.name}",
                f"{self.shelter.name}（{self.shelter.code}）{self.f.number} 已于 "
                f"{cn_date(self.f.due_at, self.zone)} 到期未完成整改，请{who}督办。",
            )

    def notice(self, policy: FollowupPolicy) -> None:
        manager = self._user(self.shelter.manager_id)
        self._reminders(policy.class2.remind_days_before, [manager])
        self._deadline(
            list(notify.district_officers(self.session, self.shelter.district)), "区人防办"
        )
        if self.now >= self.f.due_at + timedelta(days=policy.class2.escalate_after_overdue_days):
            self._escalate(3, policy)

    def ledger(self, policy: FollowupPolicy) -> None:
        manager = self._user(self.shelter.manager_id)
        tracker = self._user(self.f.tracker_id)
        if self.f.checkpoint_at is not None and self.now >= self.f.checkpoint_at:
            self.report.reminders += self._send(
                "checkpoint",
                [tracker, manager],
                f"台账中期检查 {self.f.number}：{self.shelter.name}",
                f"{self.shelter.name}（{self.shelter.code}）{self.f.number} "
                "已到中期节点，请跟踪整改进度。",
            )
        self._reminders(policy.class3.remind_days_before, [tracker, manager])
        self._deadline(
            list(notify.district_officers(self.session, self.shelter.district)), "区负责人"
        )
        if self.now >= self.f.due_at + timedelta(days=policy.class3.escalate_after_overdue_days):
            self._escalate(4, policy)

    def key_supervision(self) -> None:
        recipients: list[User | None] = [
            *notify.city_office(self.session),
            *notify.district_officers(self.session, self.shelter.district),
        ]
        recorded = set(
            self.session.scalars(
                select(MilestoneRecord.milestone).where(MilestoneRecord.followup_id == self.f.id)
            )
        )
        for milestone, event, due, what in (
            (Milestone.CONTAINMENT, "containment-due", self.f.containment_due_at, "险情控制"),
            (Milestone.PLAN, "plan-due", self.f.plan_due_at, "整改方案"),
        ):
            if due is not None and self.now >= due and milestone.value not in recorded:
                self.report.deadline_notices += self._send(
                    event,
                    recipients,
                    f"{what}逾期 {self.f.number}：{self.shelter.name}",
                    f"{self.shelter.name}（{self.shelter.code}）重点督导 {self.f.number} 的{what}"
                    f"期限 {cn_datetime(due, self.zone)} 已过，请核查。",
                )
        self._deadline(recipients, "市人防办")

    def referral(self) -> None:
        self._deadline(list(notify.city_office(self.session)), "执法部门")

    def _escalate(self, to_class: int, policy: FollowupPolicy, actor: Actor = SYSTEM) -> None:
        f = self.f
        before = audit.snapshot(f)
        f.status = FollowupStatus.ESCALATED.value
        f.escalated_class = to_class
        f.escalated_at = self.now
        still_open = list(
            self.session.scalars(
                select(Finding)
                .join(FollowupFinding, FollowupFinding.finding_id == Finding.id)
                .where(
                    FollowupFinding.followup_id == f.id,
                    Finding.status != FindingStatus.CLOSED.value,
                )
                .order_by(Finding.id)
            )
        )
        # A ledger needs a named tracker: the one of the follow-up, else the shelter's
        # assigned inspector, else whoever made the inspection (the default at submission).
        tracker_id = f.tracker_id or self.shelter.inspector_id or self._inspector_of(f)
        child = followups.new_followup(
            self.session,
            kind=_NEXT_KIND[to_class],
            shelter=self.shelter,
            class_level=to_class,
            issued_at=self.now,
            deadlines=deadlines_for(to_class, self.now, policy),
            findings=still_open,
            inspection_id=f.inspection_id,
            parent_id=f.id,
            tracker_id=tracker_id if to_class == 3 else None,
            tz=self.tz,
        )
        audit.record(
            self.session,
            actor,
            "followup.escalated",
            "followup",
            f.number,
            at=self.now,
            before=before,
            after=audit.snapshot(f),
        )
        audit.record(
            self.session,
            actor,
            "followup.create",
            "followup",
            child.number,
            at=self.now,
            after=audit.snapshot(child),
        )
        followups.announce(
            self.session,
            child,
            self.shelter,
            manager=self._user(self.shelter.manager_id),
            tracker=self._user(tracker_id),
            now=self.now,
            tz=self.tz,
        )
        followups.recompute_class(
            self.session,
            self.shelter,
            reason="overdue_escalation",
            ref=f"followup:{f.number}",
            actor=actor,
            now=self.now,
        )
        self.report.escalations += 1
