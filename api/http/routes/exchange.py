"""Bulk import of shelters from CSV/Excel, and exports of the register and ledger.

The import reads and checks the file, then the register in a read-only transaction, and only
then opens the write transaction, committed before the report is sent
(:func:`inspection.register_import.import_register`).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import Response

from api.db import unit_of_work
from api.http.deps import NowDep, OfficerDep, SessionDep, StateDep, require
from api.http.errors import DocumentedRoute
from api.http.uploads import read_file
from inspection import register_import, tabular
from inspection.access import Actor
from inspection.models import Role
from inspection.register_file import Deadline, ReadLimits
from inspection.register_import import ImportReport

router = APIRouter(prefix="/api/v1", tags=["import and export"], route_class=DocumentedRoute)
Exporter = Annotated[Actor, Depends(require(Role.ADMIN, Role.DISTRICT_OFFICER, Role.PLATFORM))]
_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@router.post("/imports/shelters", response_model=ImportReport)
def import_shelters(
    actor: OfficerDep,
    now: NowDep,
    state: StateDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx")],
    only_valid: Annotated[bool, Form(description="import the good rows, report the bad")] = False,
    dry_run: Annotated[
        bool, Form(description="only report what each row would do; write nothing")
    ] = False,
) -> ImportReport:
    """Create shelters of new codes and update those of registered codes. Every row is
    checked first: unless ``only_valid``, one bad row imports nothing; the report says of
    each row whether it creates, updates (with the fields it changes), leaves unchanged, or
    is refused and why. The file is read and checked within a time and a row limit before
    the register is written, in one short transaction."""
    name, data = read_file(file, max_bytes=state.settings.import_max_bytes)
    return register_import.import_register(
        name,
        data,
        read=partial(unit_of_work, state.sessions, read_only=True),
        write=partial(unit_of_work, state.sessions),
        actor=actor,
        now=now,
        only_valid=only_valid,
        dry_run=dry_run,
        limits=ReadLimits(max_rows=state.settings.import_max_rows),
        deadline=Deadline(state.monotonic, state.settings.import_max_seconds),
    )


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
    """The rectification ledger: every follow-up with its deadlines and findings, and a
    ledger entry's protective-equipment manufacturer with the contacts made."""
    tz = state.settings.timezone
    rows = tabular.ledger_rows(session, actor=actor, now=now, tz=tz)
    data = (
        tabular.to_xlsx(rows, tabular.LEDGER_COLUMNS, "整改台账", tz=tz)
        if fmt == "xlsx"
        else tabular.to_csv(rows, tabular.LEDGER_COLUMNS, tz=tz)
    )
    return _file(data, fmt, "ledger")
