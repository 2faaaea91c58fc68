"""The monthly report (月报) as a printable A4 PDF: each table of
:class:`inspection.monthly.MonthlyReport` under its heading with the sentence that says what it
shows, and a bar chart of the compliance trend, on the notice's page in the embedded font
(:mod:`inspection.documents.common`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from inspection.documents.common import (
    DEFAULT_OFFICE,
    TEXT_WIDTH,
    build_a4,
    styles,
    text_table,
)
from inspection.local_time import cn_date, cn_datetime
from inspection.monthly import MonthlyReport, ReportTable

_NAVY = colors.HexColor("#0B3D91")


def _text(value: object, zone: ZoneInfo) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return cn_date(value, zone)
    return str(value)


def _trend_chart(report: MonthlyReport, font: str) -> Drawing:
    """Bars of the monthly rate in percent; a month without a figure has no bar."""
    height = 55 * mm
    drawing = Drawing(TEXT_WIDTH, height, initialFontName=font)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 12 * mm
    chart.width, chart.height = TEXT_WIDTH - 18 * mm, height - 20 * mm
    chart.data = [[(r or 0) * 100 for _, r in report.trend]]
    chart.bars[0].fillColor = _NAVY
    chart.bars[0].strokeColor = None
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.categoryAxis.categoryNames = [m[2:] for m, _ in report.trend]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.barLabelFormat = lambda v: f"{v:.0f}%" if v else ""
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(String(0, height - 6, f"{report.scope_name}达标率（%）", fontName=font, fontSize=9))
    return drawing


def render_monthly_pdf(
    report: MonthlyReport, *, font: str, office: str = DEFAULT_OFFICE, printed_at: datetime
) -> bytes:
    """The report as A4 PDF bytes in the registered ``font``."""
    zone = ZoneInfo(report.tz)
    st = styles(font)
    year, month = int(report.month[:4]), int(report.month[5:])
    until = (
        cn_date(report.end - timedelta(microseconds=1), zone)  # the month's last day
        if report.as_of >= report.end
        else cn_datetime(report.as_of, zone)
    )
    story: list[Any] = [
        Paragraph(f"人防工程维护管理月报（{year}年{month}月）", st["title"]),
        Paragraph(
            f"范围：{escape(report.scope_name)}　统计时段：{cn_date(report.start, zone)}至{until}",
            st["number"],
        ),
        Spacer(1, 2 * mm),
        Paragraph(
            f"本月报汇总{escape(report.scope_name)}人民防空工程的维护管理达标率、工程分类、"
            "整改督办、执法移送和监测告警情况，供领导了解全局。各表下方的说明解释表中数字的含义。",
            st["para"],
        ),
    ]
    for table in report.tables:
        chart = _trend_chart(report, font) if table.sheet == "达标率趋势" else None
        story.extend(_section(table, st, zone, chart))
    story += [Spacer(1, 10 * mm), Paragraph(escape(office), st["right"])]
    story.append(Paragraph(cn_date(printed_at, zone), st["right"]))
    return build_a4(
        story,
        font=font,
        title=f"人防工程维护管理月报 {report.month}",
        author=office,
        subject=report.scope_name,
        footer=f"月报 {report.month} {report.scope_name}　打印于 "
        f"{printed_at.astimezone(zone):%Y-%m-%d %H:%M}",
    )


def _section(
    table: ReportTable, st: dict[str, Any], zone: ZoneInfo, chart: Drawing | None = None
) -> list[Any]:
    """A table's heading, the table and the sentence under it; a short table kept on one
    page."""
    count = len(table.columns)
    if table.sheet == "逾期事项":
        widths: list[float] = [27 * mm, 25 * mm, 44 * mm, 18 * mm, 34 * mm]
        centered = frozenset({1, 5})
    else:
        first = 70 * mm if table.columns[0][0] == "what" else 26 * mm
        widths = [first, *([(TEXT_WIDTH - first) / (count - 1)] * (count - 2))]
        centered = frozenset(range(1, count))
    heading = Paragraph(escape(table.title), st["heading"])
    note = Paragraph(escape(table.explanation), st["small"])
    if not table.rows:
        return [KeepTogether([heading, Paragraph("（无）", st["para"]), note])]
    rows = [[_text(row.get(key), zone) for key, _ in table.columns] for row in table.rows]
    grid = text_table([label for _, label in table.columns], rows, widths, st, centered=centered)
    under = [Spacer(1, 1.5 * mm), note]
    above = [heading, *([chart, Spacer(1, 2 * mm)] if chart is not None else [])]
    if len(rows) <= 15:
        return [KeepTogether([*above, grid, *under])]
    return [*above, grid, *under]
