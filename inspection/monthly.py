"""The monthly report for leadership (月报): the figures of one calendar month in the city's
time zone, for the whole city or one district, as a list of tables that the PDF
(:mod:`inspection.documents.monthly`) and the xlsx (:func:`inspection.tabular.to_xlsx_sheets`)
both print, one table each, each with a sentence saying what it shows.

The figures and where they come from:

- **维护管理达标率** by district, and shelters by class: :func:`inspection.stats.compliance`
  (the dashboard's figures) for the current month; for a past month the history row the tick
  wrote last in that month (``compliance_history``). Its trend over the last
  :data:`TREND_MONTHS` months is the same history, the current month live.
- **Follow-ups** of each kind issued, escalated and closed within the month, and those open and
  overdue at its end (at ``now`` for the current month; :func:`inspection.followups` counts
  the same for ``GET /api/v1/followups?overdue=true``), with the overdue ones listed.
- **Referrals** issued in the month, outcomes recorded in it, and every referral by the
  outcome in force (:func:`inspection.stats.referrals`, the dashboard's figures).
- **Sensors and alerts**: through the :class:`MonitoringPort` the caller passes in (the API
  implements it with the telemetry records): shelters with sensors, shelters whose sensors
  sent readings in the month, and alerts raised in the month by severity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from inspection import stats
from inspection.access import Actor, shelter_scope
from inspection.errors import InvalidInput, NotFound
from inspection.models import (
    ComplianceSnapshot,
    Followup,
    FollowupKind,
    FollowupStatus,
    OutcomeRecord,
    Shelter,
)
from inspection.stats import CITY
from inspection.tabular import KIND_LABELS

TREND_MONTHS = 12
OVERDUE_LISTED = 50
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_CLASSES = ("1", "2", "3", "4", "ungraded")
_OUTCOME_LABELS = {
    "none": "尚无结果",
    "referred": "已移送待处理",
    "warning": "警告并责令改正",
    "fined": "罚款",
    "dismissed": "不予立案",
    "other": "其他",
}
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Sensor coverage and alerts of a set of shelters over one period."""

    shelters_with_sensors: int
    shelters_reporting: int | None
    """Shelters with a reading in the period; None: the reading store could not be read."""
    alerts: dict[str, int]
    """Alerts raised in the period, by severity (``info``, ``warning``, ``critical``)."""


class MonitoringPort(Protocol):
    """What the report needs of the monitoring side, implemented where both sides meet."""

    def monitoring(
        self, shelter_codes: Sequence[str], start: datetime, end: datetime
    ) -> Monitoring:
        """Coverage and alerts of the active shelters ``shelter_codes`` in [start, end)."""
        ...


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table of the report: the xlsx sheet's name, the heading, the sentence under it,
    the columns as (key, header) and the rows keyed by column."""

    sheet: str
    title: str
    explanation: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    month: str
    """``YYYY-MM`` in the city's zone."""
    district: str | None
    """None: the whole city."""
    start: datetime
    end: datetime
    as_of: datetime
    """The end of the month, or ``now`` for the current month."""
    tz: str
    tables: list[ReportTable] = field(default_factory=list)
    trend: list[tuple[str, float | None]] = field(default_factory=list)
    """The compliance rate of the scope (district or city) over the last months, oldest first."""

    @property
    def scope_name(self) -> str:
        return self.district or "全市"

    def table(self, sheet: str) -> ReportTable:
        return next(t for t in self.tables if t.sheet == sheet)


