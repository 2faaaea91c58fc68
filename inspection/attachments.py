"""Photos and files kept as evidence: accepting an upload into the file store, the limits on
how many an inspection, a finding and a class 4 milestone hold, recording the row, and
reading one back for those who may see its shelter.

An upload is accepted by ``inspection.media`` (decoded, bounded, re-encoded without metadata)
and its bytes and thumbnail go to the :class:`~inspection.files.FileStore`; the row keeps the
display name, type, sizes and keys. Rows from before the file store keep their bytes in
``data``; they are read through the same acceptance, so what is served never carries the
metadata or appended content that the checks remove.

Refusals (``InvalidInput``): the codes of ``inspection.media``, ``file_too_large`` and
``too_many_files`` (an inspection or a finding already holds its limit). Reading: ``NotFound``
``attachment_not_found`` (no such attachment, or out of the caller's scope), ``no_thumbnail``
(a PDF), ``file_unavailable`` (an old row that does not pass the checks).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection import media
from inspection.access import Actor, shelter_scope
from inspection.errors import InvalidInput, NotFound
from inspection.files import FileStore
from inspection.models import Attachment, Finding, Followup, Inspection, Shelter
from inspection.schemas import AttachmentRead


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as received: ``file`` reads its bytes (``size`` of them, ``sha256`` their hash);
    ``filename`` and ``content_type`` are what the client claimed."""

    filename: str
    content_type: str
    size: int
    sha256: str
    file: BinaryIO


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """Bounds on uploads; the process settings give the values."""

    max_bytes: int = 10 * 1024 * 1024
    """per file"""
    per_inspection: int = 30
    """files attached to one inspection, its findings' photos included"""
    per_finding: int = 10
    """photos of one finding at inspection, and separately files of evidence of its fixes;
    also the evidence of one class 4 milestone"""
    max_pixels: int = 40_000_000


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An accepted upload whose file (and thumbnail) are in the store, not yet recorded."""

    upload_sha256: str
    filename: str
    content_type: str
    size: int
    file_key: str
    thumbnail_key: str | None
    width: int | None
    height: int | None


def accept_upload(upload: Upload, *, files: FileStore, limits: AttachmentLimits) -> StoredFile:
    """Check ``upload`` and put what is kept of it into ``files``; one file in memory at once."""
    name = media.display_name(upload.filename)
    if upload.size > limits.max_bytes:
        raise InvalidInput(
            f"{name}: larger than the limit of {limits.max_bytes} bytes", code="file_too_large"
        )
    data = upload.file.read(limits.max_bytes + 1)
    accepted = media.accept(data, upload.content_type, name=name, max_pixels=limits.max_pixels)
    del data
    return StoredFile(
        upload_sha256=upload.sha256,
        filename=name,
        content_type=accepted.content_type,
        size=len(accepted.data),
        file_key=files.put(accepted.data),
        thumbnail_key=files.put(accepted.thumbnail) if accepted.thumbnail is not None else None,
        width=accepted.width,
        height=accepted.height,
    )


def check_room(
    session: Session,
    *,
    adding: int,
    limits: AttachmentLimits,
    purpose: str,
    inspection_id: int | None = None,
    finding_id: int | None = None,
    followup_id: int | None = None,
) -> None:
    """Refuse ``adding`` more files when the inspection, the finding or the follow-up (files
    of ``purpose``) would then hold more than the limits allow."""
    if adding <= 0:
        return
    checks: list[tuple[str, int, int]] = []
    if inspection_id is not None:
        held = session.scalar(
            select(func.count(Attachment.id)).where(Attachment.inspection_id == inspection_id)
        )
        checks.append((f"inspection {inspection_id}", held or 0, limits.per_inspection))
    if finding_id is not None:
        held = session.scalar(
            select(func.count(Attachment.id)).where(
                Attachment.finding_id == finding_id, Attachment.purpose == purpose
            )
        )
        checks.append((f"finding {finding_id}", held or 0, limits.per_finding))
    if followup_id is not None:
        held = session.scalar(
            select(func.count(Attachment.id)).where(
                Attachment.followup_id == followup_id, Attachment.purpose == purpose
            )
        )
        checks.append((f"the {purpose} of follow-up {followup_id}", held or 0, limits.per_finding))
    for what, held_count, limit in checks:
        if held_count + adding > limit:
            raise InvalidInput(
                f"{what} holds {held_count} files; {adding} more would pass the limit of {limit}",
                code="too_many_files",
                details={"limit": limit, "held": held_count, "adding": adding},
            )


def record(
    session: Session,
    stored: StoredFile,
    *,
    purpose: str,
    actor: Actor,
    now: datetime,
    inspection_id: int | None = None,
    finding_id: int | None = None,
    followup_id: int | None = None,
) -> Attachment:
    row = Attachment(
        inspection_id=inspection_id,
        finding_id=finding_id,
        followup_id=followup_id,
        purpose=purpose,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.upload_sha256,
        file_key=stored.file_key,
        thumbnail_key=stored.thumbnail_key,
        width=stored.width,
        height=stored.height,
        uploaded_by=actor.id,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_attachment(session: Session, attachment_id: int, *, actor: Actor) -> Attachment:
    """The attachment if ``actor`` may see its shelter; otherwise as if it did not exist."""
    shelter_id = func.coalesce(Inspection.shelter_id, Finding.shelter_id, Followup.shelter_id)
    row = session.scalar(
        select(Attachment)
        .outerjoin(Inspection, Inspection.id == Attachment.inspection_id)
        .outerjoin(Finding, Finding.id == Attachment.finding_id)
        .outerjoin(Followup, Followup.id == Attachment.followup_id)
        .join(Shelter, Shelter.id == shelter_id)
        .where(Attachment.id == attachment_id, shelter_scope(actor))
    )
    if row is None:
        raise NotFound(f"no attachment {attachment_id}", code="attachment_not_found")
    return row


def _legacy(session: Session, row: Attachment, limits: AttachmentLimits) -> media.Accepted:
    """An old row's bytes through today's acceptance."""
    data = session.scalar(select(Attachment.data).where(Attachment.id == row.id))
    try:
        return media.accept(
            data or b"", row.content_type, name=row.filename, max_pixels=limits.max_pixels
        )
    except InvalidInput as exc:
        raise NotFound(
            f"attachment {row.id} was stored before uploads were checked and does not pass "
            f"the checks ({exc.code})",
            code="file_unavailable",
        ) from exc


def open_file(
    session: Session, row: Attachment, *, files: FileStore, limits: AttachmentLimits
) -> tuple[BinaryIO, int]:
    """The attachment's bytes (as stored, of type ``row.content_type``) and their length."""
    if row.file_key is not None:
        return files.open(row.file_key), row.size
    accepted = _legacy(session, row, limits)
    return io.BytesIO(accepted.data), len(accepted.data)


