"""The rectification notice (整改通知书) of a class 2–4 follow-up as a printable A4 PDF.

:func:`notice_document` gathers what the notice shows from the database;
:func:`render_notice_pdf` lays it out with reportlab in the font of
:mod:`inspection.documents.fonts`, embedded as a subset, so the notice reads the same on a
machine without Chinese fonts. The notice is served on the spot: it is dated the day of the
inspection and its deadlines count from then. Class 3 adds the ledger's checkpoint; class 4
lists its three milestones (containment, plan, completion) with their dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inspection.access import Actor, can_see
from inspection.catalogue import Catalogue, load_catalogue
from inspection.contacts import manager_contact
from inspection.documents.common import (
    DEFAULT_OFFICE,
    TEXT_WIDTH,
    UNREGISTERED,
    build_a4,
    grid,
    letterhead,
    location,
    printed_footer,
    seal,
    styles,
)
from inspection.errors import InvalidInput, NotFound
from inspection.grading import Severity
from inspection.local_time import cn_date, cn_datetime
from inspection.models import Followup, FollowupKind, Inspection, Shelter

DEFAULT_LEGAL_BASIS = (
    "《中华人民共和国人民防空法》第二十五条：人民防空主管部门对人民防空工程的维护管理进行监督检查；"
    "有关单位应当按照国家规定对人民防空工程进行维护管理，使其保持良好使用状态。"
    "有该法第四十九条所列行为（侵占人民防空工程、擅自改变主体结构、拆除人民防空工程设备设施、"
    "危害人民防空工程安全等）的，由人民防空主管部门对当事人给予警告，并责令限期改正违法行为，"
    "可以对单位处一万元至五万元罚款。"
)
_NOTICE_KINDS = frozenset({FollowupKind.NOTICE, FollowupKind.LEDGER, FollowupKind.KEY_SUPERVISION})
_CLASS_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


class NoticeFinding(NamedTuple):
    title: str
    """The catalogue's Chinese wording of the problem."""
    severity: str
    note: str
    illegal_act: bool = False


@dataclass(frozen=True, slots=True)
class NoticeDocument:
    """Everything the notice prints; times are tz-aware and shown in ``tz``. ``issued_at``
    is the inspection's time: the notice is served on the spot."""

    number: str
    issued_at: datetime
    due_at: datetime
    shelter_code: str
    shelter_name: str
    shelter_address: str
    district: str
    responsible_unit: str
    manager_name: str | None
    manager_phone: str | None
    class_level: int
    findings: tuple[NoticeFinding, ...]
    checkpoint_at: datetime | None = None
    containment_due_at: datetime | None = None
    plan_due_at: datetime | None = None
    office: str = DEFAULT_OFFICE
    legal_basis: str = DEFAULT_LEGAL_BASIS
    tz: str = "Asia/Shanghai"
    printed_at: datetime | None = None


def _findings_table(doc: NoticeDocument, st: dict[str, ParagraphStyle]) -> Table:
    def cell(text: str, style: str = "cell") -> Paragraph:
        return Paragraph(escape(text), st[style])

    data: list[list[Any]] = [[cell(h, "head") for h in ("序号", "存在问题", "等级", "具体情况")]]
    for index, finding in enumerate(doc.findings, start=1):
        data.append(
            [
                cell(str(index), "center"),
                cell(finding.title),
                cell(finding.severity, "center"),
                cell(finding.note),
            ]
        )
    if not doc.findings:
        data.append([cell("—", "center"), cell("（无）"), cell(""), cell("")])
    widths = [12 * mm, 84 * mm, 14 * mm]
    return grid(data, [*widths, TEXT_WIDTH - sum(widths)], st["body"].fontName)


def _milestones(doc: NoticeDocument, st: dict[str, ParagraphStyle], zone: ZoneInfo) -> Table:
    """Class 4's three milestones; each span is counted from the notice's date."""

    def cell(text: str, style: str = "cell") -> Paragraph:
        return Paragraph(escape(text), st[style])

    rows: list[list[Any]] = [[cell(h, "head") for h in ("节点", "要求", "期限")]]
    if doc.containment_due_at is not None:
        hours = round((doc.containment_due_at - doc.issued_at).total_seconds() / 3600)
        rows.append(
            [
                cell("控制险情", "center"),
                cell(f"{hours}小时内采取措施控制险情，消除安全隐患"),
                cell(f"{cn_datetime(doc.containment_due_at, zone)}前"),
            ]
        )
    if doc.plan_due_at is not None:
        days = (doc.plan_due_at - doc.issued_at).days
        rows.append(
            [
                cell("报送方案", "center"),
                cell(f"{days}日内报送整改方案"),
                cell(f"{cn_date(doc.plan_due_at, zone)}前"),
            ]
        )
    days = (doc.due_at - doc.issued_at).days
    rows.append(
        [
            cell("完成整改", "center"),
            cell(f"{days}日内完成全面整改，报请核查销号"),
            cell(f"{cn_date(doc.due_at, zone)}前"),
        ]
    )
    widths = [24 * mm, 90 * mm]
    return grid(rows, [*widths, TEXT_WIDTH - sum(widths)], st["body"].fontName)


