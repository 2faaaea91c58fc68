"""The referral letter (移送函) of an enforcement referral as a printable A4 PDF.

An inspection that finds an illegal act under the Civil Air Defense Law (人民防空法 art. 49;
the catalogue marks those items) refers it to the law-enforcement unit the city has
configured. :func:`referral_document` gathers what the letter states from the database: the
referral's number (``YJ…``), the shelter (name, code, address, responsible unit, 工程长), the
illegal acts in the catalogue's Chinese wording with the inspector's notes, the inspection
date, up to :data:`MAX_PHOTOS_PER_FINDING` photos taken at the inspection of each act (read
from the file store, scaled down before they are embedded), the history of the same findings
(the notices and supervision issued, their deadlines, what was done: milestones recorded,
fixes reported and verified, outcomes recorded) and the legal basis. :func:`render_referral_pdf`
lays it out with the notice's page, font, tables and seal line
(:mod:`inspection.documents.common`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inspection import attachments
from inspection.access import Actor, can_see
from inspection.attachments import AttachmentLimits
from inspection.catalogue import load_catalogue
from inspection.contacts import manager_contact, unit_contact
from inspection.documents.common import (
    DEFAULT_OFFICE,
    TEXT_WIDTH,
    UNREGISTERED,
    build_a4,
    letterhead,
    location,
    printed_footer,
    seal,
    styles,
    text_table,
)
from inspection.documents.notice import catalogue_for, item_title
from inspection.errors import InvalidInput, NotFound
from inspection.files import FileStore
from inspection.grading import FinePolicy
from inspection.local_time import cn_date
from inspection.media import IMAGE_FORMATS
from inspection.models import (
    Attachment,
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupKind,
    FollowupStatus,
    Inspection,
    MilestoneRecord,
    OutcomeRecord,
    Shelter,
)
from inspection.tabular import KIND_LABELS, STATUS_LABELS

DEFAULT_AUTHORITY = "市城市管理综合行政执法局"
"""The law-enforcement unit a referral goes to when the city configures none."""

MAX_PHOTOS_PER_FINDING = 3
PHOTO_MAX_PX = 1200
"""Photos are scaled down to at most this many pixels a side before they are embedded."""
_PHOTO_BOX = (TEXT_WIDTH / MAX_PHOTOS_PER_FINDING - 4 * mm, 45 * mm)

ART_49 = (
    "《中华人民共和国人民防空法》第四十九条：有下列行为之一的，由县级以上地方人民政府人民防空"
    "主管部门对当事人给予警告，并责令限期改正违法行为，可以对个人并处五千元以下的罚款、对单位"
    "并处一万元至五万元的罚款；造成损失的，应当依法赔偿损失：（一）侵占人民防空工程的；……"
    "（三）违反国家有关规定，改变人民防空工程主体结构、拆除人民防空工程设备设施或者采用其他"
    "方法危害人民防空工程的安全和使用效能的；其余各项略。"
)
_OUTCOME_LABELS = {
    "referred": "已移送，待处理",
    "warning": "警告并责令限期改正",
    "fined": "罚款",
    "dismissed": "不予立案",
    "other": "其他",
}
_MILESTONE_LABELS = {"containment": "控制险情", "plan": "报送整改方案"}


@dataclass(frozen=True, slots=True)
class IllegalAct:
    title: str
    """The catalogue's Chinese wording."""
    note: str
    status: str
    photos: tuple[bytes, ...] = ()
    """JPEGs, scaled down (see :data:`PHOTO_MAX_PX`)."""
    photos_held: int = 0
    """Photos of the finding taken at the inspection, embedded or not."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    number: str
    kind: str
    issued_at: datetime
    due_at: datetime
    done: str
    """What was done, in Chinese."""


@dataclass(frozen=True, slots=True)
class ReferralLetter:
    """Everything the letter prints; times are tz-aware and shown in ``tz``."""

    number: str
    issued_at: datetime
    inspected_at: datetime
    authority: str
    shelter_code: str
    shelter_name: str
    shelter_address: str
    district: str
    responsible_unit: str
    manager_name: str | None
    manager_phone: str | None
    acts: tuple[IllegalAct, ...]
    unit_contact: str | None = None
    """The responsible unit's contact person and phone, as one line."""
    history: tuple[HistoryEntry, ...] = ()
    outcomes: tuple[str, ...] = ()
    fines: FinePolicy = field(default_factory=FinePolicy)
    local_rules: str = ""
    office: str = DEFAULT_OFFICE
    tz: str = "Asia/Shanghai"
    printed_at: datetime | None = None


