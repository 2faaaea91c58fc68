"""The version of a page of joined shelter summaries (:mod:`api.http.views`), computed in one
aggregate query without building the page: what lets ``If-None-Match`` answer ``304`` for the
price of a few index scans. The dashboard's grid of shelters is validated the same way, over
the parts of it that it shows (:data:`GRID`).

The version is a digest of, for the page's shelters (those matching the page's WHERE clause,
ordered by code, cut by limit and offset):

- how many match in all, and which are on the page (count and sum of ids);
- change counters (``revision``, raised in SQL by every UPDATE of a row) summed over the
  page's shelter rows, their managers' user rows, their sensors, their findings not closed
  and not drafts (and the files attached to those), and their live follow-ups (with the
  findings each covers);
- over their sensors' live values and open alerts, which the ingester writes without
  revisions: count, sum of ids and sum of ``updated_at_ms`` (and ``last_seen_ms``; for
  alerts :func:`telemetry.alert_store.fingerprint_columns`);
- what the clock alone changes in a summary, counted at ``now``: live follow-ups past their
  deadline, and active sensors silent for more than 3× their interval (counted from their
  registration when they never reported), as :func:`api.http.views.is_online` judges them.

Each part only grows or changes when a row does, so equal versions mean equal pages (sums of
counters can collide only if two rows change in exactly compensating ways, which counters
never do). Compute the version before building the page: the body is then at least as new as
its ETag, so a client never keeps a stale body under a current tag.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    case,
    column,
    func,
    select,
    table,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from inspection.catalogue import CURRENT_VERSION
from inspection.models import (
    Finding,
    FindingStatus,
    Followup,
    FollowupFinding,
    FollowupStatus,
    Sensor,
    Shelter,
    User,
    UTCDateTime,
)
from telemetry import alert_store
from telemetry.alert_rules import OFFLINE_FACTOR
from telemetry.alert_store import OPEN
from telemetry.sql_models import AlertRow, SensorLiveRow


class epoch_ms(FunctionElement[float]):
    """Milliseconds since the epoch of a UTC timestamp column, in SQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_ms, "postgresql")
def _epoch_ms_pg(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000)"


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: epoch_ms, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text; julianday() reads it.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400000.0)"


Part = Select[*tuple[Any, ...]]
"""One aggregate row over some of the rows that feed a page."""

_PAGE = table("page", column("id"), column("code"), column("manager_id"), column("revision"))
"""The page's shelters, as the aggregates name them (``WITH page AS (...)`` per request)."""


class on_page(ColumnElement[bool]):
    """A hint beside a join to the page: ``column`` (a shelter id) is one of the page's. To
    PostgreSQL it is the page as an array, which it scans the column's index with; joined to
    the page alone, its planner hashed every sensor of the city for a page of 500 shelters
    (measured with pgbench: the whole version in 3.7–4.2 ms against 6.5–7.0 ms). Elsewhere it
    is true and the join does the work (SQLite was slower with ``IN (SELECT …)``). For the
    sensors only: alerts, findings and follow-ups are few beside the page, and a hash of them
    costs less than searching an array row by row."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: InstrumentedAttribute[int]) -> None:
        self.column: ColumnElement[int] = column.expression


@compiles(on_page, "postgresql")
def _on_page_pg(element: on_page, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)  # a column of the model, never input
    return f"{column} = ANY(ARRAY(SELECT page.id FROM page))"  # noqa: S608


@compiles(on_page)
def _on_page(element: on_page, compiler: SQLCompiler, **kw: Any) -> str:
    return "1 = 1"


def _shelters() -> Part:
    page = _PAGE
    return (
        select(
            func.count(),
            func.sum(page.c.id),
            func.sum(page.c.revision),
            func.count(User.id),
            func.sum(User.revision),
        )
        .select_from(page)
        .outerjoin(User, User.id == page.c.manager_id)
    )


def _sensors() -> Part:
    silent_before = (
        bindparam("now_ms", type_=Float()) - 1000 * OFFLINE_FACTOR * Sensor.expected_interval_s
    )
    silent = and_(
        Sensor.active.is_(True),
        func.coalesce(SensorLiveRow.last_seen_ms, epoch_ms(Sensor.created_at)) < silent_before,
    )
    return (
        select(
            func.count(),
            func.sum(Sensor.id),
            func.sum(Sensor.revision),
            func.count(SensorLiveRow.sensor_id),
            func.sum(SensorLiveRow.updated_at_ms),
            func.sum(SensorLiveRow.last_seen_ms),
            func.sum(case((silent, 1), else_=0)),
        )
        .join(_PAGE, Sensor.shelter_id == _PAGE.c.id)
        .outerjoin(SensorLiveRow, SensorLiveRow.sensor_id == Sensor.sensor_id)
        .where(on_page(Sensor.shelter_id))
    )


def _alerts() -> Part:
    return (
        select(*alert_store.fingerprint_columns())
        .join(_PAGE, AlertRow.shelter_code == _PAGE.c.code)
        .where(AlertRow.status.in_(OPEN))
    )


def _findings() -> Part:
    return (
        select(func.count(), func.sum(Finding.id), func.sum(Finding.revision))
        .join(_PAGE, Finding.shelter_id == _PAGE.c.id)
        .where(Finding.status != FindingStatus.CLOSED.value, Finding.draft.is_(False))
    )


def _followups() -> Part:
    # One row per follow-up and finding it covers (one at least per follow-up).
    past_due = case((Followup.due_at < bindparam("now", type_=UTCDateTime()), 1), else_=0)
    return (
        select(
            func.count(),
            func.sum(Followup.id),
            func.sum(Followup.revision),
            func.sum(past_due),
            func.sum(FollowupFinding.finding_id),
        )
        .join(_PAGE, Followup.shelter_id == _PAGE.c.id)
        .outerjoin(FollowupFinding, FollowupFinding.followup_id == Followup.id)
        .where(Followup.status == FollowupStatus.OPEN.value)
    )


SUMMARIES = (_shelters, _sensors, _alerts, _findings, _followups)
"""What a page of summaries shows: everything of the module docstring."""
GRID = (_shelters, _alerts, _followups)
"""What the dashboard's grid shows: the shelters, their open alerts and overdue follow-ups."""


