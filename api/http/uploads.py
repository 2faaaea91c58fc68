"""Reading uploaded files within a size limit (sync: routes run in the thread pool)."""

from __future__ import annotations

from fastapi import UploadFile

from api.http.errors import ApiError
from inspection.attachments import Upload


def read_uploads(files: list[UploadFile], *, max_bytes: int) -> list[Upload]:
    """The files' contents; 413 as soon as one is larger than ``max_bytes``."""
    out: list[Upload] = []
    for file in files:
        data = file.file.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ApiError(
                413,
                "file_too_large",
                f"{file.filename}: larger than the limit of {max_bytes} bytes",
            )
        out.append(
            Upload(
                filename=file.filename or "upload", content_type=file.content_type or "", data=data
            )
        )
    return out