def _follow_up(doc: NoticeDocument, st: dict[str, ParagraphStyle], zone: ZoneInfo) -> list[Any]:
    """What the unit must do by when, as the class prescribes."""
    report = (
        "并将整改情况连同整改前后的照片报送"
        f"{escape(doc.district)}人民防空主管部门，经核查确认后销号。"
    )
    if doc.class_level == 4:
        return [
            Paragraph(
                "该工程已列为重点督导工程。请你单位按下表时限完成整改，" + report, st["para"]
            ),
            Spacer(1, 2 * mm),
            _milestones(doc, st, zone),
            Spacer(1, 2 * mm),
            *(
                [Paragraph("所列问题涉嫌违法行为的，将依法移交执法部门查处。", st["para"])]
                if any(f.illegal_act for f in doc.findings)
                else []
            ),
        ]
    text = f"请于{cn_date(doc.due_at, zone)}前完成整改，{report}"
    if doc.class_level == 3:
        checkpoint = (
            f"，{cn_date(doc.checkpoint_at, zone)}进行中期检查" if doc.checkpoint_at else ""
        )
        text = f"该工程已列入问题台账，由专人跟踪督导{checkpoint}。{text}"
    return [Paragraph(text, st["para"])]


def render_notice_pdf(doc: NoticeDocument, *, font: str) -> bytes:
    """The notice as A4 PDF bytes in the registered ``font`` (see
    :func:`inspection.documents.fonts.load_font`); every text the caller supplies is
    escaped."""
    zone = ZoneInfo(doc.tz)
    st = styles(font)
    addressee = doc.responsible_unit or (
        f"{doc.shelter_name}工程长{doc.manager_name}" if doc.manager_name else "__________"
    )
    where = location(doc.district, doc.shelter_address)
    story: list[Any] = [
        *letterhead("人防工程整改通知书", doc.number, addressee, st),
        Paragraph(
            f"{cn_date(doc.issued_at, zone)}，{escape(doc.office)}对你单位负责维护管理的人防工程"
            f"“{escape(doc.shelter_name)}”（工程编号{escape(doc.shelter_code)}，"
            f"位于{escape(where)}）进行了检查，评定为"
            f"{_CLASS_NAMES.get(doc.class_level, str(doc.class_level))}类，"
            "发现下表所列问题：",
            st["para"],
        ),
        Spacer(1, 2 * mm),
        _findings_table(doc, st),
        Spacer(1, 2 * mm),
        *_follow_up(doc, st, zone),
        Paragraph(
            f"工程长：{escape(doc.manager_name or UNREGISTERED)}；"
            f"联系电话：{escape(doc.manager_phone or UNREGISTERED)}。",
            st["para"],
        ),
        Paragraph(f"法律依据：{escape(doc.legal_basis)}", st["para"]),
        Spacer(1, 12 * mm),
        *seal(doc.office, doc.issued_at, zone, st),
        Spacer(1, 12 * mm),
        Paragraph("签收人：____________　　签收日期：______年____月____日", st["body"]),
    ]
    return build_a4(
        story,
        font=font,
        title=f"人防工程整改通知书 {doc.number}",
        author=doc.office,
        subject=doc.shelter_name,
        footer=printed_footer(doc.number, doc.printed_at, zone),
    )


def catalogue_for(session: Session, inspection_id: int | None) -> Catalogue:
    version = (
        session.scalar(select(Inspection.catalogue_version).where(Inspection.id == inspection_id))
        if inspection_id is not None
        else None
    )
    try:
        return load_catalogue(version) if version else load_catalogue()
    except KeyError:
        return load_catalogue()


def notice_document(
    session: Session, followup_id: int, *, actor: Actor, now: datetime, tz: str
) -> NoticeDocument:
    """The notice of a class 2–4 follow-up, printed at ``now`` and dated in ``tz``;
    :class:`NotFound` when it does not exist or ``actor`` may not see its shelter,
    :class:`InvalidInput` for a referral (which is not a notice)."""
    followup = session.scalar(
        select(Followup)
        .where(Followup.id == followup_id)
        .options(
            joinedload(Followup.shelter).joinedload(Shelter.manager),
            selectinload(Followup.findings),
        )
    )
    if followup is None or not can_see(actor, followup.shelter):
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    if followup.kind not in _NOTICE_KINDS:
        raise InvalidInput("a referral has no rectification notice", code="not_a_notice")
    catalogue = catalogue_for(session, followup.inspection_id)
    fallback = load_catalogue()
    findings = tuple(
        NoticeFinding(
            title=item_title(finding.item_code, catalogue, fallback),
            severity=Severity(finding.severity).label,
            note=finding.note,
            illegal_act=finding.illegal_act,
        )
        for finding in followup.findings
    )
    shelter = followup.shelter
    manager = manager_contact(shelter)
    return NoticeDocument(
        number=followup.number,
        issued_at=followup.issued_at,
        due_at=followup.due_at,
        checkpoint_at=followup.checkpoint_at,
        containment_due_at=followup.containment_due_at,
        plan_due_at=followup.plan_due_at,
        shelter_code=shelter.code,
        shelter_name=shelter.name,
        shelter_address=shelter.address,
        district=shelter.district,
        responsible_unit=shelter.responsible_unit,
        manager_name=manager.name,
        manager_phone=manager.phone,
        class_level=followup.class_level,
        findings=findings,
        tz=tz,
        printed_at=now,
    )


def item_title(code: str, catalogue: Catalogue, fallback: Catalogue) -> str:
    """The Chinese wording of a catalogue item, from the inspection's catalogue version or
    else the current one; the code only for an item neither knows."""
    item = catalogue.get(code) or fallback.get(code)
    return item.title if item is not None else code