def legal_basis(letter: ReferralLetter) -> list[str]:
    """The paragraphs of the legal basis: art. 49, the city's rules, the city's fine range."""
    out = [ART_49]
    if letter.local_rules.strip():
        out.append(letter.local_rules.strip())
    unit = letter.fines.unit
    rng = f"本市对单位的罚款幅度为{unit.min_yuan}元至{unit.max_yuan}元"
    person = letter.fines.individual
    rng += (
        f"，对个人为{person.min_yuan}元至{person.max_yuan}元。"
        if person is not None
        else "，对个人不予罚款。"
    )
    out.append(rng)
    return out


def _photo(image: bytes) -> Image:
    reader = PILImage.open(BytesIO(image))
    width, height = reader.size
    scale = min(_PHOTO_BOX[0] / width, _PHOTO_BOX[1] / height)
    return Image(BytesIO(image), width=width * scale, height=height * scale)


def _photos(act: IllegalAct, font: str) -> list[Any]:
    if not act.photos:
        return []
    cells = [_photo(p) for p in act.photos]
    row: list[Any] = [*cells, *([""] * (MAX_PHOTOS_PER_FINDING - len(cells)))]
    table = Table([row], colWidths=[TEXT_WIDTH / MAX_PHOTOS_PER_FINDING] * len(row))
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font)]))  # not Helvetica
    return [Spacer(1, 2 * mm), table]


def render_referral_pdf(letter: ReferralLetter, *, font: str) -> bytes:
    """The letter as A4 PDF bytes in the registered ``font`` (see
    :func:`inspection.documents.fonts.load_font`); every text the caller supplies is
    escaped."""
    zone = ZoneInfo(letter.tz)
    st = styles(font)
    where = location(letter.district, letter.shelter_address)
    story: list[Any] = [
        *letterhead("人防工程违法行为移送函", letter.number, letter.authority, st),
        Paragraph(
            f"{cn_date(letter.inspected_at, zone)}，{escape(letter.office)}对人防工程"
            f"“{escape(letter.shelter_name)}”进行检查，发现当事人涉嫌有《中华人民共和国人民防空法》"
            "第四十九条所列违法行为。根据有关规定，现将该案移送你单位依法查处。有关情况如下：",
            st["para"],
        ),
        Paragraph("一、工程基本情况", st["heading"]),
        text_table(
            ("项目", "内容"),
            [
                ("工程名称", letter.shelter_name),
                ("工程编号", letter.shelter_code),
                ("工程地址", where or UNREGISTERED),
                ("维护管理单位", letter.responsible_unit or UNREGISTERED),
                ("单位联系人", letter.unit_contact or UNREGISTERED),
                ("工程长", letter.manager_name or UNREGISTERED),
                ("联系电话", letter.manager_phone or UNREGISTERED),
                ("检查日期", cn_date(letter.inspected_at, zone)),
            ],
            [32 * mm],
            st,
        ),
        Paragraph("二、涉嫌违法行为及证据", st["heading"]),
    ]
    for index, act in enumerate(letter.acts, start=1):
        shown = len(act.photos)
        count = (
            f"附检查现场照片{shown}张"
            + (f"（共{act.photos_held}张，其余存档备查）" if act.photos_held > shown else "")
            + "。"
            if shown
            else "检查时未留存照片。"
        )
        story.append(
            KeepTogether(
                [
                    Paragraph(
                        f"{index}. {escape(act.title)}"
                        + (f"：{escape(act.note)}" if act.note.strip() else "")
                        + f"（{escape(act.status)}）。{count}",
                        st["para"],
                    ),
                    *_photos(act, font),
                ]
            )
        )
    story.append(Paragraph("三、整改督办经过", st["heading"]))
    if letter.history:
        story.append(
            text_table(
                ("文书编号", "类型", "下发日期", "整改期限", "办理情况"),
                [
                    (
                        h.number,
                        h.kind,
                        cn_date(h.issued_at, zone),
                        cn_date(h.due_at, zone),
                        h.done,
                    )
                    for h in letter.history
                ],
                [28 * mm, 20 * mm, 31 * mm, 31 * mm],
                st,
                centered=frozenset({1}),
            )
        )
    else:
        story.append(Paragraph("该问题未另行下发整改文书。", st["para"]))
    for outcome in letter.outcomes:
        story.append(Paragraph(escape(outcome), st["para"]))
    story.append(Paragraph("四、法律依据", st["heading"]))
    story.extend(Paragraph(escape(text), st["para"]) for text in legal_basis(letter))
    story += [
        KeepTogether(
            [
                Paragraph("请你单位依法调查处理，并将处理结果函告我办。", st["para"]),
                Paragraph("联系人：__________　联系电话：__________", st["para"]),
                Spacer(1, 12 * mm),
                *seal(letter.office, letter.issued_at, zone, st),
            ]
        ),
        Spacer(1, 10 * mm),
        Paragraph(
            "接收单位：____________　　接收人：________　　接收日期：______年____月____日",
            st["small"],
        ),
    ]
    return build_a4(
        story,
        font=font,
        title=f"人防工程违法行为移送函 {letter.number}",
        author=letter.office,
        subject=letter.shelter_name,
        footer=printed_footer(letter.number, letter.printed_at, zone),
    )


