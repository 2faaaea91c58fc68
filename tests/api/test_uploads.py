"""Uploading photos and evidence: the limits per request, inspection and finding, the body
read as it streams, files refused by their content, and every refusal counted."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.requests import Request
from starlette.types import Message

from api.http.errors import ApiError
from api.http.uploads import UploadForm, receive_form
from api.state import AppState
from tests.api.conftest import CODE, World, error_of
from tests.conftest import Login
from tests.images import PNG, pdf, phone_jpeg, png, webp

SCRIPT = b"<script>alert(document.cookie)</script>"
RIFF_WAV = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + b"\x00" * 28


def _photos(client: TestClient, who: Login, inspection_id: int, *files: Any, **data: Any) -> Any:
    return client.post(
        f"/api/v1/inspections/{inspection_id}/photos",
        headers=who.headers,
        files=[("files", f) for f in files],
        data=data,
    )


def _fix(client: TestClient, who: Login, finding_id: int, *files: Any) -> Any:
    return client.post(
        f"/api/v1/findings/{finding_id}/fix",
        headers=who.headers,
        data={"note": "已整改"},
        files=[("files", f) for f in files],
    )


def _pngs(n: int, start: int = 0) -> list[tuple[str, bytes, str]]:
    return [(f"p{i}.png", png(seed=i), "image/png") for i in range(start, start + n)]


def refusals(state: AppState, reason: str) -> float:
    value = state.metrics.get_sample_value("shelterwatch_uploads_refused_total", {"reason": reason})
    return value or 0.0


def _stored_files(state: AppState) -> list[Path]:
    root = state.settings.resolved_files_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def inspection(world: World) -> dict[str, Any]:
    body: dict[str, Any] = world.api.inspect(world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING")
    return body


# ---------------------------------------------------------------- limits


def test_files_per_request(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    state.settings.upload_max_files_per_request = 3
    r = _photos(client, world.inspector, inspection["id"], *_pngs(4))
    assert error_of(r) == (413, "too_many_files")
    assert refusals(state, "too_many_files") == 1
    assert _photos(client, world.inspector, inspection["id"], *_pngs(3)).status_code == 201
    read = client.get(f"/api/v1/inspections/{inspection['id']}", headers=world.manager.headers)
    assert len(read.json()["photos"]) == 3


def test_files_per_inspection(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    state.settings.upload_max_files_per_inspection = 3
    first = _photos(client, world.inspector, inspection["id"], *_pngs(2))
    assert first.status_code == 201
    r = _photos(client, world.inspector, inspection["id"], *_pngs(2, start=2))
    assert error_of(r) == (422, "too_many_files")
    assert r.json()["error"]["details"] == {"limit": 3, "held": 2, "adding": 2}
    assert _photos(client, world.inspector, inspection["id"], *_pngs(1, start=2)).status_code == 201
    # Full: a retry of a photo already stored is still answered, and stores nothing.
    again = _photos(client, world.inspector, inspection["id"], *_pngs(1))
    assert again.status_code == 201
    assert again.json()[0]["id"] == first.json()[0]["id"]
    assert error_of(_photos(client, world.inspector, inspection["id"], *_pngs(1, 9))) == (
        422,
        "too_many_files",
    )


def test_photos_per_finding(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    state.settings.upload_max_files_per_finding = 2
    rust = str(inspection["findings"][0]["id"])
    assert (
        _photos(client, world.inspector, inspection["id"], *_pngs(2), finding_id=rust).status_code
        == 201
    )
    r = _photos(client, world.inspector, inspection["id"], *_pngs(1, 2), finding_id=rust)
    assert error_of(r) == (422, "too_many_files")
    # The inspection itself and its other findings have room still.
    assert _photos(client, world.inspector, inspection["id"], *_pngs(1, 2)).status_code == 201
    door = str(inspection["findings"][1]["id"])
    assert (
        _photos(
            client, world.inspector, inspection["id"], *_pngs(2, 3), finding_id=door
        ).status_code
        == 201
    )


def test_fix_evidence_per_finding(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    state.settings.upload_max_files_per_finding = 2
    door = inspection["findings"][1]["id"]
    r = _fix(client, world.manager, door, *_pngs(3))
    assert error_of(r) == (422, "too_many_files")
    assert _stored_files(state) == []  # refused before any file was decoded or stored
    assert _fix(client, world.manager, door, *_pngs(2)).status_code == 200


def test_a_large_file_is_refused(
    world: World,
    client: TestClient,
    state: AppState,
    inspection: dict[str, Any],
    small_uploads: int,
) -> None:
    r = _photos(
        client, world.inspector, inspection["id"], ("big.jpg", phone_jpeg(200, 200), "image/jpeg")
    )
    assert error_of(r) == (413, "file_too_large")
    assert refusals(state, "file_too_large") == 1


# ---------------------------------------------------------------- streaming


class _Body:
    """An ASGI ``receive`` that hands out a body in chunks and counts what was taken."""

    def __init__(self, body: bytes, chunk: int = 4096) -> None:
        self.chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
        self.taken = 0

    async def __call__(self) -> Message:
        self.taken += 1
        index = self.taken - 1
        more = index + 1 < len(self.chunks)
        data = self.chunks[index] if index < len(self.chunks) else b""
        return {"type": "http.request", "body": data, "more_body": more}


def _multipart(files: list[tuple[str, bytes]], boundary: str = "b0undary") -> bytes:
    out = io.BytesIO()
    for name, data in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def _receive(state: AppState, body: _Body, headers: dict[str, str]) -> UploadForm:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return anyio.run(receive_form, Request(scope, body), state)


MULTIPART = {"Content-Type": "multipart/form-data; boundary=b0undary"}


@pytest.fixture
def streamed(state: AppState) -> Iterator[AppState]:
    state.settings.upload_max_bytes = 16 * 1024
    state.settings.upload_max_files_per_request = 3
    yield state


def test_a_large_file_stops_the_read(streamed: AppState) -> None:
    body = _Body(_multipart([("big.png", b"\x89PNG" + b"\x00" * 1024 * 1024)]))
    with pytest.raises(ApiError) as caught:
        _receive(streamed, body, MULTIPART)
    assert (caught.value.status, caught.value.code) == (413, "file_too_large")
    assert body.taken <= 6 < len(body.chunks)  # 16 KiB read of a 1 MiB body


def test_too_many_files_stop_the_read(streamed: AppState) -> None:
    body = _Body(_multipart([(f"{i}.png", b"\x89PNG" + b"\x00" * 8000) for i in range(40)]))
    with pytest.raises(ApiError) as caught:
        _receive(streamed, body, MULTIPART)
    assert (caught.value.status, caught.value.code) == (413, "too_many_files")
    assert body.taken <= 8 < len(body.chunks)


def test_a_declared_length_past_the_limit_is_refused_unread(streamed: AppState) -> None:
    body = _Body(b"x" * 100)
    with pytest.raises(ApiError) as caught:
        _receive(streamed, body, {**MULTIPART, "Content-Length": str(10 * 1024 * 1024)})
    assert (caught.value.status, caught.value.code) == (413, "request_too_large")
    assert body.taken == 0
    assert refusals(streamed, "request_too_large") == 1


def test_a_streamed_file_is_spooled_and_hashed(streamed: AppState) -> None:
    form = _receive(streamed, _Body(_multipart([("a.png", PNG)])), MULTIPART)
    try:
        [upload] = form.uploads
        assert (upload.filename, upload.content_type, upload.size) == (
            "a.png",
            "image/png",
            len(PNG),
        )
        assert upload.file.read() == PNG
    finally:
        form.close()


def test_a_body_that_is_not_a_form(
    world: World, client: TestClient, inspection: dict[str, Any]
) -> None:
    r = client.post(
        f"/api/v1/inspections/{inspection['id']}/photos",
        headers={**world.inspector.headers, "Content-Type": "application/json"},
        content=b'{"files": []}',
    )
    assert error_of(r) == (422, "invalid_form")


# ---------------------------------------------------------------- content


@pytest.mark.parametrize(
    ("upload", "status", "code"),
    [
        pytest.param(("x.png", PNG + SCRIPT, "image/png"), 422, "trailing_data", id="png+script"),
        pytest.param(("x.webp", RIFF_WAV, "image/webp"), 422, "unsupported_file", id="riff-wav"),
        pytest.param(
            ("x.jpg", phone_jpeg() + SCRIPT, "image/jpeg"), 422, "trailing_data", id="jpeg+script"
        ),
    ],
)
def test_disguised_files_are_refused_and_counted(
    world: World,
    client: TestClient,
    state: AppState,
    inspection: dict[str, Any],
    upload: tuple[str, bytes, str],
    status: int,
    code: str,
) -> None:
    r = _photos(client, world.inspector, inspection["id"], ("ok.png", PNG, "image/png"), upload)
    assert error_of(r) == (status, code)
    assert refusals(state, code) == 1
    read = client.get(f"/api/v1/inspections/{inspection['id']}", headers=world.inspector.headers)
    assert read.json()["photos"] == []  # nothing of a refused request is recorded


def test_evidence_as_pdf(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    door = inspection["findings"][1]["id"]
    r = _fix(client, world.manager, door, ("report.pdf", pdf(), "application/pdf"))
    assert r.status_code == 200, r.text
    [evidence] = r.json()["attachments"]
    assert (evidence["content_type"], evidence["purpose"], evidence["thumbnail_url"]) == (
        "application/pdf",
        "fix",
        None,
    )
    broken = _fix(
        client,
        world.manager,
        inspection["findings"][0]["id"],
        ("x.pdf", pdf()[:-300], "application/pdf"),
    )
    assert error_of(broken) == (422, "unsupported_file")


def test_the_client_filename_is_only_shown(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    r = _photos(
        client,
        world.inspector,
        inspection["id"],
        ("../../../../etc/passwd.png", PNG, "image/png"),
        ("..\\..\\boot.ini\u202egnp.exe", webp(), "image/webp"),
    )
    assert r.status_code == 201, r.text
    assert [p["filename"] for p in r.json()] == ["passwd.png", "boot.inignp.exe"]
    var = state.settings.var_dir
    assert not (var.parent / "etc").exists() and not (var / "etc").exists()
    names = {p.name for p in _stored_files(state)}
    assert len(names) == 4  # two files, two thumbnails, each named by its SHA-256
    assert all(len(n) == 64 and set(n) <= set("0123456789abcdef") for n in names)
    served = client.get(r.json()[0]["url"], headers=world.manager.headers)
    assert served.headers["content-disposition"] == (
        "inline; filename=\"passwd.png\"; filename*=UTF-8''passwd.png"
    )


def test_photos_are_kept_outside_the_database(
    world: World, client: TestClient, state: AppState, inspection: dict[str, Any]
) -> None:
    r = _photos(client, world.inspector, inspection["id"], ("a.jpg", phone_jpeg(), "image/jpeg"))
    [photo] = r.json()
    [path] = [p for p in _stored_files(state) if p.stat().st_size == photo["size"]]
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert len(img.getexif()) == 0
