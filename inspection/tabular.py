"""Export of the register and the follow-up ledger to xlsx/CSV, and the register's columns
that its import reads (:mod:`inspection.register_file`).

Rendering is pure; :func:`register_rows` and :func:`ledger_rows` read the database. The
register export uses the Chinese labels of :data:`SHELTER_FIELDS` so that it re-imports as
it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inspection import manufacturers
from inspection.access import Actor, shelter_scope
from inspection.catalogue import load_catalogue
from inspection.errors import InvalidInput
from inspection.models import Followup, FollowupKind, FollowupStatus, Shelter

DEFAULT_TZ = "Asia/Shanghai"
Columns = Sequence[tuple[str, str]]
"""(row key, column header) pairs, in column order."""

# fmt: off
SHELTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("code", "编号"), ("name", "名称"), ("district", "区"), ("address", "地址"),
    ("latitude", "纬度"), ("longitude", "经度"), ("shelter_type", "类型"),
    ("wartime_function", "战时功能"), ("protection_level", "防护等级"), ("area_m2", "面积"),
    ("peacetime_use", "平时用途"), ("use_registered", "平时使用已登记"),
    ("responsible_unit", "责任单位"), ("responsible_unit_status", "责任单位状态"),
    ("responsible_unit_contact", "责任单位联系人"), ("responsible_unit_phone", "责任单位电话"),
    ("manager", "工程长"), ("manager_contact_name", "工程长姓名"),
    ("manager_contact_phone", "工程长电话"), ("inspector", "检查员"),
    ("signage_installed", "标识标牌"), ("active", "启用"),
)
"""Register field → Chinese header: the one table import and export both use."""

LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("number", "编号"), ("kind_label", "类型"), ("shelter_code", "工程编号"),
    ("shelter_name", "工程名称"), ("district", "区"), ("class_level", "类别"),
    ("status_label", "状态"), ("issued_at", "下发时间"), ("due_at", "整改期限"),
    ("checkpoint_at", "督导节点"), ("tracker", "跟踪人"), ("overdue", "是否逾期"),
    ("items", "检查项"), ("titles", "问题"), ("manufacturer", "防护设备厂家"),
    ("manufacturer_contacts", "厂家联系记录"),
]
KIND_LABELS: dict[str, str] = {
    FollowupKind.NOTICE: "整改通知书", FollowupKind.LEDGER: "问题台账",
    FollowupKind.KEY_SUPERVISION: "重点督导", FollowupKind.REFERRAL: "移交执法",
}
STATUS_LABELS: dict[str, str] = {
    FollowupStatus.OPEN: "整改中", FollowupStatus.ESCALATED: "已升级",
    FollowupStatus.CLOSED: "已销号",
}
# fmt: on

EXPORT_ONLY: tuple[tuple[str, str], ...] = (("current_class", "当前类别"),)
"""Columns the register export adds; an import ignores them (the class is not imported)."""

REGISTER_COLUMNS: list[tuple[str, str]] = [*SHELTER_FIELDS, *EXPORT_ONLY]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def register_rows(session: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Every shelter ``actor`` may see, ordered by code, keyed as :data:`REGISTER_COLUMNS`."""
    shelters = session.scalars(
        select(Shelter)
        .where(shelter_scope(actor))
        .options(joinedload(Shelter.manager), joinedload(Shelter.inspector))
        .order_by(Shelter.code)
    ).all()
    rows = []
    for shelter in shelters:
        row: dict[str, Any] = {
            field: getattr(shelter, field)
            for field, _ in SHELTER_FIELDS
            if field not in ("manager", "inspector")
        }
        row["manager"] = shelter.manager.username if shelter.manager else None
        row["inspector"] = shelter.inspector.username if shelter.inspector else None
        row["current_class"] = shelter.current_class
        rows.append(row)
    return rows


