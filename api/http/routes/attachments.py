"""Photos and evidence files, and their thumbnails, for those who may see the shelter.

An attachment out of the caller's scope answers 404, as if it did not exist. The bytes are
private: ``Cache-Control: private`` (a browser may keep them, a shared cache never), with an
ETag, since an attachment's file never changes. Images are shown inline, PDFs are downloaded;
either is sent under a sandboxing Content-Security-Policy, so a file opened on its own
address can run nothing in the app's origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Header
from fastapi.responses import Response, StreamingResponse

from api.http.deps import ActorDep, SessionDep, StateDep
from api.http.errors import DocumentedRoute
from api.http.uploads import limits_of
from api.state import AppState
from inspection import attachments, media
from inspection.models import Attachment
from inspection.schemas import RowId

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"], route_class=DocumentedRoute)

CACHE_CONTROL = "private, max-age=86400"
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
CHUNK = 256 * 1024
_FILE_TYPES: dict[str, dict[str, Any]] = {t: {} for t in media.ACCEPTED_TYPES}
_NOT_FOUND = {
    "description": "`attachment_not_found` (none, or out of your scope), `no_thumbnail` "
    "(a PDF), `file_unavailable` (stored before uploads were checked, and fails them now)"
}


def _decoding(state: AppState, needed: bool) -> AbstractContextManager[Any]:
    """A decode slot when an old row's bytes are decoded to answer."""
    return state.decode_slots if needed else nullcontext()


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def _disposition(row: Attachment, *, inline: bool, suffix: str = "") -> str:
    name = row.filename + suffix
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _send(
    stream: BinaryIO, size: int | None, media_type: str, etag: str, disposition: str
) -> StreamingResponse:
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Content-Disposition": disposition,
        "Content-Security-Policy": FILE_POLICY,
    }
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(_chunks(stream), media_type=media_type, headers=headers)


def _unchanged(etag: str, if_none_match: str | None) -> Response | None:
    if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})
    return None


def _serve(
    state: AppState,
    etag: str,
    if_none_match: str | None,
    *,
    decode: bool,
    open_stream: Callable[[], tuple[BinaryIO, int | None]],
    content_type: str,
    disposition: str,
) -> Response:
    """304 when ``If-None-Match`` names ``etag``; else the bytes ``open_stream`` gives (of
    a known size, or None), opened in a decode slot when an old row must be decoded."""
    if (unchanged := _unchanged(etag, if_none_match)) is not None:
        return unchanged
    with _decoding(state, decode):
        stream, size = open_stream()
    return _send(stream, size, content_type, etag, disposition)


@router.get(
    "/{attachment_id}",
    response_class=StreamingResponse,
    responses={
        200: {"content": _FILE_TYPES, "description": "the file as stored"},
        304: {"description": "`If-None-Match` names the current ETag"},
        404: _NOT_FOUND,
    },
)
def get_file(
    attachment_id: RowId,
    session: SessionDep,
    actor: ActorDep,
    state: StateDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A photo (re-encoded at upload, without its metadata) or a PDF of evidence."""
    row = attachments.get_attachment(session, attachment_id, actor=actor)
    return _serve(
        state,
        f'"{row.file_key or row.sha256}"',
        if_none_match,
        decode=row.file_key is None,
        open_stream=lambda: attachments.open_file(
            session, row, files=state.files, limits=limits_of(state)
        ),
        content_type=row.content_type,
        disposition=_disposition(row, inline=row.content_type in media.IMAGE_FORMATS),
    )


@router.get(
    "/{attachment_id}/thumbnail",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "at most 320 px on each side"},
        304: {"description": "`If-None-Match` names the current ETag"},
        404: _NOT_FOUND,
    },
)
def get_thumbnail(
    attachment_id: RowId,
    session: SessionDep,
    actor: ActorDep,
    state: StateDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A small JPEG of a photo, made when it was uploaded, for lists."""
    row = attachments.get_attachment(session, attachment_id, actor=actor)
    return _serve(
        state,
        f'"t-{row.thumbnail_key or row.sha256}"',
        if_none_match,
        decode=row.thumbnail_key is None,
        open_stream=lambda: (
            attachments.open_thumbnail(session, row, files=state.files, limits=limits_of(state)),
            None,
        ),
        content_type="image/jpeg",
        disposition=_disposition(row, inline=True, suffix=".thumb.jpg"),
    )
