"""Reading a register file (CSV or .xlsx) into validated rows, within bounds.

No database: :func:`read_register_file` turns the bytes into a :class:`RegisterFile`, the
register fields it has columns for and one :class:`RowResult` per non-empty data row, each a
validated ``ShelterCreate`` or the reasons it is not. What the rows do to the register is
:mod:`inspection.register_import`'s business.

A file is read as a stream (openpyxl's read-only mode; CSV line by line) and refused as soon
as it passes a bound (:class:`ReadLimits`), so that a small file made to be slow costs little:

- rows of any kind after the header, empty ones included (a few hundred KB of .xlsx can hold
  two million empty rows, and read-only readers invent empty rows for gaps in the row
  numbers): ``too_many_rows``;
- columns: the header's last non-empty cell at most ``max_columns`` in, and data rows read
  only that far (a read-only reader pads every row to the sheet's stated width):
  ``too_many_columns``;
- the unpacked size of an .xlsx (its parts are compressed, and openpyxl loads the shared
  strings whole), checked from the archive's directory before anything is unpacked:
  ``file_too_large_unpacked``;
- time, on an injected monotonic clock (:class:`Deadline`): ``import_timeout``.

Headers are the ``ShelterCreate`` field names or their Chinese labels
(:data:`inspection.tabular.SHELTER_FIELDS`), so the register export re-imports as it is.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import load_workbook
from pydantic import ValidationError

from inspection.errors import InvalidInput
from inspection.schemas import ShelterCreate
from inspection.tabular import EXPORT_ONLY, SHELTER_FIELDS

MAX_ROWS = 50_000
REQUIRED_FIELDS = ("code", "name", "district")
_BOOL_FIELDS = frozenset({"use_registered", "signage_installed", "active"})
_NUMBER_FIELDS = frozenset({"latitude", "longitude", "area_m2"})
_TRUE = frozenset({"true", "1", "yes", "是"})
_FALSE = frozenset({"false", "0", "no", "否"})
_UNIT_STATUS_LABELS = {"明确": "known", "有争议": "disputed", "不明": "unknown"}
_HEADER_TO_FIELD = {h: f for f, zh in SHELTER_FIELDS for h in (f, zh)}
_IGNORED_HEADERS = frozenset(h for pair in EXPORT_ONLY for h in pair)
_MAX_PARTS = 1000
"""Files in an .xlsx archive; a workbook of one sheet has about ten."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds on reading one file (see the module docstring)."""

    max_rows: int = MAX_ROWS
    """Rows after the header, empty ones included."""
    max_columns: int = 64
    """Position of the header's last non-empty cell; a register has 23 columns."""
    max_unpacked_bytes: int = 256 * 1024 * 1024
    """Sum of the unpacked sizes of an .xlsx's parts."""


@dataclass
class Deadline:
    """A time limit on a monotonic clock: :meth:`check` refuses once ``seconds`` have passed
    since the deadline was made (``import_timeout``)."""

    clock: Callable[[], float]
    seconds: float
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def check(self) -> None:
        if self.clock() - self.started > self.seconds:
            raise InvalidInput(
                f"the import took longer than {self.seconds:g} s: split the file",
                code="import_timeout",
            )


@dataclass(frozen=True, slots=True)
class RowResult:
    """One data row: ``row`` is the spreadsheet row number (the header is row 1);
    ``data`` is None exactly when ``errors`` is not empty; ``code`` is the raw code cell."""

    row: int
    data: ShelterCreate | None
    errors: list[str]
    code: str | None = None


@dataclass(frozen=True, slots=True)
class RegisterFile:
    """A read register file: the fields it has a column for, and its non-empty data rows."""

    columns: frozenset[str]
    rows: list[RowResult]


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


def _width(header: Sequence[object], limits: ReadLimits) -> int:
    """How many columns data rows are read to: up to the header's last non-empty cell."""
    width = max((i + 1 for i, value in enumerate(header) if _text(value)), default=0)
    if width > limits.max_columns:
        raise InvalidInput(
            f"the header reaches column {width}; a register has at most "
            f"{limits.max_columns} columns",
            code="too_many_columns",
        )
    return width


Rows = Generator[Sequence[object], None, None]
"""The header, then the data rows of a file."""


