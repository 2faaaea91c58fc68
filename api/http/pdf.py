"""PDF answers of the API: the response, and how OpenAPI documents it."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from api.http.errors import error_body

_ERROR = {"application/json": {"example": error_body("code", "what went wrong")}}

PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A4 PDF; every font embedded as a subset",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    404: {"description": "no such document, or not in the caller's scope", "content": _ERROR},
    503: {
        "description": "the server has no font to print with (`pdf_font_missing`, "
        "`pdf_font_unusable`): set SHELTERWATCH_PDF_FONT",
        "content": _ERROR,
    },
}


class PdfResponse(Response):
    media_type = "application/pdf"


def pdf_response(pdf: bytes, filename: str) -> PdfResponse:
    """``pdf`` shown inline, saved as ``filename`` (ASCII: codes and numbers only)."""
    return PdfResponse(pdf, headers={"Content-Disposition": f'inline; filename="{filename}"'})
