"""Photos of a submitted inspection, attached by its inspector (or the city office), to the
inspection or to one of its findings.

Attaching happens in two steps so that files are decoded and stored outside the transaction
that records them: :func:`plan_photos` checks who may attach, the finding and the limits, and
answers which of the files sent are new; the caller accepts those into the file store; then
:func:`add_photos` checks the same again in the recording transaction, with the inspection's
row locked (PostgreSQL; SQLite lets one writer in at a time), so concurrent requests cannot
pass the limits together.

A file whose bytes the inspection already holds (under the same finding, or none) is answered
with the attachment stored then: a retried upload stores nothing twice and does not count
toward the limits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspection import audit, reinspection
from inspection.access import Actor
from inspection.attachments import AttachmentLimits, StoredFile, check_room, record
from inspection.errors import Forbidden, InvalidInput
from inspection.inspections import get_inspection
from inspection.models import Attachment, Finding, Inspection, Role

PURPOSE = "inspection"


def _held(
    session: Session, inspection: Inspection, finding_id: int | None, *, lock: bool
) -> dict[str, Attachment]:
    """The attachments already held, by the SHA-256 of their upload; checks who may attach."""
    if lock:
        session.execute(
            select(Inspection.id).where(Inspection.id == inspection.id).with_for_update()
        )
    if finding_id is not None:
        finding = session.get(Finding, finding_id)
        if finding is None or (
            finding.inspection_id != inspection.id
            and finding.id not in reinspection.judged_findings(session, inspection)
        ):
            raise InvalidInput(
                f"finding {finding_id} is not part of inspection {inspection.id}",
                code="bad_finding",
            )
    return {
        a.sha256: a
        for a in session.scalars(
            select(Attachment).where(
                Attachment.inspection_id == inspection.id,
                Attachment.finding_id.is_(None)
                if finding_id is None
                else Attachment.finding_id == finding_id,
            )
        )
    }


def _inspection_for(session: Session, inspection_id: int, actor: Actor) -> Inspection:
    inspection = get_inspection(session, inspection_id, actor=actor)
    if not (actor.id == inspection.inspector_id or actor.role == Role.ADMIN):
        raise Forbidden(
            "only the inspection's inspector attaches its photos", code="role_forbidden"
        )
    return inspection


def _new(shas: list[str], held: dict[str, Attachment]) -> list[str]:
    """The hashes not held yet, each once, in the order sent."""
    return list(dict.fromkeys(s for s in shas if s not in held))


def plan_photos(
    session: Session,
    inspection_id: int,
    shas: list[str],
    *,
    finding_id: int | None,
    actor: Actor,
    limits: AttachmentLimits,
) -> list[str]:
    """Check that ``actor`` may attach the files whose upload hashes are ``shas`` and that
    they fit the limits; answer the hashes of those not stored yet."""
    inspection = _inspection_for(session, inspection_id, actor)
    if not shas:
        raise InvalidInput("no file in the request", code="no_file")
    new = _new(shas, _held(session, inspection, finding_id, lock=False))
    check_room(
        session,
        adding=len(new),
        limits=limits,
        purpose=PURPOSE,
        inspection_id=inspection.id,
        finding_id=finding_id,
    )
    return new


def add_photos(
    session: Session,
    inspection_id: int,
    shas: list[str],
    stored: dict[str, StoredFile],
    *,
    finding_id: int | None,
    actor: Actor,
    now: datetime,
    limits: AttachmentLimits,
) -> list[Attachment]:
    """Record the photos sent (``shas``, in order); ``stored`` holds, by upload hash, the
    accepted files of those :func:`plan_photos` found new. Answers one attachment per file
    sent, an earlier one for a file already held."""
    inspection = _inspection_for(session, inspection_id, actor)
    if not shas:
        raise InvalidInput("no file in the request", code="no_file")
    held = _held(session, inspection, finding_id, lock=True)
    new = _new(shas, held)
    check_room(
        session,
        adding=len(new),
        limits=limits,
        purpose=PURPOSE,
        inspection_id=inspection.id,
        finding_id=finding_id,
    )
    added: list[int] = []
    for sha in new:
        row = record(
            session,
            stored[sha],
            purpose=PURPOSE,
            actor=actor,
            now=now,
            inspection_id=inspection.id,
            finding_id=finding_id,
        )
        held[sha] = row
        added.append(row.id)
    if added:
        audit.record(
            session,
            actor,
            "inspection.photos",
            "inspection",
            inspection.id,
            at=now,
            after={"attachments": added},
        )
    return [held[sha] for sha in shas]