@cache
def _aggregates(parts: tuple[Callable[[], Part], ...]) -> Part:
    """The ``parts`` side by side in one row, built once (building the statement costs more
    than running it), with the clock as the parameters ``now`` and ``now_ms``."""
    subqueries = [part().subquery(f"p{n}") for n, part in enumerate(parts, 1)]
    query = select(*(c for sq in subqueries for c in sq.c)).select_from(subqueries[0])
    for sq in subqueries[1:]:
        query = query.join(sq, true())
    return query


def page_etag(
    session: Session,
    where: ColumnElement[bool],
    *,
    limit: int | None,
    offset: int,
    now: datetime,
    model: type[BaseModel],
    parts: tuple[Callable[[], Part], ...] = SUMMARIES,
) -> str:
    """The version of the page of the module docstring as a strong entity tag (``limit``
    None: every shelter matching ``where``); ``model`` is what the page holds (its schema
    goes into the version, so two views of the same shelters, or two releases that write
    them differently, never share a tag); ``parts`` what of the shelters it shows."""
    page = (
        select(Shelter.id, Shelter.code, Shelter.manager_id, Shelter.revision)
        .where(where)
        .order_by(Shelter.code)
        .limit(limit)
        .offset(offset)
        .cte("page")
    )
    total = select(func.count().label("total")).select_from(Shelter).where(where).subquery("p0")
    aggregates = _aggregates(parts).subquery("aggregates")
    query = select(total.c.total, aggregates).join(aggregates, true()).add_cte(page)
    row = session.execute(query, {"now": now, "now_ms": now.timestamp() * 1000}).one()
    return tag(model, tuple(row))


def tag(model: type[BaseModel], fingerprint: tuple[Any, ...]) -> str:
    """A strong entity tag from what a response of ``model`` was built from."""
    digest = hashlib.sha256(f"{_schema(model)}|{CURRENT_VERSION}|{fingerprint!r}".encode())
    return f'"{digest.hexdigest()[:32]}"'


@cache
def _schema(model: type[BaseModel]) -> str:
    schema = json.dumps(model.model_json_schema(), sort_keys=True)
    return hashlib.sha256(schema.encode()).hexdigest()[:16]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` semantics (RFC 9110 §13.1.2): ``*`` or any listed tag, compared
    weakly."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


class Bodies:
    """The serialized bodies of the latest versions of pages, in one process: a page asked for
    again at the same version (a dashboard reloaded, a client that sends no ``If-None-Match``)
    is answered from here instead of built again. Keyed by the page's ETag and its variant (what
    else of the request shapes the body): equal versions mean equal pages, so a body found is
    the one the page would build now. Least recently used first out, within ``max_bytes`` and
    ``max_entries``; a body larger than a quarter of ``max_bytes`` is never kept."""

    def __init__(self, *, max_bytes: int = 16 * 1024 * 1024, max_entries: int = 256) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._bodies: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, variant: str, etag: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get((variant, etag))
            if body is not None:
                self._bodies.move_to_end((variant, etag))
            return body

    def put(self, variant: str, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._bodies.pop((variant, etag), None)
            self._size -= len(old) if old is not None else 0
            self._bodies[(variant, etag)] = body
            self._size += len(body)
            while self._size > self.max_bytes or len(self._bodies) > self.max_entries:
                _, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()
            self._size = 0

    @property
    def size(self) -> int:
        """Bytes kept."""
        return self._size

    def __len__(self) -> int:
        return len(self._bodies)


def versioned(
    etag: str,
    *,
    if_none_match: str | None,
    bodies: Bodies,
    variant: str,
    build: Callable[[], BaseModel],
) -> Response:
    """The answer of a page whose version is ``etag``: ``304`` when ``If-None-Match`` names
    it, else the body kept for this version and ``variant`` (what else of the request shapes
    the body: its limit and offset, its options), else the one ``build`` makes, kept."""
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    body = bodies.get(variant, etag)
    if body is None:
        body = build().model_dump_json().encode()
        bodies.put(variant, etag, body)
    return Response(body, media_type="application/json", headers=headers)


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "``If-None-Match`` names the current ETag; no body."}
}
"""The extra response of a route that validates with :func:`page_etag`, for OpenAPI."""
