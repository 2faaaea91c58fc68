"""Receiving uploaded files: the multipart body read as it streams, within the limits, then
each file accepted into the file store one at a time.

FastAPI parses a multipart body into temporary files before any check runs, so the routes
that take files read the body here instead (:func:`receive_form`):

- a ``Content-Length`` beyond what ``max_files`` files of ``max_bytes`` can need is refused
  at once (413 ``request_too_large``), and so is a body that streams past it;
- file parts are counted as they begin (413 ``too_many_files`` past the files allowed per
  request) and their bytes as they arrive (413 ``file_too_large``), before the rest is read;
- each file goes to a temporary file holding at most :data:`SPOOL_IN_MEMORY` bytes in memory
  (the rest on disk), hashed as it streams;
- text fields are bounded in number and size (413 ``field_too_large``); a body that is not
  form data is 422 ``invalid_form``.

Routes declare the caller (``ActorDep``, read in a short transaction of its own) before the
form (:data:`UploadFormDep`), and the request's session is not used until the body is in: an
unknown caller's body is never read, and a slow upload holds no database lock.
:func:`accept_files` then decodes and stores the files one at a time, at most
:data:`api.state.DECODE_SLOTS` at once in the process, and counts every refusal by its code in
``shelterwatch_uploads_refused_total``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from tempfile import SpooledTemporaryFile
from typing import Annotated, Any
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import Depends, Request, UploadFile
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from api.http.deps import StateDep
from api.http.errors import ApiError
from api.state import AppState
from inspection.attachments import AttachmentLimits, StoredFile, Upload, accept_upload
from inspection.errors import InvalidInput
from inspection.media import display_name
from inspection.schemas import MAX_ROW_ID, aware_utc, check_text

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY = 256 * 1024
MAX_FIELDS = 8
MAX_FIELD_BYTES = 16 * 1024
PART_OVERHEAD = 4 * 1024
"""Allowance for a part's boundary and headers when bounding the whole body."""
FILES_FIELD = "files"


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {
        "description": "`request_too_large`, `too_many_files` (per request), "
        "`file_too_large`, `too_many_fields`, `field_too_large`"
    },
    422: {
        "description": "`unsupported_file` (type not accepted, content not of its type or not "
        "decodable), `trailing_data` (bytes after the image or PDF ends), `empty_file`, "
        "`image_too_large` (too many pixels), `too_many_files` (the inspection or finding "
        "holds its limit), `invalid_form`, `validation_error`"
    },
}


def read_file(file: UploadFile, *, max_bytes: int) -> tuple[str, bytes]:
    """A form file parsed by FastAPI (a spreadsheet import): its name and bytes; 413 as soon
    as it is larger than ``max_bytes``."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(
            413,
            "file_too_large",
            f"{display_name(file.filename)}: larger than the limit of {max_bytes} bytes",
        )
    return file.filename or "upload", data


def limits_of(state: AppState) -> AttachmentLimits:
    s = state.settings
    return AttachmentLimits(
        max_bytes=s.upload_max_bytes,
        per_inspection=s.upload_max_files_per_inspection,
        per_finding=s.upload_max_files_per_finding,
        max_pixels=s.upload_max_pixels,
    )


def refused(state: AppState, code: str) -> None:
    """Count one refused upload (a file or a whole request) by its error code."""
    state.upload_refusals.labels(code).inc()


@dataclass
class _Part:
    name: str
    filename: str | None
    content_type: str
    spool: SpooledTemporaryFile[bytes] | None
    size: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    text: bytearray = field(default_factory=bytearray)


@dataclass
class UploadForm:
    """The files and text fields of an upload request; :meth:`close` drops the spooled files."""

    uploads: list[Upload] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        for upload in self.uploads:
            upload.file.close()

    def int_field(self, name: str) -> int | None:
        """A row id (1 to 2^31 - 1), or None when the field is absent or empty."""
        raw = self.fields.get(name, "").strip()
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw[:20]) <= MAX_ROW_ID):
            raise _invalid(name, f"not an id (1 to {MAX_ROW_ID})", "int_parsing")
        return int(raw)

    def text_field(self, name: str, *, max_length: int) -> str:
        """A text field of at most ``max_length`` characters without control characters."""
        value = self.fields.get(name, "")
        if len(value) > max_length:
            raise _invalid(name, f"at most {max_length} characters", "string_too_long")
        try:
            return check_text(value)
        except ValueError as exc:
            raise _invalid(name, str(exc), "value_error") from exc

    def time_field(self, name: str) -> datetime | None:
        """An RFC 3339 time with its offset, in UTC; None when the field is absent or empty."""
        raw = self.fields.get(name, "").strip()
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise _invalid(name, "not a time (RFC 3339)", "datetime_parsing") from exc
        try:
            return aware_utc(value)
        except ValueError as exc:
            raise _invalid(name, str(exc), "value_error") from exc


def _invalid(name: str, msg: str, kind: str) -> ApiError:
    """The error FastAPI's own validation gives, for a field of a form read here."""
    return ApiError(
        422,
        "validation_error",
        "the request is not valid",
        details=[{"loc": ["body", name], "msg": msg, "type": kind}],
    )