def month_bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of ``YYYY-MM`` in the zone ``tz``; :class:`InvalidInput` otherwise."""
    match = _MONTH.fullmatch(month)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise InvalidInput(f"month must be YYYY-MM, not {month!r}", code="bad_month")
    year, number = int(match[1]), int(match[2])
    zone = ZoneInfo(tz)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


def _months_back(month: str, count: int) -> list[str]:
    year, number = int(month[:4]), int(month[5:])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{number:02d}")
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return out[::-1]


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def _scope_district(session: Session, actor: Actor, district: str | None) -> str | None:
    """The district the report covers: a district officer's own; the city office's choice."""
    wanted = district if district is not None else actor.district
    if wanted is None:
        return None
    known = session.scalar(
        select(func.count())
        .select_from(Shelter)
        .where(shelter_scope(actor), Shelter.district == wanted)
    )
    if not known:
        raise NotFound(f"no district {wanted!r}", code="district_not_found")
    return wanted


def _compliance(
    session: Session, actor: Actor, district: str | None, month: str, current: bool, now: datetime
) -> tuple[list[stats.ComplianceRow], dict[str, float | None]]:
    """The month's compliance rows (districts, then the city row when the scope is the city)
    and the scope's rate per month of the history."""
    report = stats.compliance(session, actor=actor, now=now, district=district)
    key = district if district is not None else CITY
    trend = {h.month: h.rate for h in report.history if h.district == key}
    if current:
        rows = [*report.districts, *([report.city] if district is None else [])]
        trend[month] = (report.districts[0] if district is not None else report.city).rate
        return rows, trend
    snaps = session.scalars(
        select(ComplianceSnapshot)
        .where(ComplianceSnapshot.month == month)
        .order_by(ComplianceSnapshot.district)
    ).all()
    seen = {r.district for r in report.districts}
    rows = []
    for snap in snaps:
        if snap.district in seen and (district is None or snap.district == district):
            rows.append(_snapshot_row(snap))
    city = next((s for s in snaps if s.district == CITY), None)
    if district is None and city is not None and actor.district is None:
        rows.append(_snapshot_row(city))
    return rows, trend


def _snapshot_row(snap: ComplianceSnapshot) -> stats.ComplianceRow:
    by_class = {k: int((snap.by_class or {}).get(k, 0)) for k in _CLASSES}
    return stats.ComplianceRow(
        district=snap.district,
        active_shelters=snap.active_shelters,
        class1_shelters=snap.class1_shelters,
        rate=snap.rate,
        by_class=by_class,
    )