def _csv_rows(content: bytes, limits: ReadLimits) -> Rows:
    lines = csv.reader(io.StringIO(_decode(content), newline=""))
    try:
        header = next(lines, None)
        if header is None:
            return
        yield header
        width = _width(header, limits)
        for line in lines:
            yield line[:width]
    except csv.Error as exc:
        raise InvalidInput(f"the CSV cannot be read: {exc}", code="unreadable_file") from exc


def _check_unpacked(content: bytes, limits: ReadLimits) -> None:
    """Refuse an archive that unpacks too large, from its directory; zipfile stops reading a
    part at its stated size, so the statement binds."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput("the .xlsx file cannot be read", code="unreadable_file") from exc
    unpacked = sum(part.file_size for part in parts)
    if len(parts) > _MAX_PARTS or unpacked > limits.max_unpacked_bytes:
        raise InvalidInput(
            f"the .xlsx file unpacks to {unpacked} bytes in {len(parts)} parts; at most "
            f"{limits.max_unpacked_bytes} bytes are read",
            code="file_too_large_unpacked",
        )


def _xlsx_rows(content: bytes, limits: ReadLimits) -> Rows:
    _check_unpacked(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors on a broken file
        raise InvalidInput("the .xlsx file cannot be read", code="unreadable_file") from exc
    try:
        try:
            sheet = workbook.worksheets[0]
            header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
        except Exception as exc:  # no sheet, or a broken one
            raise InvalidInput("the .xlsx file cannot be read", code="unreadable_file") from exc
        if header is None:
            return
        yield header
        width = _width(header, limits)
        if width:
            yield from sheet.iter_rows(min_row=2, max_col=width, values_only=True)
    finally:
        workbook.close()


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
        field_name = _HEADER_TO_FIELD.get(name) or _HEADER_TO_FIELD.get(name.lower())
        if field_name is None:
            unknown.append(name)
        elif field_name in seen:
            raise InvalidInput(
                f"columns {seen[field_name]!r} and {name!r} both give {field_name}",
                code="duplicate_columns",
            )
        else:
            seen[field_name] = name
            columns[index] = field_name
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


def read_register_file(
    filename: str,
    content: bytes,
    *,
    limits: ReadLimits | None = None,
    deadline: Deadline | None = None,
) -> RegisterFile:
    """Validate every data row of a register file; file-level problems raise
    :class:`InvalidInput` (``unsupported_file``, ``unreadable_file``, ``bad_encoding``,
    ``empty_file``, ``unknown_columns``, ``duplicate_columns``, ``missing_columns``, and the
    bounds: ``too_many_rows``, ``too_many_columns``, ``file_too_large_unpacked``,
    ``import_timeout``); row-level ones are reported in each :class:`RowResult`."""
    limits = limits or ReadLimits()
    kind = _file_kind(filename, content)
    reader = _xlsx_rows if kind == "xlsx" else _csv_rows
    with closing(reader(content, limits)) as rows:
        header = next(rows, None)
        if header is None or not any(_text(v) for v in header):
            raise InvalidInput("the file has no header row", code="empty_file")
        columns = _header_map(header)
        return RegisterFile(
            frozenset(columns.values()), _parse_rows(columns, rows, limits, deadline)
        )


def _parse_rows(
    columns: dict[int, str],
    rows: Iterator[Sequence[object]],
    limits: ReadLimits,
    deadline: Deadline | None,
) -> list[RowResult]:
    results: list[RowResult] = []
    first_row_of: dict[str, int] = {}
    for number, values in enumerate(rows, start=2):
        if number - 1 > limits.max_rows:
            raise InvalidInput(
                f"more than {limits.max_rows} rows after the header (empty rows count too): "
                "split the file",
                code="too_many_rows",
            )
        if deadline is not None:
            deadline.check()
        if not any(_text(v) for v in values):
            continue
        raw: dict[str, object] = {}
        errors: list[str] = []
        for index, field_name in columns.items():
            value = values[index] if index < len(values) else None
            if _text(value) == "":
                continue
            converted, error = _cell(field_name, value)
            if error is not None:
                errors.append(f"{field_name}: {error}")
            else:
                raw[field_name] = converted
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
