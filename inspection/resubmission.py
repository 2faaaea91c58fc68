"""Submitting an inspection under an ``Idempotency-Key``: a phone that lost the answer sends
the same submission again and gets the inspection already stored, never a second one.

The key is the client's (one per inspection it records), unique per inspector; the stored
inspection keeps it with the SHA-256 of the request, so a key reused for a different
request is refused rather than answered with an unrelated inspection.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspection.access import Actor
from inspection.errors import Conflict
from inspection.grading import FollowupPolicy
from inspection.inspections import submit
from inspection.models import Inspection
from inspection.schemas import InspectionCreate


def request_hash(code: str, data: InspectionCreate) -> str:
    """SHA-256 of what a submission asks for: the shelter and the validated body with its keys
    sorted, so the same request hashes the same however its JSON was spaced or ordered."""
    payload = {"shelter": code, **data.model_dump(mode="json")}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _by_key(session: Session, inspector_id: int, key: str) -> Inspection | None:
    return session.scalar(
        select(Inspection).where(
            Inspection.inspector_id == inspector_id, Inspection.idempotency_key == key
        )
    )


def submit_once(
    session: Session,
    code: str,
    data: InspectionCreate,
    *,
    key: str,
    actor: Actor,
    now: datetime,
    policy: FollowupPolicy,
    tz: str,
    records_start: datetime,
) -> tuple[Inspection, bool]:
    """:func:`submit` under an idempotency ``key`` of ``actor``: the first call stores the
    inspection (``True``); the same key with the same request returns that inspection
    (``False``) and changes nothing; the same key with another request is refused
    (:class:`Conflict` ``idempotency_mismatch``). Two repeats racing each other are settled
    by the unique (inspector, key) index: the loser returns the winner's inspection."""
    digest = request_hash(code, data)
    existing = _by_key(session, actor.id, key)
    if existing is None:
        try:
            with session.begin_nested():
                created = submit(
                    session,
                    code,
                    data,
                    actor=actor,
                    now=now,
                    policy=policy,
                    tz=tz,
                    records_start=records_start,
                    idempotency=(key, digest),
                )
            return created, True
        except IntegrityError:
            existing = _by_key(session, actor.id, key)
            if existing is None:
                raise
    if existing.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was already used for a different submission",
            code="idempotency_mismatch",
        )
    return existing, False
