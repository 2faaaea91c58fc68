"""The monthly report for leadership (月报) as PDF or xlsx (:mod:`inspection.monthly`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.http.deps import NowDep, OfficerDep, SessionDep, StateDep
from api.http.errors import DocumentedRoute
from api.http.pdf import PDF_RESPONSES, pdf_response
from api.http.reports import TelemetryMonitoring
from inspection import monthly, tabular
from inspection.documents.fonts import load_font
from inspection.documents.monthly import render_monthly_pdf

router = APIRouter(prefix="/api/v1", tags=["statistics"], route_class=DocumentedRoute)
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/reports/monthly.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "the report: A4 PDF (fonts embedded) or xlsx (one sheet a table)",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                _XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        404: {"description": "`district_not_found`: no such district in the caller's scope"},
        422: {"description": "`bad_month` (not YYYY-MM), `future_month` (not begun)"},
        503: PDF_RESPONSES[503],
    },
)
def monthly_report(
    fmt: Literal["pdf", "xlsx"],
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
    month: Annotated[
        str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM in the city's time zone")
    ],
    district: Annotated[
        str | None, Query(max_length=64, description="one district (the city office)")
    ] = None,
) -> Response:
    """The month's report for leadership: 维护管理达标率 by district and its trend over 12
    months, shelters by class, follow-ups issued, escalated, closed, open and overdue,
    referrals and their outcomes, sensor coverage and alerts, each table with a sentence
    saying what it shows. The city office gets the city (or ``district``); a district officer
    their district. Months are taken in `SHELTERWATCH_TIMEZONE`."""
    tz = state.settings.timezone
    report = monthly.monthly_report(
        session,
        month,
        actor=actor,
        now=now,
        tz=tz,
        monitoring=TelemetryMonitoring(session, state.readings, now=now),
        district=district,
    )
    name = f"monthly-{report.month}"
    if fmt == "pdf":
        font = load_font(state.settings.pdf_font)
        return pdf_response(render_monthly_pdf(report, font=font, printed_at=now), f"{name}.pdf")
    sheets = [
        tabular.Sheet(t.sheet, t.columns, t.rows, notes=(t.title, t.explanation))
        for t in report.tables
    ]
    return Response(
        tabular.to_xlsx_sheets(sheets, tz=tz),
        media_type=_XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
