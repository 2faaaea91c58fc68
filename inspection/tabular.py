"""Bulk import of the shelter register from CSV/xlsx, and export of the register and the
follow-up ledger to xlsx/CSV.

Parsing and rendering are pure; :func:`import_shelters`, :func:`register_rows` and
:func:`ledger_rows` read the database, and the import flushes new shelters (never commits).
Headers are the ``ShelterCreate`` field names or their Chinese labels (:data:`SHELTER_FIELDS`);
the register export uses the Chinese labels so that it re-imports as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from inspection.access import Actor, shelter_scope
from inspection.catalogue import load_catalogue
from inspection.errors import Conflict, Forbidden, InvalidInput
from inspection.models import Followup, FollowupKind, FollowupStatus, Shelter
from inspection.registry import create_shelter
from inspection.schemas import ShelterCreate

MAX_ROWS = 50_000
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
    ("manager", "工程长"), ("inspector", "检查员"), ("signage_installed", "标识标牌"),
    ("active", "启用"),
)
"""Register field → Chinese header: the one table import and export both use."""

LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("number", "编号"), ("kind_label", "类型"), ("shelter_code", "工程编号"),
    ("shelter_name", "工程名称"), ("district", "区"), ("class_level", "类别"),
    ("status_label", "状态"), ("issued_at", "下发时间"), ("due_at", "整改期限"),
    ("checkpoint_at", "督导节点"), ("tracker", "跟踪人"), ("overdue", "是否逾期"),
    ("items", "检查项"), ("titles", "问题"),
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

_EXPORT_ONLY: tuple[tuple[str, str], ...] = (("current_class", "当前类别"),)
"""Columns the register export adds; an import ignores them (the class is not imported)."""

REGISTER_COLUMNS: list[tuple[str, str]] = [*SHELTER_FIELDS, *_EXPORT_ONLY]
REQUIRED_FIELDS = ("code", "name", "district")
_BOOL_FIELDS = frozenset({"use_registered", "signage_installed", "active"})
_NUMBER_FIELDS = frozenset({"latitude", "longitude", "area_m2"})
_TRUE = frozenset({"true", "1", "yes", "是"})
_FALSE = frozenset({"false", "0", "no", "否"})
_UNIT_STATUS_LABELS = {"明确": "known", "有争议": "disputed", "不明": "unknown"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_HEADER_TO_FIELD = {h: f for f, zh in SHELTER_FIELDS for h in (f, zh)}
_IGNORED_HEADERS = frozenset(h for pair in _EXPORT_ONLY for h in pair)


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: ``row`` is the spreadsheet row number (the header is row 1);
    ``data`` is None exactly when ``errors`` is not empty; ``code`` is the raw code cell."""

    row: int
    data: ShelterCreate | None
    errors: list[str]
    code: str | None = None


class RowError(BaseModel):
    row: int
    code: str | None
    errors: list[str]


class ImportReport(BaseModel):
    """``applied`` is False when a bad row stopped the whole import (nothing was created)."""

    imported: int
    rejected: int
    applied: bool
    errors: list[RowError]


