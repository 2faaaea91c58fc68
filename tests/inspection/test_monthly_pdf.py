"""The monthly report's PDF from figures given directly: the trend chart's bars, a long list
that runs over pages with its header repeated, every text in the embedded font."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inspection.documents.fonts import load_font
from inspection.documents.monthly import render_monthly_pdf
from inspection.monthly import MonthlyReport, ReportTable, month_bounds
from tests import pdf_tools

NOW = datetime(2026, 7, 3, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def font() -> str:
    return load_font(None)


def _report() -> MonthlyReport:
    start, end = month_bounds("2026-06", "Asia/Shanghai")
    trend = [(f"2026-{m:02d}", 0.27 + 0.06 * m) for m in range(1, 7)]
    trend = [(f"2025-{m:02d}", None) for m in range(7, 13)] + trend
    overdue = [
        {
            "number": f"ZG2026-{n:04d}",
            "kind": "整改通知书",
            "shelter": f"SH-{n:03d} 人民广场地下{n}号工程",
            "district": "黄浦区",
            "due_at": end - timedelta(days=n),
            "days": n,
        }
        for n in range(1, 41)
    ]
    return MonthlyReport(
        month="2026-06",
        district=None,
        start=start,
        end=end,
        as_of=end,
        tz="Asia/Shanghai",
        trend=trend,
        tables=[
            ReportTable(
                "达标率趋势",
                "二、达标率走势（近12个月）",
                "全市每月的达标率。",
                [("month", "月份"), ("rate", "达标率")],
                [{"month": m, "rate": "—" if r is None else f"{r * 100:.2f}%"} for m, r in trend],
            ),
            ReportTable(
                "逾期事项",
                "五、逾期未办结事项",
                "截至本月末已过整改期限仍未办结的文书。",
                [
                    ("number", "编号"),
                    ("kind", "类型"),
                    ("shelter", "工程"),
                    ("district", "区"),
                    ("due_at", "整改期限"),
                    ("days", "逾期天数"),
                ],
                overdue,
            ),
        ],
    )


def test_a_long_report_reads_in_its_embedded_font(font: str, tmp_path: Path) -> None:
    path = tmp_path / "monthly.pdf"
    path.write_bytes(render_monthly_pdf(_report(), font=font, printed_at=NOW))
    text = pdf_tools.text(path)
    assert "人防工程维护管理月报（2026年6月）" in text
    assert "统计时段：2026年6月1日至2026年6月30日" in text
    assert "63%" in text  # June's bar label
    assert "ZG2026-0040" in text and "2026年6月30日" in text
    assert text.count("编号类型工程区整改期限逾期天数") >= 2  # the header on each page
    assert all(f.embedded and f.subset for f in pdf_tools.fonts(path))
    assert not pdf_tools.chinese_is_drawn(path, tmp_path)