def open_thumbnail(
    session: Session, row: Attachment, *, files: FileStore, limits: AttachmentLimits
) -> BinaryIO:
    """A JPEG of the image at most ``media.THUMBNAIL_PX`` on each side."""
    if row.thumbnail_key is not None:
        return files.open(row.thumbnail_key)
    if row.content_type not in media.IMAGE_FORMATS:
        raise NotFound(f"attachment {row.id} is not an image", code="no_thumbnail")
    accepted = _legacy(session, row, limits)  # an old row: made on request
    return io.BytesIO(accepted.thumbnail or b"")


def read(row: Attachment) -> AttachmentRead:
    return AttachmentRead.model_validate(row)


def reads_by_finding(session: Session, finding_ids: list[int]) -> dict[int, list[AttachmentRead]]:
    """The attachments of each finding (photos at inspection and evidence of fixes), oldest
    first."""
    out: dict[int, list[AttachmentRead]] = defaultdict(list)
    if not finding_ids:
        return out
    rows = session.scalars(
        select(Attachment).where(Attachment.finding_id.in_(finding_ids)).order_by(Attachment.id)
    )
    for row in rows:
        if row.finding_id is not None:
            out[row.finding_id].append(read(row))
    return out


def reads_by_followup(
    session: Session, followup_ids: list[int]
) -> dict[tuple[int, str], list[AttachmentRead]]:
    """The evidence of each follow-up's milestones, by (follow-up id, milestone), oldest
    first."""
    out: dict[tuple[int, str], list[AttachmentRead]] = defaultdict(list)
    if not followup_ids:
        return out
    rows = session.scalars(
        select(Attachment).where(Attachment.followup_id.in_(followup_ids)).order_by(Attachment.id)
    )
    for row in rows:
        if row.followup_id is not None:
            out[(row.followup_id, row.purpose)].append(read(row))
    return out