def _file_kind(filename: str, content: bytes) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    is_zip = content.startswith(b"PK\x03\x04")
    if ext == "xlsx" and is_zip:
        return "xlsx"
    if ext == "csv" and not is_zip and b"\x00" not in content[:4096]:
        return "csv"
    raise InvalidInput(
        f"{filename!r} is not a CSV or .xlsx file (save it from Excel as .xlsx or CSV)",
        code="unsupported_file",
    )


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as Excel saves Chinese CSV."""
    bom = content.startswith(b"\xef\xbb\xbf")
    encodings = ("utf-8-sig",) if bom else ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"the CSV is not {' or '.join(encodings)} text", code="bad_encoding")


def _csv_rows(content: bytes) -> Generator[Sequence[object], None, None]:
    text = _decode(content)
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}", code="unreadable_file") from exc


def _xlsx_rows(content: bytes) -> Generator[Sequence[object], None, None]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors on a broken file
        raise InvalidInput("the .xlsx file cannot be read", code="unreadable_file") from exc
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        text = text[1:]
    return text


def _cell(field: str, value: object) -> tuple[object, str | None]:
    """The value handed to pydantic, or an error message for this field."""
    if field in _BOOL_FIELDS:
        if isinstance(value, bool):
            return value, None
        text = _text(value).lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, f"expected one of true/false/1/0/yes/no/是/否, got {text!r}"
    if field in _NUMBER_FIELDS:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, None
        try:  # a CSV cell is text; the model takes numbers only
            return float(_text(value)), None
        except ValueError:
            return None, f"expected a number, got {_text(value)!r}"
    text = _text(value)
    if field == "responsible_unit_status":
        text = _UNIT_STATUS_LABELS.get(text, text.lower())
    return text, None


def _header_map(header: Sequence[object]) -> dict[int, str]:
    columns: dict[int, str] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(header):
        name = _text(raw).lstrip("\ufeff").strip()
        if not name or name in _IGNORED_HEADERS or name.lower() in _IGNORED_HEADERS:
            continue
        field = _HEADER_TO_FIELD.get(name) or _HEADER_TO_FIELD.get(name.lower())
        if field is None:
            unknown.append(name)
        elif field in seen:
            raise InvalidInput(
                f"columns {seen[field]!r} and {name!r} both give {field}", code="duplicate_columns"
            )
        else:
            seen[field] = name
            columns[index] = field
    if unknown:
        raise InvalidInput(
            f"unknown columns: {', '.join(unknown)}", code="unknown_columns", details=unknown
        )
    missing = [f for f in REQUIRED_FIELDS if f not in seen]
    if missing:
        raise InvalidInput(
            f"missing required columns: {', '.join(missing)}",
            code="missing_columns",
            details=missing,
        )
    return columns


def parse_shelter_file(filename: str, content: bytes) -> list[RowResult]:
    """Validate every data row of a register file; file-level problems raise
    :class:`InvalidInput` (``unsupported_file``, ``unreadable_file``, ``bad_encoding``,
    ``empty_file``, ``unknown_columns``, ``duplicate_columns``, ``missing_columns``,
    ``too_many_rows``), row-level ones are reported in each :class:`RowResult`."""
    kind = _file_kind(filename, content)
    with closing(_xlsx_rows(content) if kind == "xlsx" else _csv_rows(content)) as rows:
        header = next(rows, None)
        if header is None or not any(_text(v) for v in header):
            raise InvalidInput("the file has no header row", code="empty_file")
        return _parse_rows(_header_map(header), rows)


def _parse_rows(columns: dict[int, str], rows: Iterator[Sequence[object]]) -> list[RowResult]:
    results: list[RowResult] = []
    first_row_of: dict[str, int] = {}
    for number, values in enumerate(rows, start=2):
        if not any(_text(v) for v in values):
            continue
        if len(results) >= MAX_ROWS:
            raise InvalidInput(f"more than {MAX_ROWS} rows; split the file", code="too_many_rows")
        raw: dict[str, object] = {}
        errors: list[str] = []
        for index, field in columns.items():
            value = values[index] if index < len(values) else None
            if _text(value) == "":
                continue
            converted, error = _cell(field, value)
            if error is not None:
                errors.append(f"{field}: {error}")
            else:
                raw[field] = converted
        code = _text(raw.get("code")) or None
        if code is not None and code in first_row_of:
            errors.append(f"code: {code!r} repeats row {first_row_of[code]}")
        elif code is not None:
            first_row_of[code] = number
        data: ShelterCreate | None = None
        try:
            data = ShelterCreate.model_validate(raw)
        except ValidationError as exc:
            errors.extend(
                f"{'.'.join(map(str, e['loc']))}: "
                + ("is required" if e["type"] == "missing" else e["msg"])
                for e in exc.errors()
            )
        results.append(RowResult(number, None if errors else data, errors, code))
    return results


def import_shelters(
    session: Session,
    filename: str,
    content: bytes,
    *,
    actor: Actor,
    now: datetime,
    only_valid: bool,
) -> ImportReport:
    """Create the shelters of a register file through :func:`registry.create_shelter`.

    Each row runs in its own SAVEPOINT so a refused row (code taken, unknown manager or
    inspector, district out of the actor's reach) leaves the session usable. With
    ``only_valid`` False one bad row rolls back every row; the report then lists all of them.
    """
    results = parse_shelter_file(filename, content)
    bad: list[RowError] = []
    imported = 0
    everything = session.begin_nested()
    for result in results:
        if result.data is None:
            bad.append(RowError(row=result.row, code=result.code, errors=result.errors))
            continue
        savepoint = session.begin_nested()
        try:
            create_shelter(session, result.data, actor=actor, now=now)
        except (InvalidInput, Conflict, Forbidden) as exc:
            savepoint.rollback()
            bad.append(RowError(row=result.row, code=result.code, errors=[exc.message]))
            continue
        savepoint.commit()
        imported += 1
    if bad and not only_valid:
        everything.rollback()
        return ImportReport(imported=0, rejected=len(bad), applied=False, errors=bad)
    everything.commit()
    return ImportReport(imported=imported, rejected=len(bad), applied=True, errors=bad)


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


def ledger_rows(session: Session, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Every follow-up of a shelter ``actor`` may see, keyed as :data:`LEDGER_COLUMNS`;
    ``overdue`` means still open after ``due_at``."""
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
    rows = []
    for followup in followups:
        codes = [finding.item_code for finding in followup.findings]
        titles = [(item.title if (item := catalogue.get(c)) else c) for c in codes]
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
    zone = _zone(tz)
    workbook = Workbook(write_only=True)
    title = "".join(c for c in sheet_title if c not in "[]:*?/\\")[:31] or "Sheet1"
    sheet = workbook.create_sheet(title=title)
    sheet.freeze_panes = "A2"
    sheet.append([_xlsx_cell(sheet, label, bold=True) for _, label in columns])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, _render(row.get(key), zone)) for key, _ in columns])
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
