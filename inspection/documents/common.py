"""What the PDF documents share: Chinese dates, the shelter's location, and the A4 page of
an official letter (margins, paragraph styles, ruled tables, the office's seal line and the
footer with the document number), built in the embedded font.

Dates are written as Chinese official documents write them (GB/T 9704): ``2026年5月1日``,
Arabic numerals without leading zeros, in the city's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from inspection.documents.fonts import rendering
from inspection.local_time import cn_date

UNREGISTERED = "未登记"
"""Printed where the register lacks a value, so the gap is visible rather than blank."""

DEFAULT_OFFICE = "市人民防空办公室"
PAGE_MARGIN = 20 * mm
TEXT_WIDTH = A4[0] - 2 * PAGE_MARGIN
"""The width of the text block of an A4 letter."""


def styles(font: str) -> dict[str, ParagraphStyle]:
    """The paragraph styles of a letter: title, number, body, indented paragraph, table
    cells and heads, right-aligned (seal line), small print (a note under a table)."""
    body = ParagraphStyle(
        "body", fontName=font, bulletFontName=font, fontSize=12, leading=21, wordWrap="CJK"
    )
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontSize=22, leading=32, alignment=TA_CENTER, spaceAfter=2
        ),
        "number": ParagraphStyle("number", parent=body, fontSize=11, alignment=TA_RIGHT),
        "body": body,
        "para": ParagraphStyle("para", parent=body, firstLineIndent=24, spaceBefore=3),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontSize=13,
            leading=20,
            spaceBefore=8,
            spaceAfter=3,
            keepWithNext=1,
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=10.5, leading=15),
        "center": ParagraphStyle(
            "center", parent=body, fontSize=10.5, leading=15, alignment=TA_CENTER
        ),
        "head": ParagraphStyle("head", parent=body, fontSize=11, leading=15, alignment=TA_CENTER),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "small": ParagraphStyle(
            "small", parent=body, fontSize=10, leading=15, textColor=colors.HexColor("#333333")
        ),
    }


def grid(data: list[list[Any]], widths: Sequence[float], font: str) -> Table:
    """A ruled table with a grey header row repeated on every page."""
    table = Table(data, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),  # else a cell names Helvetica
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def text_table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    st: dict[str, ParagraphStyle],
    *,
    centered: frozenset[int] = frozenset(),
) -> Table:
    """:func:`grid` of plain texts (escaped), the columns in ``centered`` centred; the last
    column takes what ``widths`` leaves of the text width when ``widths`` is one short."""
    widths = list(widths)
    if len(widths) == len(head) - 1:
        widths.append(TEXT_WIDTH - sum(widths))
    data: list[list[Any]] = [[Paragraph(escape(h), st["head"]) for h in head]]
    for row in rows:
        data.append(
            [
                Paragraph(escape(value), st["center" if i in centered else "cell"])
                for i, value in enumerate(row)
            ]
        )
    return grid(data, widths, st["body"].fontName)


def letterhead(title: str, number: str, addressee: str, st: dict[str, ParagraphStyle]) -> list[Any]:
    """The opening of an issued document: its title, its number and whom it is addressed
    to (escaped here)."""
    return [
        Paragraph(title, st["title"]),
        Paragraph(f"编号：{escape(number)}", st["number"]),
        Spacer(1, 3 * mm),
        Paragraph(f"{escape(addressee)}：", st["body"]),
    ]


def seal(office: str, dated: datetime, zone: ZoneInfo, st: dict[str, ParagraphStyle]) -> list[Any]:
    """The office's seal line and the date under it, right-aligned."""
    return [
        Paragraph(f"{escape(office)}（盖章）", st["right"]),
        Paragraph(cn_date(dated, zone), st["right"]),
    ]


def build_a4(
    story: list[Any],
    *,
    font: str,
    title: str,
    author: str,
    subject: str,
    footer: str,
) -> bytes:
    """``story`` on A4 pages with the letter's margins, ``footer`` (the document number) at
    the bottom left and the page number at the bottom right, in ``font`` only."""

    def on_page(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(PAGE_MARGIN, 12 * mm, footer)
        canvas.drawRightString(A4[0] - PAGE_MARGIN, 12 * mm, f"第 {template.page} 页")
        canvas.restoreState()

    out = BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=22 * mm,
        bottomMargin=22 * mm,
        title=title,
        author=author,
        subject=subject,
        initialFontName=font,  # else the canvas names Helvetica, which is never embedded
    )
    with rendering():
        template.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def printed_footer(number: str, printed_at: datetime | None, zone: ZoneInfo) -> str:
    """The footer line: the document number and when it was printed."""
    if printed_at is None:
        return number
    return f"{number}　打印于 {printed_at.astimezone(zone):%Y-%m-%d %H:%M}"


def location(district: str, address: str) -> str:
    """The address as printed: the district once, prefixed only when the address lacks it."""
    address = address.strip()
    if not address:
        return district
    return address if district and district in address else f"{district}{address}"