class _Receiver:
    """python-multipart callbacks that build an :class:`UploadForm` within the limits."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.max_bytes = state.settings.upload_max_bytes
        self.max_files = state.settings.upload_max_files_per_request
        self.form = UploadForm()
        self.parts: list[_Part] = []
        self.part: _Part | None = None
        self.headers: dict[bytes, bytes] = {}
        self.name = bytearray()
        self.value = bytearray()
        self.pending: list[tuple[SpooledTemporaryFile[bytes], bytes]] = []

    def refuse(self, status: int, code: str, message: str) -> ApiError:
        refused(self.state, code)
        return ApiError(status, code, message)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.name).lower()] = bytes(self.value)
        self.name.clear()
        self.value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            files = sum(1 for p in self.parts if p.spool is not None) + 1
            if files > self.max_files:
                raise self.refuse(
                    413, "too_many_files", f"at most {self.max_files} files in one request"
                )
            if name != FILES_FIELD:
                raise ApiError(422, "invalid_form", f"send files in the field {FILES_FIELD!r}")
            part = _Part(
                name=name,
                filename=options[b"filename"].decode("utf-8", "replace"),
                content_type=self.headers.get(b"content-type", b"").decode("latin-1"),
                # closed by UploadForm.close, or discard() on a refusal
                spool=SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY),  # noqa: SIM115
            )
        else:
            if len(self.parts) - sum(1 for p in self.parts if p.spool is not None) >= MAX_FIELDS:
                raise self.refuse(413, "too_many_fields", f"at most {MAX_FIELDS} text fields")
            part = _Part(name=name, filename=None, content_type="", spool=None)
        self.parts.append(part)
        self.part = part

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part is None:
            return
        chunk = data[start:end]
        part.size += len(chunk)
        if part.spool is None:
            if part.size > MAX_FIELD_BYTES:
                raise self.refuse(
                    413, "field_too_large", f"{part.name}: at most {MAX_FIELD_BYTES} bytes"
                )
            part.text += chunk
            return
        if part.size > self.max_bytes:
            raise self.refuse(
                413,
                "file_too_large",
                f"{display_name(part.filename)}: larger than the limit of {self.max_bytes} bytes",
            )
        part.hasher.update(chunk)
        self.pending.append((part.spool, chunk))

    def on_part_end(self) -> None:
        part = self.part
        if part is not None and part.spool is None:
            self.form.fields[part.name] = part.text.decode("utf-8", "replace")
        self.part = None

    def write_pending(self) -> None:
        """Spool what the last chunk brought (in a worker thread: it may touch the disk)."""
        for spool, chunk in self.pending:
            spool.write(chunk)
        self.pending.clear()

    def finish(self) -> UploadForm:
        for part in self.parts:
            if part.spool is None:
                continue
            part.spool.seek(0)
            self.form.uploads.append(
                Upload(
                    filename=part.filename or "",
                    content_type=part.content_type,
                    size=part.size,
                    sha256=part.hasher.hexdigest(),
                    file=part.spool,  # type: ignore[arg-type]
                )
            )
        return self.form

    def discard(self) -> None:
        for part in self.parts:
            if part.spool is not None:
                part.spool.close()


def _body_limit(state: AppState) -> int:
    s = state.settings
    files = s.upload_max_files_per_request * (s.upload_max_bytes + PART_OVERHEAD)
    return files + MAX_FIELDS * (MAX_FIELD_BYTES + PART_OVERHEAD)


async def receive_form(request: Request, state: AppState) -> UploadForm:
    """The request's files and fields, read as the body streams (see the module docstring)."""
    limit = _body_limit(state)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        refused(state, "request_too_large")
        raise ApiError(413, "request_too_large", f"the request is larger than {limit} bytes")
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind == b"application/x-www-form-urlencoded" or (not kind and declared in ("", "0")):
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FIELDS * MAX_FIELD_BYTES:
                refused(state, "field_too_large")
                raise ApiError(413, "field_too_large", "the form's fields are too large")
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return UploadForm(fields=dict(pairs[:MAX_FIELDS]))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise ApiError(422, "invalid_form", "send the files as multipart/form-data")
    receiver = _Receiver(state)
    try:
        parser = MultipartParser(
            options[b"boundary"],
            {
                "on_part_begin": receiver.on_part_begin,
                "on_header_field": receiver.on_header_field,
                "on_header_value": receiver.on_header_value,
                "on_header_end": receiver.on_header_end,
                "on_headers_finished": receiver.on_headers_finished,
                "on_part_data": receiver.on_part_data,
                "on_part_end": receiver.on_part_end,
            },
        )
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise receiver.refuse(
                    413, "request_too_large", f"the request is larger than {limit} bytes"
                )
            parser.write(chunk)
            if receiver.pending:
                await anyio.to_thread.run_sync(receiver.write_pending)
        parser.finalize()
    except FormParserError as exc:
        receiver.discard()
        raise ApiError(422, "invalid_form", "the multipart body is malformed") from exc
    except BaseException:
        receiver.discard()
        raise
    return receiver.finish()


async def upload_form(request: Request, state: StateDep) -> AsyncIterator[UploadForm]:
    form = await receive_form(request, state)
    try:
        yield form
    finally:
        form.close()


UploadFormDep = Annotated[UploadForm, Depends(upload_form)]


def accept_files(state: AppState, uploads: list[Upload]) -> list[StoredFile]:
    """Accept each upload into the file store, one at a time (sync: routes run in the thread
    pool); the first refusal is counted and raised."""
    limits = limits_of(state)
    out: list[StoredFile] = []
    for upload in uploads:
        try:
            with state.decode_slots:
                out.append(accept_upload(upload, files=state.files, limits=limits))
        except InvalidInput as exc:
            refused(state, exc.code)
            log.info("upload refused (%s): %s", exc.code, exc.message)
            raise
    return out


def multipart_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a route that reads its form with :func:`receive_form`:
    ``files`` (binary, repeated) and the text ``fields`` given."""
    properties: dict[str, Any] = {
        FILES_FIELD: {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "JPEG, PNG or WebP photos, or PDF files",
        },
        **fields,
    }
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": properties}}
            }
        }
    }