def ledger_rows(
    session: Session, *, actor: Actor, now: datetime, tz: str = DEFAULT_TZ
) -> list[dict[str, Any]]:
    """Every follow-up of a shelter ``actor`` may see, keyed as :data:`LEDGER_COLUMNS`;
    ``overdue`` means still open after ``due_at``; a ledger entry's contacts with its
    manufacturer are dated in ``tz``."""
    followups = session.scalars(
        select(Followup)
        .join(Shelter, Followup.shelter_id == Shelter.id)
        .where(shelter_scope(actor))
        .options(
            joinedload(Followup.shelter),
            joinedload(Followup.tracker),
            selectinload(Followup.findings),
        )
        .order_by(Followup.issued_at, Followup.number)
    ).all()
    catalogue = load_catalogue()
    makers, contacts = manufacturers.for_followups(session, followups)
    zone = _zone(tz)
    rows = []
    for followup in followups:
        maker = makers.get(followup.id)
        codes = [finding.item_code for finding in followup.findings]
        titles = [catalogue.title(c) for c in codes]
        rows.append(
            {
                "number": followup.number,
                "kind": followup.kind,
                "kind_label": KIND_LABELS.get(followup.kind, followup.kind),
                "shelter_code": followup.shelter.code,
                "shelter_name": followup.shelter.name,
                "district": followup.shelter.district,
                "class_level": followup.class_level,
                "status": followup.status,
                "status_label": STATUS_LABELS.get(followup.status, followup.status),
                "issued_at": followup.issued_at,
                "due_at": followup.due_at,
                "checkpoint_at": followup.checkpoint_at,
                "tracker": followup.tracker.username if followup.tracker else None,
                "overdue": followup.status == FollowupStatus.OPEN and now > followup.due_at,
                "items": "；".join(codes),
                "titles": "；".join(titles),
                "manufacturer": maker.name if maker else None,
                "manufacturer_contacts": "；".join(
                    f"{c.contacted_at.astimezone(zone):%Y-%m-%d %H:%M} "
                    f"{c.recorded_by_name or ''}：{c.outcome}"
                    for c in contacts.get(followup.id, [])
                ),
            }
        )
    return rows


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz!r}", code="unknown_timezone") from exc


def _render(value: object, zone: ZoneInfo) -> str | int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, int | float):
        return value
    return str(value)


def _xlsx_cell(sheet: Any, value: object, *, bold: bool = False) -> Any:
    if isinstance(value, str):
        # XML cannot carry most control characters (openpyxl would refuse the whole sheet);
        # text stored before input refused them shows U+FFFD in their place.
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def to_xlsx(
    rows: Sequence[dict[str, Any]], columns: Columns, sheet_title: str, *, tz: str = DEFAULT_TZ
) -> bytes:
    """One sheet: a bold frozen header of Chinese labels, then one line per row."""
    return to_xlsx_sheets([Sheet(sheet_title, columns, rows)], tz=tz)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet of a workbook: its title, its columns and its rows; ``notes`` are lines
    written above the header (what the table shows)."""

    title: str
    columns: Columns
    rows: Sequence[dict[str, Any]]
    notes: Sequence[str] = ()


def to_xlsx_sheets(sheets: Sequence[Sheet], *, tz: str = DEFAULT_TZ) -> bytes:
    """One sheet each, in order: its notes, then a bold frozen header of Chinese labels,
    then one line per row."""
    zone = _zone(tz)
    workbook = Workbook(write_only=True)
    for spec in sheets:
        title = "".join(c for c in spec.title if c not in "[]:*?/\\")[:31] or "Sheet1"
        sheet = workbook.create_sheet(title=title)
        sheet.freeze_panes = f"A{len(spec.notes) + 2}"
        for note in spec.notes:
            sheet.append([_xlsx_cell(sheet, note)])
        sheet.append([_xlsx_cell(sheet, label, bold=True) for _, label in spec.columns])
        for row in spec.rows:
            sheet.append(
                [_xlsx_cell(sheet, _render(row.get(key), zone)) for key, _ in spec.columns]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv_value(value: str | int | float | None) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Columns, *, tz: str = DEFAULT_TZ) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese right); text that starts like a formula
    gets a leading apostrophe, which the importer strips again."""
    zone = _zone(tz)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([_csv_value(_render(row.get(key), zone)) for key, _ in columns])
    return buffer.getvalue().encode("utf-8-sig")