def _scaled(data: bytes) -> bytes | None:
    """The image as a JPEG of at most :data:`PHOTO_MAX_PX` a side; None if unreadable."""
    try:
        with PILImage.open(BytesIO(data)) as image:
            image.thumbnail((PHOTO_MAX_PX, PHOTO_MAX_PX))
            out = BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _photo_bytes(
    session: Session, rows: Sequence[Attachment], files: FileStore, limits: AttachmentLimits
) -> tuple[bytes, ...]:
    out: list[bytes] = []
    for row in rows:
        if len(out) == MAX_PHOTOS_PER_FINDING:
            break
        try:
            stream, _ = attachments.open_file(session, row, files=files, limits=limits)
        except NotFound:
            continue  # a file missing from the store: the letter says how many are held
        with stream:
            scaled = _scaled(stream.read())
        if scaled is not None:
            out.append(scaled)
    return tuple(out)


def _finding_status(finding: Finding, zone: ZoneInfo) -> str:
    if finding.status == FindingStatus.CLOSED and finding.verified_at is not None:
        return f"已于{cn_date(finding.verified_at, zone)}核验整改"
    if finding.status == FindingStatus.FIX_REPORTED and finding.fix_reported_at is not None:
        return f"已于{cn_date(finding.fix_reported_at, zone)}报告整改，待核验"
    if finding.status == FindingStatus.CLOSED:
        return "已销号"
    return "尚未整改"


def _history(
    session: Session, referral: Followup, finding_ids: list[int], zone: ZoneInfo
) -> tuple[HistoryEntry, ...]:
    """The other follow-ups of the same findings (notice, ledger, key supervision), oldest
    first, with what was done on each."""
    others = session.scalars(
        select(Followup)
        .where(
            Followup.id.in_(
                select(FollowupFinding.followup_id).where(
                    FollowupFinding.finding_id.in_(finding_ids)
                )
            ),
            Followup.id != referral.id,
            Followup.kind != FollowupKind.REFERRAL.value,
        )
        .order_by(Followup.issued_at, Followup.id)
    ).all()
    done: dict[int, list[str]] = {f.id: [] for f in others}
    for record in session.scalars(
        select(MilestoneRecord)
        .where(MilestoneRecord.followup_id.in_(list(done)))
        .order_by(MilestoneRecord.done_at)
    ):
        label = _MILESTONE_LABELS.get(record.milestone, record.milestone)
        done[record.followup_id].append(f"{cn_date(record.done_at, zone)}{label}")
    entries = []
    for f in others:
        status = STATUS_LABELS.get(f.status, f.status)
        if f.status == FollowupStatus.ESCALATED and f.escalated_class is not None:
            status = f"逾期未整改，升级为{f.escalated_class}类"
        entries.append(
            HistoryEntry(
                number=f.number,
                kind=KIND_LABELS.get(f.kind, f.kind),
                issued_at=f.issued_at,
                due_at=f.due_at,
                done="；".join([status, *done[f.id]]),
            )
        )
    return tuple(entries)


