"""The rectification notice (整改通知书) as a printable A4 PDF in Chinese.

:func:`notice_document` gathers what the notice shows from the database;
:func:`render_notice_pdf` lays it out with reportlab, using the built-in CID font
STSong-Light (no font file needed, text stays extractable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from typing import Any, NamedTuple
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inspection.access import Actor, can_see
from inspection.catalogue import Catalogue, load_catalogue
from inspection.errors import InvalidInput, NotFound
from inspection.grading import Severity
from inspection.models import Followup, FollowupKind, Inspection, Shelter

FONT = "STSong-Light"
DEFAULT_OFFICE = "市人民防空办公室"
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
    item: str
    title: str
    severity: str
    note: str


@dataclass(frozen=True, slots=True)
class NoticeDocument:
    """Everything the notice prints; times are tz-aware and shown in ``tz``."""

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
    office: str = DEFAULT_OFFICE
    legal_basis: str = DEFAULT_LEGAL_BASIS
    tz: str = "Asia/Shanghai"
    printed_at: datetime | None = None


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _date(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{local.year:04d}年{local.month:02d}月{local.day:02d}日"


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=20, wordWrap="CJK")
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=4
        ),
        "number": ParagraphStyle("number", parent=body, fontSize=10.5, alignment=TA_RIGHT),
        "body": body,
        "para": ParagraphStyle("para", parent=body, firstLineIndent=23, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=body, fontSize=10, leading=14),
        "head": ParagraphStyle("head", parent=body, fontSize=10.5, leading=14, alignment=TA_CENTER),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    }


def _findings_table(doc: NoticeDocument, st: dict[str, ParagraphStyle]) -> Table:
    def cell(text: str, style: str = "cell") -> Paragraph:
        return Paragraph(escape(text), st[style])

    data: list[list[Any]] = [
        [cell(h, "head") for h in ("序号", "检查项", "问题描述", "等级", "备注")]
    ]
    for index, finding in enumerate(doc.findings, start=1):
        data.append(
            [
                cell(str(index)),
                cell(finding.item),
                cell(finding.title),
                cell(finding.severity),
                cell(finding.note),
            ]
        )
    if not doc.findings:
        data.append([cell("—"), cell("—"), cell("（无）"), cell(""), cell("")])
    table = Table(data, colWidths=[12 * mm, 40 * mm, 62 * mm, 14 * mm, 42 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def render_notice_pdf(doc: NoticeDocument) -> bytes:
    """The notice as A4 PDF bytes; every text the caller supplies is escaped."""
    zone = ZoneInfo(doc.tz)
    st = _styles()
    font = _font()
    addressee = doc.responsible_unit or (
        f"{doc.shelter_name}工程长 {doc.manager_name}" if doc.manager_name else "__________"
    )
    location = f"{doc.district}{doc.shelter_address}"
    manager = doc.manager_name or "未明确"
    phone = doc.manager_phone or "—"
    story: list[Any] = [
        Paragraph("人防工程整改通知书", st["title"]),
        Paragraph(f"编号：{escape(doc.number)}", st["number"]),
        Spacer(1, 4 * mm),
        Paragraph(f"{escape(addressee)}：", st["body"]),
        Paragraph(
            f"{_date(doc.issued_at, zone)}，{escape(doc.office)}对你单位负责维护管理的人防工程"
            f"“{escape(doc.shelter_name)}”（编号 {escape(doc.shelter_code)}，"
            f"位于{escape(location)}）进行了检查，评定为"
            f"{_CLASS_NAMES.get(doc.class_level, str(doc.class_level))}类，"
            "发现下表所列问题：",
            st["para"],
        ),
        Spacer(1, 2 * mm),
        _findings_table(doc, st),
        Spacer(1, 3 * mm),
        Paragraph(
            f"请于 {_date(doc.due_at, zone)} 前完成整改，并将整改情况连同整改前后的照片报送"
            f"{escape(doc.district)}人民防空主管部门，经核查确认后销号。",
            st["para"],
        ),
        Paragraph(
            f"工程长：{escape(manager)}　　联系电话：{escape(phone)}",
            st["para"],
        ),
        Paragraph(f"法律依据：{escape(doc.legal_basis)}", st["para"]),
        Spacer(1, 14 * mm),
        Paragraph(f"{escape(doc.office)}（盖章）", st["right"]),
        Paragraph(_date(doc.issued_at, zone), st["right"]),
        Spacer(1, 14 * mm),
        Paragraph("签收人：____________　　签收日期：______年____月____日", st["body"]),
    ]

    footer = f"{doc.number}"
    if doc.printed_at is not None:
        footer += f"　打印于 {doc.printed_at.astimezone(zone):%Y-%m-%d %H:%M}"

    def on_page(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(20 * mm, 12 * mm, footer)
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, f"第 {template.page} 页")
        canvas.restoreState()

    out = BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=22 * mm,
        title=f"人防工程整改通知书 {doc.number}",
        author=doc.office,
        subject=doc.shelter_name,
    ).build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _catalogue_for(session: Session, inspection_id: int | None) -> Catalogue:
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
    session: Session, followup_id: int, *, actor: Actor, now: datetime
) -> NoticeDocument:
    """The notice of a class 2–4 follow-up, printed at ``now``; :class:`NotFound` when it
    does not exist or ``actor`` may not see its shelter, :class:`InvalidInput` for a
    referral (which is not a notice)."""
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
    catalogue = _catalogue_for(session, followup.inspection_id)
    findings = tuple(
        NoticeFinding(
            item=finding.item_code,
            title=item.title if (item := catalogue.get(finding.item_code)) else finding.item_code,
            severity=Severity(finding.severity).label,
            note=finding.note,
        )
        for finding in followup.findings
    )
    shelter = followup.shelter
    manager = shelter.manager
    return NoticeDocument(
        number=followup.number,
        issued_at=followup.issued_at,
        due_at=followup.due_at,
        shelter_code=shelter.code,
        shelter_name=shelter.name,
        shelter_address=shelter.address,
        district=shelter.district,
        responsible_unit=shelter.responsible_unit,
        manager_name=(manager.display_name or manager.username) if manager else None,
        manager_phone=manager.phone if manager else None,
        class_level=followup.class_level,
        findings=findings,
        printed_at=now,
    )
