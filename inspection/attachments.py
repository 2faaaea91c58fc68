"""Photos and files kept as evidence, with type and size limits, and read back by those who
may see their shelter.

The declared content type must agree with the file's leading bytes, so a renamed
executable is not stored as a "photo".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inspection.access import Actor, shelter_scope
from inspection.errors import InvalidInput, NotFound
from inspection.models import Attachment, Finding, Inspection, Shelter

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}
ALLOWED_TYPES = tuple(_MAGIC)


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def check_upload(upload: Upload, *, max_bytes: int) -> None:
    """Raise :class:`InvalidInput` unless the upload is an allowed, non-empty, small file."""
    kind = upload.content_type.split(";")[0].strip().lower()
    if kind not in _MAGIC:
        raise InvalidInput(
            f"{upload.filename}: type {kind or 'unknown'} not accepted; use "
            + ", ".join(ALLOWED_TYPES),
            code="unsupported_file",
        )
    if not upload.data:
        raise InvalidInput(f"{upload.filename}: empty file", code="empty_file")
    if len(upload.data) > max_bytes:
        raise InvalidInput(
            f"{upload.filename}: {len(upload.data)} bytes exceeds the limit of {max_bytes}",
            code="file_too_large",
        )
    if not any(upload.data.startswith(m) for m in _MAGIC[kind]):
        raise InvalidInput(
            f"{upload.filename}: content is not a {kind} file", code="unsupported_file"
        )


def store(
    session: Session,
    upload: Upload,
    *,
    purpose: str,
    actor: Actor,
    now: datetime,
    max_bytes: int,
    inspection_id: int | None = None,
    finding_id: int | None = None,
) -> Attachment:
    check_upload(upload, max_bytes=max_bytes)
    row = Attachment(
        inspection_id=inspection_id,
        finding_id=finding_id,
        purpose=purpose,
        filename=upload.filename[:255] or "upload",
        content_type=upload.content_type.split(";")[0].strip().lower(),
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        data=upload.data,
        uploaded_by=actor.id,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_attachment(session: Session, attachment_id: int, *, actor: Actor) -> Attachment:
    """The attachment with its bytes, when ``actor`` may see the shelter of its inspection or
    finding; else :class:`NotFound`, as if it did not exist."""
    shelter_id = func.coalesce(Finding.shelter_id, Inspection.shelter_id)
    row = session.scalar(
        select(Attachment)
        .outerjoin(Finding, Attachment.finding_id == Finding.id)
        .outerjoin(Inspection, Attachment.inspection_id == Inspection.id)
        .join(Shelter, Shelter.id == shelter_id)
        .where(Attachment.id == attachment_id, shelter_scope(actor))
    )
    if row is None:
        raise NotFound(f"no attachment {attachment_id}", code="attachment_not_found")
    return row