def _outcomes(session: Session, referral: Followup, zone: ZoneInfo) -> tuple[str, ...]:
    lines = []
    for record in session.scalars(
        select(OutcomeRecord)
        .where(OutcomeRecord.followup_id == referral.id)
        .order_by(OutcomeRecord.recorded_at, OutcomeRecord.id)
    ):
        label = _OUTCOME_LABELS.get(record.status, record.status)
        fine = f"{record.fine_yuan}元" if record.fine_yuan is not None else ""
        kind = "更正" if record.kind == "correction" else "记录"
        lines.append(f"{cn_date(record.recorded_at, zone)}{kind}处理结果：{label}{fine}。")
    return tuple(lines)


def referral_document(
    session: Session,
    followup_id: int,
    *,
    actor: Actor,
    now: datetime,
    tz: str,
    files: FileStore,
    limits: AttachmentLimits,
    authority: str = DEFAULT_AUTHORITY,
    local_rules: str = "",
    fines: FinePolicy | None = None,
) -> ReferralLetter:
    """The letter of an enforcement referral, printed at ``now`` and dated in ``tz``;
    :class:`NotFound` when it does not exist or ``actor`` may not see its shelter,
    :class:`InvalidInput` for a follow-up that is not a referral."""
    followup = session.scalar(
        select(Followup)
        .where(Followup.id == followup_id)
        .options(
            joinedload(Followup.shelter).joinedload(Shelter.manager),
            selectinload(Followup.findings).selectinload(Finding.attachments),
        )
    )
    if followup is None or not can_see(actor, followup.shelter):
        raise NotFound(f"no follow-up {followup_id}", code="followup_not_found")
    if followup.kind != FollowupKind.REFERRAL:
        raise InvalidInput("only a referral has a referral letter", code="not_a_referral")
    zone = ZoneInfo(tz)
    findings = [f for f in followup.findings if f.illegal_act] or list(followup.findings)
    inspected_at = (
        session.scalar(
            select(Inspection.inspected_at).where(Inspection.id == followup.inspection_id)
        )
        if followup.inspection_id is not None
        else None
    )
    catalogue = catalogue_for(session, followup.inspection_id)
    fallback = load_catalogue()
    acts = []
    for finding in findings:
        photos = [
            a
            for a in finding.attachments
            if a.purpose == "inspection" and a.content_type in IMAGE_FORMATS
        ]
        acts.append(
            IllegalAct(
                title=item_title(finding.item_code, catalogue, fallback),
                note=finding.note,
                status=_finding_status(finding, zone),
                photos=_photo_bytes(session, photos, files, limits),
                photos_held=len(photos),
            )
        )
    shelter = followup.shelter
    manager = manager_contact(shelter)
    return ReferralLetter(
        number=followup.number,
        issued_at=followup.issued_at,
        inspected_at=inspected_at or followup.issued_at,
        authority=authority,
        shelter_code=shelter.code,
        shelter_name=shelter.name,
        shelter_address=shelter.address,
        district=shelter.district,
        responsible_unit=shelter.responsible_unit,
        manager_name=manager.name,
        manager_phone=manager.phone,
        unit_contact=unit_contact(shelter).line(),
        acts=tuple(acts),
        history=_history(session, followup, [f.id for f in findings], zone),
        outcomes=_outcomes(session, followup, zone),
        fines=fines or FinePolicy(),
        local_rules=local_rules,
        tz=tz,
        printed_at=now,
    )