def _followup_rows(
    session: Session,
    actor: Actor,
    district: str | None,
    start: datetime,
    as_of: datetime,
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    where = [shelter_scope(actor)]
    if district is not None:
        where.append(Shelter.district == district)
    rows = session.execute(
        select(Followup, Shelter.code, Shelter.name, Shelter.district)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(
            *where,
            Followup.issued_at < as_of,
            or_(Followup.closed_at.is_(None), Followup.closed_at >= start),
            or_(Followup.escalated_at.is_(None), Followup.escalated_at >= start),
        )
        .order_by(Followup.due_at, Followup.number)
    ).all()
    counts: dict[FollowupKind, dict[str, int]] = {
        kind: dict.fromkeys(("new", "escalated", "closed", "open", "overdue"), 0)
        for kind in FollowupKind
    }
    overdue: list[dict[str, Any]] = []
    for followup, code, name, shelter_district in rows:
        c = counts[FollowupKind(followup.kind)]
        c["new"] += start <= followup.issued_at
        c["escalated"] += followup.escalated_at is not None and followup.escalated_at < as_of
        c["closed"] += followup.closed_at is not None and followup.closed_at < as_of
        still_open = (followup.closed_at is None or followup.closed_at >= as_of) and (
            followup.escalated_at is None or followup.escalated_at >= as_of
        )
        if as_of == now:  # the current month: as the follow-up list counts it
            still_open = followup.status == FollowupStatus.OPEN
        if still_open:
            c["open"] += 1
            if followup.due_at < as_of:
                c["overdue"] += 1
                overdue.append(
                    {
                        "number": followup.number,
                        "kind": KIND_LABELS.get(followup.kind, followup.kind),
                        "shelter": f"{code} {name}",
                        "district": shelter_district,
                        "due_at": followup.due_at,
                        "days": (as_of - followup.due_at).days,
                    }
                )
    table: list[dict[str, Any]] = [{"kind": KIND_LABELS[k], **c} for k, c in counts.items()]
    keys = ("new", "escalated", "closed", "open", "overdue")
    table.append({"kind": "合计", **{k: sum(c[k] for c in counts.values()) for k in keys}})
    overdue.sort(key=lambda r: (-r["days"], r["number"]))
    return table, overdue


def _referral_rows(
    session: Session,
    actor: Actor,
    district: str | None,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    base = (
        select(Followup.id)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(Followup.kind == FollowupKind.REFERRAL.value, shelter_scope(actor))
    )
    if district is not None:
        base = base.where(Shelter.district == district)
    new = session.scalar(
        select(func.count()).select_from(
            base.where(Followup.issued_at >= start, Followup.issued_at < end).subquery()
        )
    )
    recorded = dict(
        session.execute(
            select(OutcomeRecord.status, func.count())
            .where(
                OutcomeRecord.followup_id.in_(base),
                OutcomeRecord.recorded_at >= start,
                OutcomeRecord.recorded_at < end,
            )
            .group_by(OutcomeRecord.status)
        ).all()
    )
    figures = stats.referrals(session, actor=actor, district=district)
    rows = [{"what": "本月新移送", "count": new or 0, "fines": ""}]
    for status, label in _OUTCOME_LABELS.items():
        if status != "none":
            rows.append(
                {"what": f"本月记录：{label}", "count": recorded.get(status, 0), "fines": ""}
            )
    rows.append({"what": "累计移送", "count": figures.total, "fines": figures.fines_yuan})
    rows.append({"what": "其中尚未办结", "count": figures.open, "fines": ""})
    for status, label in _OUTCOME_LABELS.items():
        rows.append(
            {"what": f"累计现结果：{label}", "count": figures.by_outcome[status], "fines": ""}
        )
    return rows


def _monitoring_rows(
    session: Session,
    actor: Actor,
    district: str | None,
    start: datetime,
    end: datetime,
    port: MonitoringPort,
) -> list[dict[str, Any]]:
    query = select(Shelter.district, Shelter.code).where(
        shelter_scope(actor), Shelter.active.is_(True)
    )
    if district is not None:
        query = query.where(Shelter.district == district)
    by_district: dict[str, list[str]] = {}
    for name, code in session.execute(query.order_by(Shelter.district, Shelter.code)):
        by_district.setdefault(name, []).append(code)
    rows = []
    for name, codes in by_district.items():
        m = port.monitoring(codes, start, end)
        rows.append(
            {
                "district": name,
                "shelters": len(codes),
                "with_sensors": m.shelters_with_sensors,
                "reporting": m.shelters_reporting,
                **{f"alerts_{s}": m.alerts.get(s, 0) for s in SEVERITIES},
            }
        )
    if district is None and rows:
        total: dict[str, Any] = {"district": "全市"}
        for key in rows[0]:
            if key != "district":
                values = [r[key] for r in rows]
                total[key] = None if None in values else sum(values)
        rows.append(total)
    return rows


def monthly_report(
    session: Session,
    month: str,
    *,
    actor: Actor,
    now: datetime,
    tz: str,
    monitoring: MonitoringPort,
    district: str | None = None,
) -> MonthlyReport:
    """The report of ``month`` (``YYYY-MM`` in ``tz``) over what ``actor`` may see: a
    district officer their district, the city office the city or ``district``.
    :class:`InvalidInput` for a malformed month or one that has not begun;
    :class:`NotFound` for a district out of scope or unknown."""
    start, end = month_bounds(month, tz)
    if start > now:
        raise InvalidInput(f"{month} has not begun", code="future_month")
    scope = _scope_district(session, actor, district)
    current = now < end
    as_of = now if current else end
    compliance, trend_by_month = _compliance(session, actor, scope, month, current, now)
    followups, overdue = _followup_rows(session, actor, scope, start, as_of, now)
    months = _months_back(month, TREND_MONTHS)
    trend = [(m, trend_by_month.get(m)) for m in months]
    at = "截至本月末" if not current else "截至报告生成时"
    report = MonthlyReport(
        month=month,
        district=scope,
        start=start,
        end=end,
        as_of=as_of,
        tz=tz,
        trend=trend,
    )

    def name(d: str) -> str:
        return d or "全市"

    report.tables.extend(
        [
            ReportTable(
                "达标率",
                "一、维护管理达标率",
                "达标率＝当前为一类的人防工程数÷在册启用的人防工程数；从未检查的工程计入分母。"
                + (
                    "本月为当前月份，数字为报告生成时的实时数据。"
                    if current
                    else "数字为该月最后一次统计时的记录；无记录的月份不列出。"
                ),
                [
                    ("district", "区"),
                    ("active", "在册工程"),
                    ("class1", "一类工程"),
                    ("rate", "达标率"),
                ],
                [
                    {
                        "district": name(r.district),
                        "active": r.active_shelters,
                        "class1": r.class1_shelters,
                        "rate": _pct(r.rate),
                    }
                    for r in compliance
                ],
            ),
            ReportTable(
                "达标率趋势",
                "二、达标率走势（近12个月）",
                f"{report.scope_name}每月的达标率；“—”表示该月没有统计记录。",
                [("month", "月份"), ("rate", "达标率")],
                [{"month": m, "rate": _pct(r)} for m, r in trend],
            ),
            ReportTable(
                "分类情况",
                "三、工程分类情况",
                "按检查评定的当前类别统计工程数：一类为日常监管，二类限期整改，三类列入问题台账，"
                "四类重点督导；未评级为尚未检查。",
                [
                    ("district", "区"),
                    *((f"c{k}", f"{n}类") for k, n in zip("1234", "一二三四", strict=True)),
                    ("ungraded", "未评级"),
                ],
                [
                    {
                        "district": name(r.district),
                        **{f"c{k}": r.by_class.get(k, 0) for k in "1234"},
                        "ungraded": r.by_class.get("ungraded", 0),
                    }
                    for r in compliance
                ],
            ),
            ReportTable(
                "整改督办",
                "四、整改督办情况",
                f"本月新下发、逾期升级和整改销号的文书数，以及{at}仍在办理和已超期限的数量。",
                [
                    ("kind", "类型"),
                    ("new", "本月新增"),
                    ("escalated", "本月升级"),
                    ("closed", "本月销号"),
                    ("open", "在办"),
                    ("overdue", "逾期"),
                ],
                followups,
            ),
            ReportTable(
                "逾期事项",
                "五、逾期未办结事项",
                f"{at}已过整改期限仍未办结的文书，逾期最久的在前"
                + (
                    f"（共{len(overdue)}项，列出前{OVERDUE_LISTED}项）。"
                    if len(overdue) > OVERDUE_LISTED
                    else f"（共{len(overdue)}项）。"
                ),
                [
                    ("number", "编号"),
                    ("kind", "类型"),
                    ("shelter", "工程"),
                    ("district", "区"),
                    ("due_at", "整改期限"),
                    ("days", "逾期天数"),
                ],
                overdue[:OVERDUE_LISTED],
            ),
            ReportTable(
                "执法移送",
                "六、违法行为移送执法情况",
                "涉嫌违反人民防空法第四十九条的问题移送执法部门的情况：本月新移送和本月记录的"
                "处理结果，以及全部移送按现行结果的累计数和罚款金额（元）。",
                [("what", "项目"), ("count", "件数"), ("fines", "罚款（元）")],
                _referral_rows(session, actor, scope, start, end),
            ),
            ReportTable(
                "监测告警",
                "七、监测设备与告警",
                "装有传感器的工程数、本月有数据上报的工程数（“—”表示暂时无法读取），"
                "以及本月产生的告警数（按级别：提示、警告、严重）。",
                [
                    ("district", "区"),
                    ("shelters", "在册工程"),
                    ("with_sensors", "装有传感器"),
                    ("reporting", "本月有上报"),
                    ("alerts_info", "提示"),
                    ("alerts_warning", "警告"),
                    ("alerts_critical", "严重"),
                ],
                _monitoring_rows(session, actor, scope, start, end, monitoring),
            ),
        ]
    )
    return report
