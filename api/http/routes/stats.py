"""Compliance statistics and the finding catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.http.deps import ActorDep, NowDep, SessionDep, require
from api.http.errors import DocumentedRoute
from inspection import stats
from inspection.access import Actor
from inspection.catalogue import load_catalogue
from inspection.models import Role

router = APIRouter(prefix="/api/v1", tags=["statistics"], route_class=DocumentedRoute)
StatsReader = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.PLATFORM))]


@router.get("/stats/compliance", response_model=stats.ComplianceReport)
def compliance(
    session: SessionDep, actor: StatsReader, now: NowDep, district: str | None = None
) -> stats.ComplianceReport:
    """维护管理达标率 per district and city-wide, class distribution, open and overdue
    follow-ups, monthly history. A district officer sees their district."""
    return stats.compliance(session, actor=actor, now=now, district=district)


@router.get("/checklist")
def checklist(_actor: ActorDep) -> dict[str, Any]:
    """The finding catalogue inspectors grade against, with default severities."""
    catalogue = load_catalogue()
    return {
        "version": catalogue.version,
        "items": [
            {
                "code": i.code,
                "title": i.title,
                "category": i.category,
                "default_severity": i.default_severity.label,
                "illegal_act": i.illegal_act,
            }
            for i in catalogue.items
        ],
    }
