"""The outbox view of the city office: notifications and deliveries by state, channel and
recipient, and the notifications behind each figure (:mod:`api.notify.outbox`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import AdminDep, PageDep, SessionDep
from api.http.errors import DocumentedRoute
from api.http.schemas import Page
from api.notify import outbox
from api.notify.outbox import OutboxFilter, OutboxItem, OutboxState, OutboxSummary

router = APIRouter(prefix="/api/v1/outbox", tags=["notifications"], route_class=DocumentedRoute)


@router.get("", response_model=OutboxSummary)
def summary(session: SessionDep, _actor: AdminDep) -> OutboxSummary:
    """Notifications by state (``pending``, ``failed``, ``sent``, ``dead``,
    ``undeliverable``), deliveries by channel (``none``: notifications no channel could
    carry) and notifications by recipient (``null``: the platform's topic), the worst first."""
    return outbox.summary(session)


@router.get("/notifications", response_model=Page[OutboxItem])
def notifications(
    session: SessionDep,
    _actor: AdminDep,
    page: PageDep,
    state: OutboxState | None = None,
    channel: Annotated[str | None, Query(max_length=16, description="or none")] = None,
    recipient: Annotated[str | None, Query(max_length=64, description="a username")] = None,
) -> Page[OutboxItem]:
    """The notifications in a state, on a channel or to a recipient, newest first, each with
    its deliveries (channel, state, attempts, last error; never the target)."""
    found, total = outbox.items(
        session,
        OutboxFilter(state=state, channel=channel, recipient=recipient),
        limit=page.limit,
        offset=page.offset,
    )
    return Page[OutboxItem](items=found, total=total, limit=page.limit, offset=page.offset)
