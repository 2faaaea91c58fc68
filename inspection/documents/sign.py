"""The shelter sign (标识牌): one printable A4 page per shelter, in Chinese.

A sign shows the shelter's name and code, its wartime function and peacetime use, the
responsible unit, the 工程长's name and phone, and a QR code that opens the shelter's page in
the web app (``{base}/#/shelters/{code}/inspect``): an inspector who scans it on site lands
on its checklist. Missing register values print as 未登记, so an incomplete sign is plain to
see (the SIGN-INCOMPLETE finding). :func:`sign_documents` gathers the signs a caller may
print; :func:`render_signs_pdf` lays them out, one page each, in the embedded font of
:mod:`inspection.documents.fonts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle
from sqlalchemy.orm import Session

from inspection import registry
from inspection.access import Actor
from inspection.contacts import manager_contact
from inspection.documents.common import DEFAULT_OFFICE, UNREGISTERED, location
from inspection.documents.fonts import rendering
from inspection.errors import NotFound
from inspection.models import Shelter
from inspection.registry import ShelterFilter

MAX_SIGNS = 100
"""Signs in one batch (PDFs are built one at a time, see ``fonts.rendering``: a batch must
not hold the others up for long); a larger district is printed in parts (``offset``)."""

NAVY = colors.HexColor("#0B3D91")
_W, _H = A4
_MARGIN = 14 * mm
_INNER = _W - 2 * _MARGIN
_HEADER = 34 * mm
_QR_SIZE = 62 * mm
_PROTECTED = (
    "本工程受《中华人民共和国人民防空法》保护。严禁侵占人防工程，严禁擅自改变主体结构、"
    "拆除或损坏防护设备设施，严禁存放易燃、易爆、有毒等危险物品。"
)


@dataclass(frozen=True, slots=True)
class SignDocument:
    """What one sign prints."""

    code: str
    name: str
    district: str
    address: str
    wartime_function: str
    peacetime_use: str
    responsible_unit: str
    manager_name: str | None
    manager_phone: str | None
    url: str
    office: str = DEFAULT_OFFICE


def sign_url(base_url: str, code: str) -> str:
    """The web app's page of a shelter: ``{base}/#/shelters/{code}/inspect``."""
    return f"{base_url.rstrip('/')}/#/shelters/{quote(code, safe='')}/inspect"


def _sign(shelter: Shelter, base_url: str) -> SignDocument:
    manager = manager_contact(shelter)
    return SignDocument(
        code=shelter.code,
        name=shelter.name,
        district=shelter.district,
        address=shelter.address,
        wartime_function=shelter.wartime_function,
        peacetime_use=shelter.peacetime_use,
        responsible_unit=shelter.responsible_unit,
        manager_name=manager.name,
        manager_phone=manager.phone,
        url=sign_url(base_url, shelter.code),
    )


def shelter_sign(session: Session, code: str, *, actor: Actor, base_url: str) -> SignDocument:
    """The sign of one shelter; :class:`NotFound` when it does not exist or ``actor`` may
    not see it."""
    return _sign(registry.get_shelter(session, code, actor=actor), base_url)


def district_signs(
    session: Session,
    district: str,
    *,
    actor: Actor,
    base_url: str,
    limit: int = MAX_SIGNS,
    offset: int = 0,
) -> tuple[list[SignDocument], int]:
    """The signs of the active shelters of ``district`` that ``actor`` may see, by code,
    and how many there are in all; :class:`NotFound` when there is none."""
    rows, total = registry.list_shelters(
        session,
        ShelterFilter(district=district, active=True),
        actor=actor,
        limit=min(limit, MAX_SIGNS),
        offset=offset,
    )
    if not rows:
        raise NotFound(
            f"no shelter of {district!r} to print"
            + (f" at offset {offset} (there are {total})" if total else ""),
            code="shelter_not_found",
        )
    return [_sign(s, base_url) for s in rows], total


def _fitted(text: str, style: ParagraphStyle, width: float, height: float) -> Paragraph:
    """``text`` in ``style``, shrunk step by step until it fits ``width`` × ``height``."""
    size = style.fontSize
    while True:
        fitted = ParagraphStyle(
            f"{style.name}-{size}", parent=style, fontSize=size, leading=size * 1.25
        )
        para = Paragraph(escape(text), fitted)
        _, needed = para.wrap(width, height)
        if needed <= height or size <= 9:
            return para
        size -= 1


