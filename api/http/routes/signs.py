"""Shelter signs (标识牌) as printable A4 PDF: one shelter, or a district's batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import ActorDep, SessionDep, StateDep
from api.http.errors import DocumentedRoute
from api.http.pdf import PDF_RESPONSES, PdfResponse, pdf_response
from inspection.documents.fonts import load_font
from inspection.documents.sign import MAX_SIGNS, district_signs, render_signs_pdf, shelter_sign
from inspection.schemas import MAX_DB_INT

router = APIRouter(prefix="/api/v1", tags=["signs"], route_class=DocumentedRoute)


@router.get("/shelters/{code}/sign.pdf", response_class=PdfResponse, responses=PDF_RESPONSES)
def sign(code: str, session: SessionDep, actor: ActorDep, state: StateDep) -> PdfResponse:
    """The shelter's sign: name and code, wartime function and peacetime use, responsible
    unit, the 工程长's name and phone, and a QR code that opens
    `{SHELTERWATCH_PUBLIC_BASE_URL}/#/shelters/{code}/inspect` in the web app."""
    settings = state.settings
    doc = shelter_sign(session, code, actor=actor, base_url=settings.public_base_url)
    pdf = render_signs_pdf([doc], font=load_font(settings.pdf_font))
    return pdf_response(pdf, f"sign-{doc.code}.pdf")


@router.get("/signs.pdf", response_class=PdfResponse, responses=PDF_RESPONSES)
def district_batch(
    session: SessionDep,
    actor: ActorDep,
    state: StateDep,
    district: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=MAX_SIGNS, description="signs per document")] = MAX_SIGNS,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="shelters to skip, by code")] = 0,
) -> PdfResponse:
    """The signs of the district's active shelters that the caller may see, one page each,
    ordered by code, as one document; `X-Total-Count` says how many there are in all.
    Shelters out of the caller's scope are left out; none at all is 404."""
    settings = state.settings
    docs, total = district_signs(
        session,
        district,
        actor=actor,
        base_url=settings.public_base_url,
        limit=limit,
        offset=offset,
    )
    response = pdf_response(render_signs_pdf(docs, font=load_font(settings.pdf_font)), "signs.pdf")
    response.headers["X-Total-Count"] = str(total)
    return response
