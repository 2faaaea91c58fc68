"""Bulk import of shelters from CSV/Excel, and exports of the register and ledger."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response

from api.http.deps import NowDep, OfficerDep, SessionDep, StateDep, require
from api.http.uploads import read_file
from inspection import tabular
from inspection.access import Actor
from inspection.models import Role

router = APIRouter(prefix="/api/v1", tags=["import and export"])
Exporter = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.PLATFORM))]
_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@router.post("/imports/shelters", response_model=tabular.ImportReport)
def import_shelters(
    session: SessionDep,
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx")],
    only_valid: Annotated[bool, Form(description="import the good rows, report the bad")] = False,
) -> tabular.ImportReport:
    """Every row is checked first; unless ``only_valid``, one bad row imports nothing and the
    report names each bad row and why."""
    name, data = read_file(file, max_bytes=state.settings.import_max_bytes)
    return tabular.import_shelters(session, name, data, actor=actor, now=now, only_valid=only_valid)


def _file(rows_bytes: bytes, fmt: str, name: str) -> Response:
    return Response(
        rows_bytes,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get(
    "/exports/shelters.{fmt}",
    response_class=Response,
    responses={200: {"content": {_MEDIA["xlsx"]: {}, "text/csv": {}}}},
)
def export_register(
    fmt: Literal["xlsx", "csv"], session: SessionDep, actor: Exporter, state: StateDep
) -> Response:
    """The register (in the caller's scope); the .xlsx re-imports as it is."""
    rows = tabular.register_rows(session, actor=actor)
    tz = state.settings.timezone
    data = (
        tabular.to_xlsx(rows, tabular.REGISTER_COLUMNS, "人防工程", tz=tz)
        if fmt == "xlsx"
        else tabular.to_csv(rows, tabular.REGISTER_COLUMNS, tz=tz)
    )
    return _file(data, fmt, "shelters")


@router.get(
    "/exports/ledger.{fmt}",
    response_class=Response,
    responses={200: {"content": {_MEDIA["xlsx"]: {}, "text/csv": {}}}},
)
def export_ledger(
    fmt: Literal["xlsx", "csv"],
    session: SessionDep,
    actor: Exporter,
    now: NowDep,
    state: StateDep,
) -> Response:
    """The rectification ledger: every follow-up with its deadlines and findings."""
    rows = tabular.ledger_rows(session, actor=actor, now=now)
    tz = state.settings.timezone
    data = (
        tabular.to_xlsx(rows, tabular.LEDGER_COLUMNS, "整改台账", tz=tz)
        if fmt == "xlsx"
        else tabular.to_csv(rows, tabular.LEDGER_COLUMNS, tz=tz)
    )
    return _file(data, fmt, "ledger")