def _details(sign: SignDocument, font: str, size: float) -> Table:
    label = ParagraphStyle("label", fontName=font, fontSize=size, leading=size * 1.3)
    value = ParagraphStyle(
        "value", fontName=font, fontSize=size, leading=size * 1.3, wordWrap="CJK"
    )
    rows = [
        ("工程编号", sign.code),
        ("战时功能", sign.wartime_function),
        ("平时用途", sign.peacetime_use),
        ("维护管理单位", sign.responsible_unit),
        ("工程长", sign.manager_name),
        ("联系电话", sign.manager_phone),
        ("工程地址", location(sign.district, sign.address)),
    ]
    label_width = 6.3 * size + 7 * mm  # six characters: 维护管理单位
    table = Table(
        [
            [Paragraph(escape(k), label), Paragraph(escape(v or UNREGISTERED), value)]
            for k, v in rows
        ],
        colWidths=[label_width, _INNER - 12 * mm - label_width],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 1, NAVY),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#E8EEF8")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 0.45 * size),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0.6 * size),
                ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
            ]
        )
    )
    return table


def _draw(canvas: Canvas, sign: SignDocument, font: str) -> None:
    left, top = _MARGIN, _H - _MARGIN
    # frame and header band
    canvas.setStrokeColor(NAVY)
    canvas.setLineWidth(3)
    canvas.rect(left, _MARGIN, _INNER, _H - 2 * _MARGIN)
    canvas.setFillColor(NAVY)
    canvas.rect(left, top - _HEADER, _INNER, _HEADER, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(font, 42)
    canvas.drawCentredString(_W / 2, top - _HEADER / 2 - 15, "人民防空工程")

    # the shelter's name, as large as fits two lines
    name_style = ParagraphStyle(
        "name", fontName=font, fontSize=32, alignment=TA_CENTER, wordWrap="CJK"
    )
    name_box = 30 * mm
    name = _fitted(sign.name, name_style, _INNER - 12 * mm, name_box)
    _, height = name.wrap(_INNER - 12 * mm, name_box)
    name.drawOn(canvas, left + 6 * mm, top - _HEADER - 6 * mm - (name_box + height) / 2)

    # the register's details, shrunk until they fit above the QR code
    details_top = top - _HEADER - 10 * mm - name_box
    details_room = details_top - (_MARGIN + _QR_SIZE + 22 * mm)
    size = 17.0
    while True:
        table = _details(sign, font, size)
        _, height = table.wrap(_INNER - 12 * mm, details_room)
        if height <= details_room or size <= 9:
            break
        size -= 1
    table.drawOn(canvas, left + 6 * mm, details_top - height)

    # the QR code and what it is for
    qr_x, qr_y = left + 6 * mm, _MARGIN + 14 * mm
    widget = QrCodeWidget(sign.url, barLevel="M", barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        _QR_SIZE,
        _QR_SIZE,
        transform=[_QR_SIZE / (x1 - x0), 0, 0, _QR_SIZE / (y1 - y0), 0, 0],
        initialFontName=font,  # else the renderer names Helvetica, which is never embedded
    )
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, qr_x, qr_y)
    text_x = qr_x + _QR_SIZE + 6 * mm
    text_w = left + _INNER - 6 * mm - text_x
    scan = Paragraph(
        "扫码进入本工程巡查页面",
        ParagraphStyle("scan", fontName=font, fontSize=15, leading=20, textColor=NAVY),
    )
    _, scan_h = scan.wrap(text_w, 30 * mm)
    scan.drawOn(canvas, text_x, qr_y + _QR_SIZE - scan_h - 2 * mm)
    warning = Paragraph(
        escape(_PROTECTED),
        ParagraphStyle("warn", fontName=font, fontSize=11.5, leading=17, wordWrap="CJK"),
    )
    warning.wrap(text_w, _QR_SIZE)
    warning.drawOn(canvas, text_x, qr_y + 2 * mm)

    # footer: who issued the sign
    canvas.setFillColor(colors.black)
    canvas.setFont(font, 11)
    canvas.drawCentredString(_W / 2, _MARGIN + 5 * mm, f"{sign.office}监制")


def render_signs_pdf(signs: Sequence[SignDocument], *, font: str) -> bytes:
    """One A4 page per sign, in the registered ``font`` (see
    :func:`inspection.documents.fonts.load_font`)."""
    out = BytesIO()
    title = f"人防工程标识牌 {signs[0].code}" if len(signs) == 1 else "人防工程标识牌"
    canvas: Any = Canvas(out, pagesize=A4, initialFontName=font, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(signs[0].office if signs else DEFAULT_OFFICE)
    with rendering():
        for sign in signs:
            _draw(canvas, sign, font)
            canvas.showPage()
        canvas.save()
    return out.getvalue()
